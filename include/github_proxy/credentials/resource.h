// GitHub's rate-limit buckets ("resources"), and which one a request spends
// from, inferred from its method and path before it is sent
// (docs/github-api.md §3.2, go-github's GetRateLimitCategory).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
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
  // Named only by X-RateLimit-Resource (POST …/actions/runners/registration-token);
  // go-github infers nothing for it, and neither do we.
  actions_runner_registration,
};
inline constexpr std::size_t resource_count = 12;

std::string_view to_string(resource r);
// Parses the value of X-RateLimit-Resource; false when unknown.
bool parse_resource(std::string_view name, resource& out);

// What a fresh window of an authenticated credential holds, assumed for a
// bucket no response has reported on yet (docs/github-api.md §3.1, §3.2,
// the /rate_limit body): core and graphql 5000/h, search 30/min,
// code_search 10/min, … A guess only: the first response's headers replace it.
std::int64_t default_limit(resource r);
// The length of that window: one minute for search, code_search,
// source_import and dependency_snapshots, one hour for the others.
std::chrono::seconds default_window(resource r);

// `path` is the GitHub path without the /api/v3 prefix and without query.
resource infer_resource(std::string_view method, std::string_view path);

}  // namespace github_proxy::credentials
