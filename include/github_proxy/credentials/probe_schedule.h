// When the pool asks GitHub again whether a broken token works (docs/contract.md §7):
// a state machine without I/O, one per `type: token` credential (STYLE.md
// principle 7). Time is an argument; no timers: a probe is due once `now`
// reaches `next_at`, and the pool starts it from the next `acquire`.
//
// A 401 "Bad credentials" breaks a token (classify.h). GitHub may have
// been wrong for a while (an incident), or the owner may restore the token,
// so the pool sends `GET /rate_limit` with it — it costs no quota
// (docs/github-api.md §3.2) — one probe at a time:
//
//   broken(now)          → first probe due at now + initial (1 min)
//   try_begin(now)       → claims the due probe (false while one is in flight)
//   finished(accepted)   → a 200: the token is usable again; nothing scheduled
//   finished(rejected)   → a 401: the wait doubles (2, 4, 8 … min, at most max = 1 h)
//   finished(inconclusive) → no answer, a 5xx, a limit: the same wait again
//   clear()              → the token came back another way (reload_secrets)
//
// Threading: not synchronised; the pool holds the credential's mutex. Every
// method is O(1) and allocation-free.
#pragma once

#include <chrono>
#include <optional>

#include "github_proxy/credentials/clock.h"

namespace github_proxy::credentials {

struct probe_policy {
  std::chrono::seconds initial{60};
  std::chrono::seconds max{60 * 60};
};

enum class probe_result {
  accepted,      // 200: GitHub takes the token again
  rejected,      // 401: still bad
  inconclusive,  // no answer, or an answer that says nothing about the token
};

class probe_schedule {
 public:
  explicit probe_schedule(probe_policy policy = {});

  // The token was just broken. Schedules the first probe one `initial` from
  // `now`, with the backoff back at `initial`; no effect while a probe is
  // already scheduled (a late 401 does not postpone it).
  void broken(time_point now);

  // True when a probe is scheduled, due at `now`, and none is in flight: the
  // caller now owns it and must end it with `finished` or `abandon`.
  bool try_begin(time_point now);

  // The probe claimed by try_begin ended with `result` at `now`. Without a
  // claimed probe, or after `clear`, only the in-flight mark is dropped.
  void finished(probe_result result, time_point now);

  // The probe claimed by try_begin ended without a result that applies (its
  // secret was replaced meanwhile): drops the in-flight mark, nothing else.
  void abandon() { in_flight_ = false; }

  // The token is usable again by other means: nothing is scheduled. A probe
  // in flight stays claimed until it ends.
  void clear();

  bool scheduled() const { return next_at_.has_value(); }
  bool in_flight() const { return in_flight_; }
  // When the next probe is due, while one is scheduled.
  std::optional<time_point> next_at() const { return next_at_; }
  // The wait that scheduled next_at (initial after broken, doubled by each
  // rejection).
  std::chrono::seconds backoff() const { return wait_; }

 private:
  probe_policy policy_;
  std::optional<time_point> next_at_;
  std::chrono::seconds wait_;
  bool in_flight_ = false;
};

}  // namespace github_proxy::credentials
