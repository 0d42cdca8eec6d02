#include "auth/path_normalizer.h"

#include <gtest/gtest.h>

#include "github_proxy/auth/registry.h"

namespace github_proxy::auth {
namespace {

TEST(PathNormalize, DecodesAndStrips) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"/repos/a/x", "/repos/a/x"},
      {"/repos/a/x?per_page=100&q=../../b", "/repos/a/x"},
      {"/api/v3/repos/a/x", "/repos/a/x"},
      {"/api/v3", "/"},
      {"/api/v3/", "/"},
      {"/api/v3x/repos", "/api/v3x/repos"},
      {"/api/graphql", "/graphql"},
      {"/api/graphql?x=1", "/graphql"},
      {"/graphql/", "/graphql"},
      {"/repos/a/feature%2Fx", "/repos/a/feature/x"},
      {"/repos/%61/x", "/repos/a/x"},
      {"/repos/a/x/", "/repos/a/x"},
      {"/", "/"},
      {"/repos/a/100%25", "/repos/a/100%"},  // a literal percent sign
      {"/repos/a/%C3%A9t%C3%A9", "/repos/a/\xC3\xA9t\xC3\xA9"},
      {"/repos/a/.github", "/repos/a/.github"},  // a dot, not a dot segment
      {"/repos/a/x...y", "/repos/a/x...y"},
  };
  for (const auto& [target, expected] : cases) {
    const auto result = normalize_path(target);
    EXPECT_TRUE(result.ok) << target << ": " << result.reason;
    EXPECT_EQ(result.path, expected) << target;
  }
}

TEST(PathNormalize, RejectsWhatCannotBeNormalisedSafely) {
  const std::string_view cases[] = {
      "",
      "repos/a/x",  // not origin-form
      "*",
      "http://github.example/repos/a/x",
      "/..",
      "/repos/../../x",  // above the root
      "/repos/a/%2e%2e/%2e%2e/%2e%2e/b",
      "/repos/a/%252e%252e/b",  // double-encoded dots
      "/repos/a/%25252e%25252e/b",
      "/repos/a%252F..%252Fb/x",  // double-encoded slash
      "/repos/a/..;/b",           // dot segment with parameters
      "/repos/a/.;x/b",
      "/repos/a\\..\\b",  // raw backslash
      "/repos/a/%5c../b",
      "/repos/a/%5C",
      "/repos/a/x%00",
      "/repos/a/x%0a",
      "/repos/a/x%7f",
      "/repos/a/%zz",
      "/repos/a/%2",
      "/repos/a/x#fragment",
      "/repos/a/x y",
      // Dot segments in any form: GitHub would be sent the unresolved bytes.
      "/repos/a/./x",
      "/repos/a/b/../x",
      "/repos/a/%2e/x",
      "/repos/a/%2E%2e/b",
      "/repos/a%2F..%2Fb/x",  // %2F next to dots
      "/repos/a/x/.",
      "/api/v3/../v3/repos/a/x",
      "/api/v3/../repos/b/x",
      "/api/v3/../graphql",
      // Empty segments.
      "//",
      "/repos//a///x",
      "//graphql",
      // GraphQL spelled any other way than /graphql.
      "/GraphQL",
      "/graphql.json",
      "/graphql/x",
      "/api/graphql.json",
      "/graphql;v=1",
  };
  for (const auto target : cases) {
    const auto result = normalize_path(target);
    EXPECT_FALSE(result.ok) << target << " → " << result.path;
    EXPECT_FALSE(result.reason.empty()) << target;
  }
}

TEST(PathNormalize, GraphqlRequestDetection) {
  EXPECT_TRUE(is_graphql_request("/graphql"));
  EXPECT_TRUE(is_graphql_request("/api/graphql"));
  EXPECT_TRUE(is_graphql_request("/graphql/?x"));
  EXPECT_FALSE(is_graphql_request("//graphql"));  // refused: an empty segment
  EXPECT_TRUE(is_graphql_request("/%67raphql"));
  EXPECT_FALSE(is_graphql_request("/graphqlx"));
  EXPECT_FALSE(is_graphql_request("/repos/a/graphql"));
  EXPECT_FALSE(is_graphql_request("/api/v3/graphql/.."));
}

