// What the proxy changes in messages on their way through (docs/contract.md §5
// "Forwarding", "Rewriting", "Errors"): the request fields sent upstream,
// the hop-by-hop fields of answers, Link and Location URLs, error bodies and
// the target as logged. No I/O here: every function is tested without
// sockets in tests/unit/proxy/.
#pragma once

#include <string>
#include <string_view>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/status.hpp>

namespace github_proxy::proxy {

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
