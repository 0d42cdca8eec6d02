// The time base of the credential pool. GitHub speaks wall-clock time
// (X-RateLimit-Reset is epoch seconds, `expires_at` and `Date` are UTC), so
// the pool does too. The pure state machines take `now` as an argument; the
// components that must read the time themselves (the budget ledger) are
// given a `clock`, which tests replace (STYLE.md principle 8).
//
// Pass GitHub's time where the value is compared with GitHub's timestamps:
// `clock_skew::server_now` (app_jwt.h) turns the local clock into it.
#pragma once

#include <chrono>
#include <cstdint>

namespace github_proxy::credentials {

using wall_clock = std::chrono::system_clock;
using time_point = std::chrono::time_point<wall_clock, std::chrono::seconds>;

inline time_point from_epoch_seconds(std::int64_t seconds) {
  return time_point(std::chrono::seconds(seconds));
}
inline std::int64_t to_epoch_seconds(time_point t) { return t.time_since_epoch().count(); }

// Threading: `now` may be called from any thread.
class clock {
 public:
  virtual ~clock() = default;
  virtual time_point now() const = 0;
};

// The real clock (std::chrono::system_clock, truncated to seconds).
const clock& system_clock_source();

}  // namespace github_proxy::credentials