TEST(PathNormalize, ScopesSeeOwnerAndRepositoryWithoutCase) {
  EXPECT_EQ(scope_path("/repos/Babylon/App/contents/README.md"), "/repos/babylon/app/contents/README.md");
  EXPECT_EQ(scope_path("/repos/Babylon"), "/repos/babylon");
  EXPECT_EQ(scope_path("/orgs/Babylon/repos"), "/orgs/babylon/repos");
  EXPECT_EQ(scope_path("/users/OctoCat"), "/users/octocat");
  EXPECT_EQ(scope_path("/gists/ABC"), "/gists/ABC");
  EXPECT_EQ(scope_path("/"), "/");
}

// The table of docs/contract.md §4: against a scope `GET /repos/a/.*`, these spellings
// must and must not get through.
constexpr std::string_view registry_yaml = R"(version: 1
clients:
  - name: reader
    token: reader-token
    scopes:
      - method: GET
        path: /repos/a/.*
)";

class PathScope : public testing::TestWithParam<std::pair<std::string_view, verdict_kind>> {};

TEST_P(PathScope, Table) {
  static const auto loaded = load_registry_from_string(std::string(registry_yaml), "registry.yaml");
  ASSERT_TRUE(loaded.snapshot);
  const auto& [target, expected] = GetParam();
  const auto result = authorize(loaded.snapshot, {"GET", target, "token reader-token", ""},
                                std::chrono::system_clock::now());
  EXPECT_EQ(static_cast<int>(result.kind), static_cast<int>(expected))
      << target << " → " << result.path << " (" << result.message << ")";
}

constexpr auto allowed = verdict_kind::allowed;
constexpr auto forbidden = verdict_kind::forbidden;
constexpr auto bad_request = verdict_kind::bad_request;

INSTANTIATE_TEST_SUITE_P(
    Path, PathScope,
    testing::Values(
        // Must match.
        std::pair{"/repos/a/x", allowed}, std::pair{"/api/v3/repos/a/x", allowed},
        std::pair{"/repos/a/x/", allowed}, std::pair{"/repos/a/x?per_page=1&path=../../b", allowed},
        std::pair{"/api/v3/repos/a/x?y=1", allowed}, std::pair{"/repos/%61/x", allowed},
        std::pair{"/repos/a/feature%2Fx", allowed},
        // Must not match.
        std::pair{"/repos/a", forbidden}, std::pair{"/repos/a/", forbidden},
        std::pair{"/repos/ab/x", forbidden}, std::pair{"/api/v3/repos/b/x", forbidden},
        std::pair{"/xrepos/a/x", forbidden},
        std::pair{"/REPOS/a/x", forbidden}, std::pair{"/repos/b/x?/repos/a/x", forbidden},
        std::pair{"/api/v4/repos/a/x", forbidden},
        // Not normalisable: refused before any scope is consulted. Dot and
        // empty segments once resolved here were sent to GitHub unresolved.
        std::pair{"/repos/a/./x", bad_request}, std::pair{"/repos//a/x", bad_request},
        std::pair{"/repos/a//x", bad_request}, std::pair{"/repos/a/b/../x", bad_request},
        std::pair{"/repos/b/../a/x", bad_request}, std::pair{"/repos/a/%2e/x", bad_request},
        std::pair{"/api/v3/../v3/repos/a/x", bad_request}, std::pair{"/repos/a/../b", bad_request},
        std::pair{"/repos/a/%2e%2e/b", bad_request}, std::pair{"/repos/a/%2E%2e/b", bad_request},
        std::pair{"/repos/a/.%2e/b", bad_request}, std::pair{"/repos/a%2F..%2Fb/x", bad_request},
        std::pair{"/repos/a/x/../../b/y", bad_request}, std::pair{"/api/v3/../repos/b/x", bad_request},
        std::pair{"/repos/a/../../../b", bad_request},
        std::pair{"/repos/a/%252e%252e/b", bad_request}, std::pair{"/repos/a/..;/b", bad_request},
        std::pair{"/repos/a/x%00", bad_request}, std::pair{"/repos/a/%5c..%5cb", bad_request},
        std::pair{"/repos/a\\..\\b", bad_request}, std::pair{"/repos/a/%zz", bad_request}));

}  // namespace
}  // namespace github_proxy::auth
