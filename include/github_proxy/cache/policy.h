// The cache's HTTP decisions as pure functions returning verdicts (STYLE
// principles 5 and 6; docs/contract.md §6). No I/O: the proxy pipeline carries the
// verdicts out against the store and upstream.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <boost/beast/http/fields.hpp>
#include <boost/container/small_vector.hpp>

#include "github_proxy/cache/entry.h"
#include "github_proxy/cache/etag.h"
#include "github_proxy/cache/key.h"

namespace github_proxy::cache {

// Why a request is not (fully) served through the cache; `none` when it is.
enum class bypass_reason : std::uint8_t {
  none,
  method,            // not GET or HEAD
  graphql,           // POST-only in practice, never validators (docs/github-api.md §1.6)
  rate_limit,        // /rate_limit: no-cache, no validators
  search,            // /search/*: no-cache, no validators
  range,             // a Range request: partial answers are not cached
  request_varies,    // carries Cookie, X-GitHub-OTP or X-Requested-With, which
                     // GitHub's Vary lists but the key does not hold
  request_no_store,  // Cache-Control: no-store: answered as usual, never stored
  head,              // HEAD: answered from the GET entry, never stores
};
std::string_view to_string(bypass_reason reason);

struct request_verdict {
  bool cacheable = false;  // may be answered from (revalidated) entries
  bool may_store = false;  // may store what upstream answers
  bypass_reason reason = bypass_reason::none;
  method_class method = method_class::get;
};

// `path_without_prefix` is the path after removing `/api/v3` (a query after
// '?' is ignored). Path checks see the percent-normalised path and ignore
// case, so `/%73earch/…` and `/Search/…` are excluded like `/search/…`.
// A request `Cache-Control: no-store` (RFC 9111 §5.2.1.5) forbids storing,
// not looking up: since every cached answer is revalidated upstream anyway,
// it still gets one. `no-cache` and `max-age=0` need nothing: the proxy
// always revalidates.
request_verdict request_cacheability(std::string_view method, std::string_view path_without_prefix,
                                     const boost::beast::http::fields& request);

// A 200 with an ETag or Last-Modified, without `Cache-Control: no-store`, a
// `Set-Cookie` or `Vary: *`, whose body (as it would be stored) is at most
// `max_object_bytes`, in identity or gzip encoding, and whose header set fits
// an entry (`max_entry_headers`, `max_entry_field_bytes`). Never errors,
// redirects or 304s. `private` is deliberately not a reason: the proxy is a
// shared cache only in storage; every use is confirmed by GitHub for the
// credential serving it (docs/contract.md §6 "Always revalidate").
bool response_storable(unsigned status, const boost::beast::http::fields& response, std::size_t body_size,
                       std::size_t max_object_bytes);

// The entry for a storable response fetched with the pool credential named
// `credential_name`, whose Authorization value was `credential_authorization`
// (only its fingerprint is kept). `accept_sent` is the Accept sent upstream
// (empty: none). The body is in the encoding its Content-Encoding names.
// Hop-by-hop fields (RFC 9110 §7.6.1, and those named in Connection) are not
// kept.
entry make_entry(unsigned status, const boost::beast::http::fields& response, std::string body,
                 std::string_view credential_name, std::string_view credential_authorization,
                 std::string_view accept_sent, std::chrono::system_clock::time_point now);

// Keeps a JSON body GitHub compressed inflated (`encoding` becomes identity,
// Content-Encoding goes; the ETag stays GitHub's weak one, which is over
// the same uncompressed bytes, docs/github-api.md §8): every answer from a
// JSON entry is rewritten for its client (docs/contract.md §5 "Rewriting"),
// and inflating once when storing beats inflating on every hit. False (and
// `e` unchanged) for other bodies, or when the inflated body would exceed
// `max_body_bytes`.
bool keep_json_inflated(entry& e, std::size_t max_body_bytes);

// Validators to send when revalidating `e` with a pool credential.
struct revalidation {
  std::string if_none_match;      // empty: send none
  std::string if_modified_since;  // empty: send none
  bool derived = false;           // if_none_match was computed for this credential
};

// Same credential and token as the entry's ETag was issued to → that ETag.
// Another credential, or another token of the same credential (rotated) →
// the ETag GitHub gives this one, derived from the stored body (gunzipped
// when stored compressed), the entry's Accept and its Vary flags, plus
// If-Modified-Since from Last-Modified. An entry without a fingerprint
// trusts the credential name alone. An ETag that is not a SHA-256
// (e.g. the git blob SHA-1 of contents responses) does not depend on the
// credential and is sent as stored. The revalidation request must carry the
// entry's `accept` as its Accept (none when empty): GitHub hashes those bytes.
// `credential_authorization_header` is the full value the proxy will send,
// e.g. "token ghp_…" or "Bearer ghs_…"; it is only hashed, never kept.
revalidation revalidation_plan(const entry& e, std::string_view credential_name,
                               std::string_view credential_authorization_header);

// Folds a 304 (RFC 9111 §4.3.4) obtained with the credential `credential_name`
// (Authorization value `credential_authorization`) into `e`:
// each end-to-end field of the 304 replaces the stored field of that name
// (Date, X-RateLimit-*, ETag, Cache-Control, Vary, Last-Modified,
// X-GitHub-Request-Id, …; the k-th line of a repeated name replaces the k-th
// stored line, in place), except the fields that describe the stored body or
// the credential that fetched it, which stay from the entry: Content-Type,
// Content-Length, Content-Encoding, Content-Range, X-GitHub-Media-Type,
// X-OAuth-Scopes, X-Accepted-OAuth-Scopes. Hop-by-hop fields and Set-Cookie
// are never stored. When the 304 has an ETag it becomes `e.etag` (GitHub
// sends the strong form) and `e.credential` / `e.authorization_fingerprint`
// become this credential's, so ETag and owner stay consistent; Last-Modified
// and the Vary flags follow the 304 too.
void merge_not_modified(entry& e, const boost::beast::http::fields& not_modified,
                        std::string_view credential_name, std::string_view credential_authorization);

// The header lines `merge_not_modified` would leave in `e`, as views into
// `e.headers` and `not_modified` (valid while both are): what a hit is
// answered with, without copying the entry. Inline capacity covers GitHub's
// ~30 lines, so the steady-state hit allocates nothing here.
using header_line = std::pair<std::string_view, std::string_view>;
using header_lines = boost::container::small_vector<header_line, 48>;
void merged_not_modified_lines(const entry& e, const boost::beast::http::fields& not_modified, header_lines& out);

// Whether merging the 304 would change who owns `e`'s validators (ETag,
// credential, token, Last-Modified): only then is the merged entry worth
// writing back, and only then must it be materialised.
bool not_modified_changes_owner(const entry& e, const boost::beast::http::fields& not_modified,
                                std::string_view credential_name, std::string_view credential_authorization);

// GitHub's freshness lifetime for `e`, from the Cache-Control it sent
// (`private, max-age=60, s-maxage=60` on most authenticated answers,
// docs/github-api.md §2.1): the smaller of max-age and s-maxage; 0 without
// either, or with no-cache or no-store. Reads the entry's header lines.
std::chrono::seconds fresh_lifetime(const entry& e);

// Whether GitHub confirmed `e` (its 200 at `stored_at`, or a later 304 noted
// in `confirmed`) less than min(`bound`, fresh_lifetime(e)) before `now`:
// what may be answered without asking GitHub again (docs/contract.md §6
// "Fresh under pressure"). Never beyond what GitHub itself sent, and never
// when the last confirmation is not after `last_write` (write_marks.h: a
// write to the path since).
bool confirmed_within(const entry& e, std::chrono::seconds bound, std::chrono::system_clock::time_point now,
                      std::chrono::system_clock::time_point last_write = {});

// Whether a client's own conditional GET may be answered 304 from `e` once
// GitHub has confirmed `e` (RFC 9110 §13.2.2): If-None-Match, when present,
// decides alone (weak comparison against `e.etag`, lists, `*`); otherwise
// If-Modified-Since (IMF-fixdate) against `e.last_modified`. A client holding
// the ETag another credential was given gets the full body: correct, only
// not minimal. Several If-None-Match lines must be joined with ", " first.
bool client_conditional_matches(std::string_view if_none_match, std::string_view if_modified_since,
                                const entry& e);

}  // namespace github_proxy::cache
