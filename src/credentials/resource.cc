#include "github_proxy/credentials/resource.h"

#include <array>

namespace github_proxy::credentials {

namespace {

constexpr std::array<std::string_view, resource_count> names = {
    "core", "search", "code_search", "graphql", "integration_manifest", "source_import",
    "code_scanning_upload", "scim", "dependency_snapshots", "dependency_sbom", "audit_log",
    "actions_runner_registration"};

struct window_guess {
  std::int64_t limit;
  std::chrono::seconds window;
};
constexpr std::chrono::seconds minute{60};
constexpr std::chrono::seconds hour{3600};
// Same order as the enum; values from the /rate_limit body (docs/github-api.md §3.2).
constexpr std::array<window_guess, resource_count> guesses = {{
    {5000, hour},    // core
    {30, minute},    // search
    {10, minute},    // code_search (9 in newer docs; the header corrects it)
    {5000, hour},    // graphql
    {5000, hour},    // integration_manifest
    {100, minute},   // source_import
    {1000, hour},    // code_scanning_upload
    {15000, hour},   // scim
    {100, minute},   // dependency_snapshots
    {100, hour},     // dependency_sbom
    {1750, hour},    // audit_log
    {10000, hour},   // actions_runner_registration
}};

bool segment_prefix(std::string_view path, std::string_view prefix) {
  return path.starts_with(prefix) &&
         (path.size() == prefix.size() || path[prefix.size()] == '/');
}

}  // namespace

std::string_view to_string(resource r) { return names[static_cast<std::size_t>(r)]; }

std::int64_t default_limit(resource r) { return guesses[static_cast<std::size_t>(r)].limit; }

std::chrono::seconds default_window(resource r) { return guesses[static_cast<std::size_t>(r)].window; }

bool parse_resource(std::string_view name, resource& out) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) {
      out = static_cast<resource>(i);
      return true;
    }
  }
  return false;
}

resource infer_resource(std::string_view method, std::string_view path) {
  // Order follows go-github's GetRateLimitCategory.
  if (method == "GET" && segment_prefix(path, "/search/code")) return resource::code_search;
  if (segment_prefix(path, "/search")) return resource::search;
  if (segment_prefix(path, "/graphql")) return resource::graphql;
  if (method == "POST" && path.starts_with("/app-manifests/") && path.ends_with("/conversions")) {
    return resource::integration_manifest;
  }
  if (method == "PUT" && path.starts_with("/repos/") && path.ends_with("/import")) {
    return resource::source_import;
  }
  if (path.ends_with("/code-scanning/sarifs")) return resource::code_scanning_upload;
  if (segment_prefix(path, "/scim")) return resource::scim;
  if (method == "POST" && path.ends_with("/dependency-graph/snapshots")) {
    return resource::dependency_snapshots;
  }
  if (path.ends_with("/audit-log")) return resource::audit_log;
  if (path.ends_with("/dependency-graph/sbom")) return resource::dependency_sbom;
  return resource::core;
}

}  // namespace github_proxy::credentials
