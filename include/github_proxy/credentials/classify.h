// What an upstream answer says about the credential that was used
// (docs/contract.md §7 "Rotation", docs/github-api.md §3.3, §3.4, §4): a pure function
// returning a verdict that the request coroutine carries out (STYLE.md
// principle 6).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <boost/beast/http/fields.hpp>

#include "github_proxy/credentials/clock.h"
#include "github_proxy/credentials/resource.h"

namespace github_proxy::credentials {

// The five X-RateLimit-* headers of one response (names case-insensitive).
// A header that is absent or not a number stays empty.
struct rate_limit_headers {
  std::optional<std::int64_t> limit;
  std::optional<std::int64_t> remaining;
  std::optional<std::int64_t> used;
  std::optional<time_point> reset;  // X-RateLimit-Reset, UTC epoch seconds
  std::optional<resource> named;    // X-RateLimit-Resource, when a known bucket
  bool unknown_resource = false;    // X-RateLimit-Resource names a bucket we do not know

  // True when the response reports on a bucket (GHES with rate limits off
  // and uploads.github.com send none of these).
  bool any() const { return limit || remaining || used || reset; }
};

rate_limit_headers parse_rate_limit_headers(const boost::beast::http::fields& headers);

enum class verdict_kind {
  ok,               // nothing to do beyond recording the headers (also: an ordinary 403)
  primary_limit,    // the bucket is spent: park it until `reset`
  secondary_limit,  // slow down: park the credential for `retry_after` (60 s when absent)
  bad_credential,   // 401 "Bad credentials": the credential is broken until renewed
};

std::string_view to_string(verdict_kind kind);

struct verdict {
  verdict_kind kind = verdict_kind::ok;
  // X-RateLimit-Reset, when present (any verdict).
  std::optional<time_point> reset;
  // Retry-After, when present and valid: delta-seconds, or an HTTP-date taken
  // relative to the response's own Date header (both are GitHub's clock).
  std::optional<std::chrono::seconds> retry_after;
  // X-RateLimit-Remaining was 0 (a secondary limit that also spent the
  // bucket waits for `reset`, as GitHub's docs ask).
  bool remaining_zero = false;
};

// Bodies larger than this are not searched for GraphQL rate-limit errors:
// GitHub's RATE_LIMITED answers are a few hundred bytes.
inline constexpr std::size_t graphql_body_scan_limit = 64 * 1024;
// Only this prefix of a 403/429 body is searched for the secondary-limit texts.
inline constexpr std::size_t error_body_scan_limit = 8 * 1024;

// Rules, in order:
//  1. 401 whose body says "Bad credentials" (searched case-insensitively in
//     its first error_body_scan_limit bytes), or whose body cannot be read
//     (a Content-Encoding other than gzip, gzip that does not inflate, or
//     empty) → bad_credential. Any other 401 is the
//     client's answer → ok: "A JSON web token could not be decoded" or
//     "Requires authentication" from the endpoints only a GitHub App's own
//     JWT may call (requires_app_jwt) says nothing about the credential, and
//     breaking it there would let one client's requests take every
//     credential out of service (docs/github-api.md §5).
//  2. 403/429 whose message names a secondary limit ("secondary rate limit",
//     "abuse detection", the `#…secondary-rate-limits` / `#abuse-rate-limits`
//     documentation anchors, "login attempts exceeded"), or that carries
//     Retry-After → secondary_limit. This comes before rule 3: a search 403
//     with remaining 14 is secondary (docs/github-api.md §3.4), and a secondary answer
//     with remaining 0 must still honour Retry-After.
//  3. 403/429 with X-RateLimit-Remaining: 0 → primary_limit.
//  4. Any other 429 → secondary_limit (GitHub: "wait for at least one minute").
//  5. A 200 from the graphql resource whose JSON body (≤ graphql_body_scan_limit)
//     has an `errors[].type` of RATE_LIMITED or RATE_LIMIT → primary_limit,
//     or secondary_limit when that error's message names a secondary limit.
//  6. Anything else → ok (a permission 403 is the client's answer, not ours).
//
// `body` is the body as GitHub sent it. A gzip body (Content-Encoding: gzip
// or x-gzip) is read inflated, and only as far as the scan limits above:
// the classification never inflates more than graphql_body_scan_limit + 1
// bytes. With any other Content-Encoding the text is not inspected (rule 1
// then takes GitHub's word, rules 2 and 5 rely on the headers alone).
verdict classify_response(unsigned status, const boost::beast::http::fields& headers,
                          std::string_view body, resource r);

// The GitHub paths served only to a GitHub App's own JWT (docs/github-api.md
// §5, octokit's requires-app-auth list): `/app` and everything under `/app/`,
// `/repos/{owner}/{repo}/installation`, `/orgs/{org}/installation`,
// `/users/{username}/installation` and `/enterprises/{enterprise}/installation`.
// No credential of the pool is a JWT, so GitHub answers these with 401 "A
// JSON web token could not be decoded" whichever one is sent.
//
// `path` is the GitHub path: no /api/v3 prefix (auth::normalize_path's
// output); a query, empty segments and a trailing slash are ignored, and the
// comparison is case-insensitive. `/apps/{slug}` and `/app-manifests/…` are
// not JWT-only.
bool requires_app_jwt(std::string_view path);

}  // namespace github_proxy::credentials
