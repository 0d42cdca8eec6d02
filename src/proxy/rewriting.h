// What the proxy changes in messages on their way through (docs/contract.md §5
// "Forwarding", "Rewriting", "Errors"): the request fields sent upstream,
// the hop-by-hop fields of answers, error bodies and the target as logged
// (URLs: proxy/public_urls.h). No I/O here: every function is tested without
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

// GitHub-shaped error body: {"message":…,"documentation_url":…,"status":"NNN"}.
std::string error_body(boost::beast::http::status status, std::string_view message,
                       std::string_view documentation_url = "https://docs.github.com/rest");

// The path for logs: query parameter values removed (`?page=&per_page=`).
std::string loggable_target(std::string_view target);

}  // namespace github_proxy::proxy
