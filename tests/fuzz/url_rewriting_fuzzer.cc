// Link / Location and body-URL rewriting (proxy/public_urls.h,
// proxy/rewriting.h). Input: request path \n Host \n X-Forwarded-Host \n
// Forwarded \n Link \n Location \n JSON body. The public base is worked out
// as respond.cc does; the body is rewritten whole, in place, as gathered
// pieces and through the streaming rewriter fed in uneven pieces, and all
// must agree.
#include <cstdlib>
#include <string>

#include <boost/beast/http/fields.hpp>

#include "fuzz_input.h"
#include "proxy/public_urls.h"
#include "proxy/rewriting.h"
#include "proxy/routing.h"

namespace {

using namespace github_proxy;
using namespace github_proxy::proxy;
namespace http = boost::beast::http;

// What the request parser would let through as a field value.
bool parsable_value(std::string_view value) {
  for (const unsigned char c : value) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

void set_if_parsable(http::fields& fields, std::string_view name, std::string_view value) {
  if (!value.empty() && parsable_value(value)) fields.set(name, value);
}

void check_body(std::string_view body, const api_origins& origins, const url_replacements& to) {
  const std::string whole = rewrite_api_urls(body, origins, to);

  url_cuts cuts;
  if (find_api_urls(body, origins, cuts)) {
    if (rewritten_size(body.size(), cuts, origins, to) != whole.size()) std::abort();
    std::string gathered;
    for_each_piece(body, cuts, origins, to, [&](std::string_view piece) { gathered.append(piece); });
    if (gathered != whole) std::abort();
  }

  std::string in_place(body);
  const bool changed = rewrite_api_urls_in_place(in_place, origins, to);
  if (in_place != (changed ? whole : std::string(body))) std::abort();

  // As an inflating gzip body or a relayed stream arrives: pieces of 1, 7,
  // 64 and 4096 bytes in turn.
  streaming_url_rewriter streaming(origins, to);
  std::string streamed;
  constexpr std::size_t sizes[] = {1, 7, 64, 4096};
  for (std::size_t pos = 0, i = 0; pos < body.size(); ++i) {
    const auto piece = body.substr(pos, sizes[i % 4]);
    streaming.feed(piece, streamed);
    pos += piece.size();
  }
  streaming.finish(streamed);
  if (streamed != whole) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [target, host, forwarded_host, forwarded, link, location, body] =
      fuzz::split_lines<7>(fuzz::as_text(data, size));

  http::fields request;
  set_if_parsable(request, "Host", host);
  set_if_parsable(request, "X-Forwarded-Host", forwarded_host);
  set_if_parsable(request, "X-Forwarded-Proto", forwarded_host.empty() ? "" : "https");
  set_if_parsable(request, "Forwarded", forwarded);

  routed_path route;
  if (!route_target(target, route)) route.path_and_query = target;
  const auto request_path = route.path_and_query.substr(0, route.path_and_query.find('?'));
  (void)loggable_target(target);

  for (const bool trusted : {false, true}) {
    auto rest = public_base("", request, base_inputs{trusted, "10.0.0.5:8080", trusted});
    auto uploads = rest;
    const std::string_view layout = route.graphql && route.client_prefix == "/api" ? "/api/v3" : route.client_prefix;
    rest.append(layout.begin(), layout.end());
    uploads.append("/api/uploads");
    const url_replacements to{{rest.data(), rest.size()}, {uploads.data(), uploads.size()}};

    for (const auto* upstream : {"https://api.github.com", "https://ghe.corp/api/v3"}) {
      const auto origins = origins_of(upstream);
      (void)rewrite_link(link, origins.rest, to.rest, request_path);
      (void)rewrite_location(location, origins.rest, to.rest);
      (void)name_form(link, request_path);
      if (trusted) check_body(body, origins, to);  // the base does not matter to the body's logic
    }
  }

  http::fields response;
  set_if_parsable(response, "Connection", forwarded_host);
  set_if_parsable(response, "Link", link);
  set_if_parsable(response, "Location", location);
  set_if_parsable(response, "Keep-Alive", "timeout=5");
  strip_response_hop_by_hop(response);
  http::fields upstream;
  copy_request_fields(request, upstream);
  return 0;
}
