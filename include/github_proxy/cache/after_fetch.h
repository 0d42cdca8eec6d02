// What the cache does once an upstream exchange for a cache key is over
// (STYLE principle 6): one pure function from the cached entry, what the
// fetch produced, the request's verdict and the options to one action, with
// the Cache-Status value (RFC 9211) and the metric outcome that describe it.
// The request pipeline (src/proxy/serve_cacheable.cc) only carries the
// action out; coalesced followers ask the same function what the leader's
// result means for their own entry (docs/contract.md §6).
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "github_proxy/cache/entry.h"
#include "github_proxy/metrics/metrics.h"

namespace github_proxy::cache {

// What the upstream exchange produced, as far as the decision needs it.
enum class fetch_kind : std::uint8_t {
  answered,      // GitHub answered, the whole body is held
  refused,       // no credential could send it (the pool's 429 or 503)
  rate_limited,  // every credential GitHub was asked refused it for a rate limit
  failed,        // no answer, or the body broke off before it was whole
  streamed,      // too large to hold: already relayed to the client as it came
};

struct fetch_result {
  fetch_kind kind = fetch_kind::failed;
  unsigned status = 0;     // answered, rate_limited: GitHub's status
  bool storable = false;   // answered: response_storable() said yes
  bool timed_out = false;  // failed: by a deadline rather than a broken connection
  bool busy = false;       // refused: every credential busy (503) rather than spent (429)
};

struct after_fetch_options {
  bool serve_stale_on_error = false;  // cache.serve_stale: on_upstream_error
};

enum class fetch_action : std::uint8_t {
  confirm,          // a 304 for the entry: serve it with the 304's fields merged in
  replace,          // a storable answer: store it (over the entry, if any) and serve it
  share_unstored,   // serve GitHub's answer as it came; store nothing
  erase_and_share,  // 404/410 for a cached key: the resource is gone; erase it, serve the answer
  refuse,           // no credential: the pool's 429 (Retry-After) or 503
  serve_stale,      // serve the cached entry instead, marked stale
  fail,             // 502 or 504: GitHub could not be reached or broke off
  relayed,          // the answer was streamed to the client: nothing is left to do
};
std::string_view to_string(fetch_action action);

struct fetch_verdict {
  fetch_action action = fetch_action::fail;
  metrics::cache_outcome outcome = metrics::cache_outcome::miss;
  // The status the Cache-Status `fwd-status` names (GitHub's, or 429/502/504
  // for refusals and failures); 0 when none is named.
  unsigned fwd_status = 0;
  // confirm, replace: the entry may be written (the request allows storing).
  bool may_store = false;
  // Concurrent requests for the key may be served the result as it is: a
  // stored or confirmed 200. Anything else, followers decide for
  // themselves with `after_fetch` on their own entry.
  bool shareable = false;
  // A GitHub credit was saved for this client (a free 304 confirmation).
  bool credit_saved = false;
};

// `cached`: the entry looked up before the fetch (null: none).
// `may_store`: request_cacheability(...).may_store (false for a request
// `Cache-Control: no-store`, RFC 9111 §5.2.1.5).
fetch_verdict after_fetch(const entry* cached, const fetch_result& fetched, bool may_store,
                          const after_fetch_options& options);

// The Cache-Status value (RFC 9211) for a verdict; `stored`: the store
// succeeded (a `replace` whose write failed does not say `stored`). Held in
// place: building it allocates nothing.
class cache_status_text {
 public:
  cache_status_text(const fetch_verdict& verdict, bool stored);
  std::string_view view() const { return {data_.data(), size_}; }

 private:
  void append(std::string_view s);
  std::array<char, 96> data_{};
  std::size_t size_ = 0;
};

// Cache-Status of a coalesced follower served the leader's result.
inline constexpr std::string_view cache_status_coalesced = "github-proxy; hit; detail=coalesced";

}  // namespace github_proxy::cache
