// Pure decisions of the forwarding step (SPEC §5 "Paths", "Forwarding",
// "Rewriting", "Errors"). No I/O here: every function is tested without
// sockets in tests/unit/proxy/.
#pragma once

#include <string>
#include <string_view>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/status.hpp>

namespace github_proxy::proxy {

// How the client addressed the API, and where the request goes upstream.
struct routed_path {
  std::string_view client_prefix;  // "/api/v3" (GHES layout) or "" (api.github.com layout)
  std::string_view path_and_query; // the target without the client prefix, byte for byte
  bool graphql = false;            // /graphql or /api/graphql
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

// True for hop-by-hop fields (RFC 9110 §7.6.1) and the ones the proxy owns.
bool is_hop_by_hop(std::string_view name);

// Copies the end-to-end request fields of `in` into `out`, without hop-by-hop
// fields (including those named in `Connection`), Host, Authorization,
// User-Agent, Expect, Content-Length, and the proxy's own validators.
void copy_request_fields(const boost::beast::http::fields& in, boost::beast::http::fields& out);

// Removes hop-by-hop fields (and those named in `Connection`) from a response.
void strip_response_hop_by_hop(boost::beast::http::fields& fields);

// Rewrites every URL in a `Link` value that starts with `upstream_prefix`
// (e.g. "https://api.github.com") to `public_prefix` (e.g.
// "http://proxy:8080/api/v3"). URLs elsewhere are left as they are.
std::string rewrite_link(std::string_view link, std::string_view upstream_prefix,
                         std::string_view public_prefix);

// Rewrites a same-origin `Location`; returns it unchanged otherwise.
std::string rewrite_location(std::string_view location, std::string_view upstream_prefix,
                             std::string_view public_prefix);

// The public base URL clients should use: `configured` when set, else
// scheme://Host of the request. Empty when neither gives a usable value.
std::string public_base(std::string_view configured, bool tls, std::string_view host_header);

// GitHub-shaped error body: {"message":…,"documentation_url":…,"status":"NNN"}.
std::string error_body(boost::beast::http::status status, std::string_view message);

// The path for logs: query parameter values removed (`?page=&per_page=`).
std::string loggable_target(std::string_view target);

}  // namespace github_proxy::proxy
