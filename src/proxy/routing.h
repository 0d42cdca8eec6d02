// Where a client's request target goes (docs/contract.md §5 "Paths"): the
// layout prefix the client used, the GitHub path behind it, and the
// upstream target. Pure functions, tested in tests/unit/proxy/.
#pragma once

#include <string>
#include <string_view>

namespace github_proxy::proxy {

// How the client addressed the API, and where the request goes upstream.
struct routed_path {
  std::string_view client_prefix;  // "/api/v3" (GHES layout) or "" (api.github.com layout)
  std::string_view path_and_query; // the target without the client prefix, byte for byte
  bool graphql = false;            // /graphql or /api/graphql
  bool uploads = false;            // /api/uploads/…: GHES's uploads layout, not relayed
};

// Splits a request target into its layout prefix and the GitHub path.
// `/api/v3/repos/x` → {"/api/v3", "/repos/x"}; `/api/graphql` → graphql.
// Returns false for a target that is not origin-form (`/…`).
bool route_target(std::string_view target, routed_path& out);

// base_path + path_and_query, with "/" for the API root ("/api/v3" alone).
std::string upstream_target(std::string_view base_path, std::string_view path_and_query);

// The GraphQL endpoint's path + the query of `/graphql?…` (GraphQL URLs
// have no sub-paths: `/graphql/x` keeps its suffix and gets GitHub's 404).
std::string graphql_upstream_target(std::string_view graphql_base_path,
                                    std::string_view path_and_query);

// The path part of a target (before '?').
std::string_view path_of(std::string_view target);

}  // namespace github_proxy::proxy
