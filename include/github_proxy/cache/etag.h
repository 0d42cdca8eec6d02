// GitHub's per-credential ETags and entity-tag comparison. Pure functions.
//
// GitHub's algorithm (docs/github-api.md §8, reverse-engineered, matched by
// tests/fake_github/conditional.cc): ETag = hex SHA-256 over, for each of
// Accept, Authorization and Cookie that the request carried AND the response's
// Vary lists (all Vary lines merged), the header value followed by ':', then
// the uncompressed, compact response body. A header sent with an empty value
// counts as absent.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/fields.hpp>

namespace github_proxy::cache {

// The ETag inputs a response's Vary lists. `Vary: *` lists everything.
struct vary_inputs {
  bool accept = false;
  bool authorization = false;
  bool cookie = false;
  bool any = false;  // "*"
  // A name other than those GitHub sends (Accept, Accept-Encoding,
  // Authorization, Cookie, X-GitHub-OTP, X-Requested-With) and
  // X-GitHub-Api-Version: the cache key would not cover it.
  bool other = false;

  bool operator==(const vary_inputs&) const = default;
};

// One comma-separated list, names case-insensitive (RFC 9110 §12.5.5).
vary_inputs parse_vary(std::string_view vary_list);
// Every `Vary` line of a response, merged.
vary_inputs parse_vary(const boost::beast::http::fields& response);

// "\"<64 lowercase hex>\"" (the strong form GitHub sends on identity bodies
// and on 304s). `vary_list` is the merged Vary of the response the ETag is
// for; the header values are exactly the bytes sent upstream (empty: absent).
std::string derive_etag(std::string_view accept, std::string_view authorization, std::string_view cookie,
                        std::string_view vary_list, std::string_view uncompressed_body);

// The same for a body produced piece by piece (a stored gzip body inflated
// as it is hashed, never held whole): `produce` hands every piece, in
// order, to the sink it is given, and returns false when it could not
// (then nullopt).
using body_sink = std::function<void(std::string_view)>;
std::optional<std::string> derive_etag(std::string_view accept, std::string_view authorization,
                                       std::string_view cookie, const vary_inputs& vary,
                                       const std::function<bool(const body_sink&)>& produce);
std::string derive_etag(std::string_view accept, std::string_view authorization, std::string_view cookie,
                        const vary_inputs& vary, std::string_view uncompressed_body);

// Identifies which token an ETag was issued to without keeping the token:
// the first 16 hex digits of SHA-256("github-proxy authorization:" + value).
// Tokens have at least 128 bits of entropy, so 64 bits of a hash reveal
// nothing usable and still tell rotated tokens apart. Empty for an empty value.
std::string authorization_fingerprint(std::string_view authorization_value);

// The opaque-tag without `W/` and quotes: `W/"abc"` → `abc`. Unquoted input
// (some clients send it) is returned trimmed.
std::string_view etag_opaque(std::string_view etag);
bool etag_is_weak(std::string_view etag);

// RFC 9110 §8.8.3.2 weak comparison: equal opaque-tags, `W/` ignored. An
// empty tag matches nothing.
bool etags_match_weak(std::string_view a, std::string_view b);

// An If-None-Match field value (RFC 9110 §13.1.2) against the current ETag:
// `*` matches any existing representation (a non-empty `etag`); otherwise any
// listed tag that matches weakly. Commas inside quoted tags are honoured.
// Several field lines must be joined with ", " first.
bool if_none_match_matches(std::string_view header_value, std::string_view etag);

}  // namespace github_proxy::cache
