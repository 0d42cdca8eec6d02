// GitHub's rate-limit buckets ("resources"), and which one a request spends
// from, inferred from its method and path before it is sent
// (github-api-facts.md §3.2, go-github's GetRateLimitCategory).
#pragma once

#include <string_view>

namespace github_proxy::credentials {

enum class resource {
  core,
  search,
  code_search,
  graphql,
  integration_manifest,
  source_import,
  code_scanning_upload,
  scim,
  dependency_snapshots,
  dependency_sbom,
  audit_log,
};
inline constexpr std::size_t resource_count = 11;

std::string_view to_string(resource r);
// Parses the value of X-RateLimit-Resource; false when unknown.
bool parse_resource(std::string_view name, resource& out);

// `path` is the GitHub path without the /api/v3 prefix and without query.
resource infer_resource(std::string_view method, std::string_view path);

}  // namespace github_proxy::credentials
