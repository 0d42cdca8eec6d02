// The client's request fields made to mean the same to the proxy as to
// GitHub (issue "Isolation", item 5): the cache key is built from Accept and
// X-GitHub-Api-Version, so what the key says must be what is sent upstream.
// A client could otherwise store one representation under another's key for
// every other client (cross-client cache poisoning). Pure; tested in
// tests/unit/proxy/request_fields_test.cc.
#pragma once

#include <string_view>

#include "github_proxy/common/http.h"

namespace github_proxy::proxy {

// Empty when the request may go on (after the changes below); otherwise
// why it is refused, for a 400.
//  - Repeated Accept lines are merged into one, comma-separated (RFC 9110
//    §5.3: a list-based field may be combined), so that the key and GitHub
//    see the same value.
//  - Repeated X-GitHub-Api-Version lines are refused: it holds one value.
//  - A Connection field naming Accept, Accept-Encoding or
//    X-GitHub-Api-Version is refused: as hop-by-hop fields they would be
//    removed on the way upstream while the key still holds them.
//  - A Connection field with more than common::connection_options::max_options
//    distinct options is refused.
//  - Method overrides are removed (X-HTTP-Method-Override, X-HTTP-Method,
//    X-Method-Override) or refused (a `_method` parameter in the query or
//    a form-encoded body): the scope was checked for the request's own
//    method.
std::string_view normalise_request_fields(request& req);

}  // namespace github_proxy::proxy
