// What the pool knows about one credential's rate limits (docs/contract.md §7): a state
// machine without I/O, fed by every response and read by selection
// (STYLE.md principle 7). Time is an argument; no timers: a parked state
// ends when `now` passes its deadline.
//
// Scope of each state (docs/github-api.md §3):
//  - exhausted is per resource: each bucket (core, search, graphql, …) has
//    its own window; a spent search bucket leaves core usable.
//  - cooling is per credential: GitHub's secondary limits (100 concurrent
//    requests, points per minute) are "shared across the REST API and
//    GraphQL API", so one secondary answer parks every resource.
//  - broken is per credential: a 401 "Bad credentials" says the token
//    itself is bad. It ends with `renewed` (a new secret, a reload, or a
//    probe GitHub answered 200: probe_schedule.h), never with time alone.
//
// A bucket no response has reported on yet is "unobserved": it is assumed to
// hold a full fresh window, `default_limit(resource)` (5000 core, 30 search,
// …). That guess makes an untried credential attractive, and its first
// response replaces the guess with GitHub's numbers.
//
// Threading: not synchronised. The pool serialises access to one
// `credential_limits` (a mutex per credential or per pool); every method is
// O(1) and allocation-free so that the critical section stays tiny.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "github_proxy/credentials/classify.h"
#include "github_proxy/credentials/clock.h"
#include "github_proxy/credentials/resource.h"

namespace github_proxy::credentials {

// The values of `github_proxy_credential_state{state=…}` (docs/contract.md §8).
enum class credential_state { ok, exhausted, cooling, broken };
inline constexpr std::size_t credential_state_count = 4;
std::string_view to_string(credential_state s);

struct limits_policy {
  // Cool-down after a secondary limit without Retry-After (GitHub: "wait for
  // at least one minute"); doubled for each further one in a row, up to
  // `secondary_max`, back to the start after an ok answer.
  std::chrono::seconds secondary_default{60};
  std::chrono::seconds secondary_max{15 * 60};
  // A primary-limit answer without a usable X-RateLimit-Reset (absent, or
  // already past by our clock) parks the bucket this long.
  std::chrono::seconds primary_fallback{60};
};

// One bucket as selection and the metrics see it at `now`.
struct bucket_view {
  bool observed = false;       // false: the values are default_limit's guess
  std::int64_t limit = 0;      // X-RateLimit-Limit
  std::int64_t remaining = 0;  // after a window rolled over: `limit` again
  std::int64_t used = 0;
  std::optional<time_point> reset;  // of the current window, when GitHub told us
  std::uint32_t in_flight = 0;      // requests of this resource awaiting an answer
  credential_state state = credential_state::ok;
  // When state != ok: the instant it is expected to become ok again. Empty
  // for broken (it waits for `renewed`).
  std::optional<time_point> available_at;
  // When state == ok: the last instant it became ok again after being
  // parked — the end of a cool-down, or the reset of a window in which this
  // bucket was spent — if that has passed. Empty when it never was parked.
  // Selection ramps the load up from there (selection.h), so credentials
  // whose windows reset at the same moment are not all stampeded at once.
  std::optional<time_point> returned_at;
};

class credential_limits {
 public:
  explicit credential_limits(limits_policy policy = {});

  // A request of resource `r` goes upstream / has its answer (or failed).
  // Each begin is matched by exactly one end with the same resource: the
  // inferred one, whatever X-RateLimit-Resource later says.
  void begin(resource r);
  void end(resource r);

  // Records one upstream answer: its X-RateLimit-* headers and the verdict
  // of classify_response. The numbers go to the bucket named by
  // X-RateLimit-Resource (it wins over `inferred`); a resource name we do
  // not know records no numbers. Returns the bucket that was charged.
  //
  // Within one window (same reset) `remaining` only goes down, so an older
  // answer overtaken by a newer one cannot raise it again.
  resource on_response(resource inferred, const rate_limit_headers& headers, const verdict& v,
                       time_point now);

  // The credential has a new secret (installation token renewed, token
  // file reloaded) or GitHub accepts it again (a probe, a reload of the same
  // secret): a 401 no longer applies.
  void renewed();

  // The credential as a whole, for github_proxy_credential_state and
  // /readyz: broken > cooling > exhausted (of the core bucket, the one most
  // requests spend; per-resource detail is in the rate_limit gauges) > ok.
  credential_state state(time_point now) const;
  // The same for one resource: broken > cooling > exhausted (of that bucket).
  credential_state state(resource r, time_point now) const;
  // While cooling after a secondary-limit answer: when the cool-down ends.
  std::optional<time_point> cooling_until(time_point now) const {
    return cooling_until_ && *cooling_until_ > now ? cooling_until_ : std::nullopt;
  }

  bucket_view bucket(resource r, time_point now) const;

  // Requests awaiting an answer across all resources (the concurrency cap).
  std::uint32_t in_flight() const { return in_flight_total_; }

 private:
  // A bucket is exhausted while remaining ≤ 0 and its reset is ahead; a
  // primary answer sets both (with a synthetic reset when GitHub's is unusable).
  struct bucket_state {
    bool observed = false;
    std::int64_t limit = 0;
    std::int64_t remaining = 0;
    std::int64_t used = 0;
    std::optional<time_point> reset;
    std::uint32_t in_flight = 0;
    // The reset of the last window in which remaining reached 0: the bucket
    // returns then (bucket_view::returned_at).
    std::optional<time_point> spent_until;
  };

  void record(resource r, const rate_limit_headers& headers);
  void park_primary(resource r, const verdict& v, time_point now);
  void park_secondary(const verdict& v, time_point now);
  static bool exhausted(const bucket_state& b, time_point now);

  limits_policy policy_;
  std::array<bucket_state, resource_count> buckets_{};
  std::uint32_t in_flight_total_ = 0;
  std::optional<time_point> cooling_until_;
  unsigned secondary_strikes_ = 0;  // secondary answers in a row without Retry-After
  bool broken_ = false;
};

}  // namespace github_proxy::credentials
