// The client's view of GitHub's URLs (docs/contract.md §5 "Rewriting"): to a
// client the proxy is a GitHub Enterprise Server, so every URL GitHub writes
// on its own API origin — in `Link`, in `Location`, inside JSON bodies — is
// given back on the proxy's public base, in the layout the client used
// (`/api/v3` or not). The cache keeps GitHub's bytes; all of this happens
// on the way out, so one stored body serves every public name.
//
// Pure functions and values: no I/O, tested in tests/unit/proxy/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/fields.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/static_string/static_string.hpp>

#include "common/http_fields.h"
#include "common/trusted_proxies.h"

namespace github_proxy::proxy {

using common::trusted_proxies;

// ---- where the client reached the proxy ----------------------------------

// A public base or prefix ("https://proxy.example/api/v3"): bounded, so
// building one per request allocates nothing.
using url_prefix = boost::static_string<640>;

// What decides the public base when `listen.public_url` is not set.
struct base_inputs {
  bool tls = false;                  // the listener the request came in on
  std::string_view local_authority;  // "10.0.0.5:8080" of that listener; empty for Unix sockets
  bool peer_trusted = false;         // the peer is one of `trusted_proxies`
};

// scheme://authority, without a trailing slash: `configured` when set; else
// the last element of `Forwarded` (proto=, host=) or else the last values of
// `X-Forwarded-Proto` / `X-Forwarded-Host`, when the peer is trusted; else
// the request's `Host` and the listener's scheme; else the listener's own
// address (an HTTP/1.0 request without Host); else "http://localhost" (a
// Unix socket without Host). Values that could not be part of a URL
// (characters outside a host and port) are skipped, never copied into one.
url_prefix public_base(std::string_view configured, const boost::beast::http::fields& request,
                       const base_inputs& in);

// ---- JSON bodies ------------------------------------------------------------

// The origins GitHub writes absolute URLs on: the REST API's prefix
// ("https://api.github.com", or "https://ghes.example/api/v3" upstream of a
// GHES) and the uploads origin ("https://uploads.github.com", or
// "https://ghes.example/api/uploads"; empty when unknown).
struct api_origins {
  std::string rest;
  std::string uploads;
};
// From upstream.url's prefix (`rest_url_prefix`).
api_origins origins_of(std::string_view rest_url_prefix);

// One URL to rewrite: `at` is the offset of the origin (just after the
// opening quote of a JSON string), `uploads` says which origin it is.
struct url_cut {
  std::uint32_t at = 0;
  bool uploads = false;
};
using url_cuts = boost::container::small_vector<url_cut, 48>;

// Only JSON bodies (common::is_json_media_type) are rewritten: raw file
// contents, diffs and HTML are a client's data, not GitHub's hypermedia.
using common::is_json_media_type;

// Where GitHub's own URLs start in a JSON text: an origin of `origins` that
// opens a JSON string (right after '"'), is followed by '/', '?', '#', '{'
// or the closing '"', and whose string is one URL and nothing else (no
// space, control character or escape before the closing quote, at most
// `longest_url` bytes). So GitHub's hypermedia (`url`, `issues_url`,
// `_links.self`, `href`) is rewritten, while user text ("body", "title")
// that starts with an API URL and goes on, an origin in the middle of a
// string and a longer host ("https://api.github.com.evil") are left alone.
// Only cuts at or after `from` are reported (the byte before it is read for
// the opening quote). Appends to `out` in order; false when the body is too
// large for 32-bit offsets (nothing is rewritten then).
inline constexpr std::size_t longest_url = 8 * 1024;
bool find_api_urls(std::string_view json, const api_origins& origins, url_cuts& out, std::size_t from = 0);

// The replacement of each origin for one client.
struct url_replacements {
  std::string_view rest;     // public base + the client's layout ("/api/v3" or "")
  std::string_view uploads;  // public base + "/api/uploads"
};

// The size of `json` with its cuts replaced.
std::size_t rewritten_size(std::size_t size, const url_cuts& cuts, const api_origins& origins,
                           const url_replacements& to);

// Calls `piece` with the consecutive pieces of the rewritten text (views
// into `json` and into `to`), in order: the caller gathers them into one
// write without copying the body.
template <class Sink>
void for_each_piece(std::string_view json, const url_cuts& cuts, const api_origins& origins,
                    const url_replacements& to, Sink&& piece) {
  std::size_t pos = 0;
  for (const auto& cut : cuts) {
    if (cut.at > pos) piece(json.substr(pos, cut.at - pos));
    piece(cut.uploads ? to.uploads : to.rest);
    pos = cut.at + (cut.uploads ? origins.uploads.size() : origins.rest.size());
  }
  if (pos < json.size()) piece(json.substr(pos));
}

// The same, as one string (answers the proxy holds anyway).
std::string rewrite_api_urls(std::string_view json, const api_origins& origins, const url_replacements& to);
// In place; false (and `json` untouched, not copied) when it holds none.
bool rewrite_api_urls_in_place(std::string& json, const api_origins& origins, const url_replacements& to);

// Rewrites a JSON body that arrives in pieces (a relayed stream, an
// inflating gzip body): each `feed` appends to `out` what can be decided,
// holding back at most the bytes that could still begin a URL; `finish`
// appends the rest. The held-back bytes are bounded by the origins' length.
class streaming_url_rewriter {
 public:
  // `origins`, and the strings `to` views, must outlive the rewriter.
  streaming_url_rewriter(const api_origins& origins, url_replacements to);

  void feed(std::string_view piece, std::string& out);
  void finish(std::string& out);
  // Whether any URL was rewritten so far.
  bool rewrote() const { return rewrote_; }

 private:
  void emit(std::string_view text, bool final, std::string& out);

  const api_origins& origins_;
  url_replacements to_;
  std::size_t hold_;     // bytes that cannot be decided before more come
  static constexpr std::size_t look_behind = 16;  // the quote that opens a URL
  std::string pending_;  // at most hold_ bytes between calls (a URL's worth)
  std::string behind_;   // the last look_behind bytes sent
  bool rewrote_ = false;
};

// ---- Link and Location ------------------------------------------------------

// Rewrites a `Link` value (RFC 8288) for the client: each URL on the REST
// origin is given on `public_prefix`, and a page of the resource the client
// named comes back in that name form — GitHub links the pages of
// /repos/{o}/{r}/issues as /repositories/{id}/issues, which a client scoped
// to /repos/{o}/{r}/… could not follow (docs/github-api.md §6). Link-values
// whose URL is elsewhere are dropped. Empty when nothing is left.
std::string rewrite_link(std::string_view link, std::string_view rest_origin, std::string_view public_prefix,
                         std::string_view request_path);

// `Location` on the REST origin, given on `public_prefix`. A Location
// elsewhere (codeload.github.com, objects.githubusercontent.com: downloads
// that carry their own short-lived token) is returned unchanged.
std::string rewrite_location(std::string_view location, std::string_view rest_origin,
                             std::string_view public_prefix);

// `link_path` (a path GitHub linked) in the name form of `request_path`
// when both name the same resource: "/repositories/42/issues" for a
// request of "/repos/o/r/issues" is "/repos/o/r/issues". The same for
// /organizations/{id} ↔ /orgs/{org} and /user/{id} ↔ /users/{user}.
// nullopt when they do not match.
std::optional<std::string_view> name_form(std::string_view link_path, std::string_view request_path);

}  // namespace github_proxy::proxy
