#include "github_proxy/credentials/resource.h"

#include <gtest/gtest.h>

namespace github_proxy::credentials {
namespace {

TEST(CredentialResource, InfersGoGithubCategories) {
  struct row {
    std::string_view method, path;
    resource expected;
  };
  const row rows[] = {
      {"GET", "/repos/o/r", resource::core},
      {"GET", "/", resource::core},
      {"GET", "/rate_limit", resource::core},
      {"GET", "/search/code", resource::code_search},
      {"GET", "/search/code/x", resource::code_search},
      {"POST", "/search/code", resource::search},  // code_search is GET only
      {"GET", "/search/issues", resource::search},
      {"GET", "/search/commits", resource::search},
      {"GET", "/search", resource::search},
      {"GET", "/searchx", resource::core},  // a segment boundary is needed
      {"GET", "/search/codex", resource::search},
      {"POST", "/graphql", resource::graphql},
      {"GET", "/graphql", resource::graphql},  // introspection
      {"POST", "/graphqlx", resource::core},
      {"POST", "/app-manifests/abc/conversions", resource::integration_manifest},
      {"GET", "/app-manifests/abc/conversions", resource::core},
      {"PUT", "/repos/o/r/import", resource::source_import},
      {"GET", "/repos/o/r/import", resource::core},
      {"POST", "/repos/o/r/code-scanning/sarifs", resource::code_scanning_upload},
      {"GET", "/scim/v2/organizations/o/Users", resource::scim},
      {"POST", "/repos/o/r/dependency-graph/snapshots", resource::dependency_snapshots},
      {"GET", "/repos/o/r/dependency-graph/snapshots", resource::core},
      {"GET", "/orgs/o/audit-log", resource::audit_log},
      {"GET", "/enterprises/e/audit-log", resource::audit_log},
      {"GET", "/repos/o/r/dependency-graph/sbom", resource::dependency_sbom},
      {"POST", "/repos/o/r/actions/runners/registration-token", resource::core},  // header-only bucket
  };
  for (const auto& r : rows) {
    EXPECT_EQ(infer_resource(r.method, r.path), r.expected) << r.method << " " << r.path;
  }
}

TEST(CredentialResource, NamesRoundTrip) {
  for (std::size_t i = 0; i < resource_count; ++i) {
    const auto r = static_cast<resource>(i);
    resource parsed{};
    ASSERT_TRUE(parse_resource(to_string(r), parsed)) << to_string(r);
    EXPECT_EQ(parsed, r);
    EXPECT_GT(default_limit(r), 0) << to_string(r);
    EXPECT_GT(default_window(r).count(), 0) << to_string(r);
  }
  resource parsed = resource::core;
  EXPECT_FALSE(parse_resource("Core", parsed));  // GitHub sends lower case
  EXPECT_FALSE(parse_resource("", parsed));
  EXPECT_FALSE(parse_resource("code_scanning_autofix", parsed));
  EXPECT_TRUE(parse_resource("actions_runner_registration", parsed));
  EXPECT_EQ(parsed, resource::actions_runner_registration);
}

TEST(CredentialResource, DefaultWindowsMatchTheRateLimitBody) {
  EXPECT_EQ(default_limit(resource::core), 5000);
  EXPECT_EQ(default_window(resource::core), std::chrono::hours(1));
  EXPECT_EQ(default_limit(resource::search), 30);
  EXPECT_EQ(default_window(resource::search), std::chrono::minutes(1));
  EXPECT_EQ(default_limit(resource::graphql), 5000);
  EXPECT_EQ(default_limit(resource::source_import), 100);
  EXPECT_EQ(default_limit(resource::code_scanning_upload), 1000);
}

}  // namespace
}  // namespace github_proxy::credentials
