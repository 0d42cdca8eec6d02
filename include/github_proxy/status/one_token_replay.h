// "Outages avoided" (docs/contract.md §8 "Status page"): the demand the
// proxy's clients put on GitHub, replayed against one shared token, as if
// every job still called GitHub directly with the bot account.
//
// The model is GitHub's primary limit (docs/github-api.md §3.1, §3.3): a
// token holds `limit` credits per window; the window opens with the first
// request after the previous one closed and lasts `window` (an hour), when
// X-RateLimit-Reset comes. A window whose demand passed the limit is an
// outage: from the request that found the token empty until the reset,
// every job sharing the token got 403/429 from GitHub.
//
// A pure state machine (STYLE.md principle 7): time comes with each call.
// Threading: none; the owner serialises calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

#include "github_proxy/credentials/clock.h"

namespace github_proxy::status {

using credentials::time_point;

struct one_token_window {
  time_point start;
  time_point end;                          // start + window: the reset
  std::uint64_t demand = 0;                // credits asked for in the window
  std::optional<time_point> exhausted_at;  // the first second over the limit
  // Requests GitHub would have refused: the demand over the limit.
  std::uint64_t refused(std::uint64_t limit) const { return demand > limit ? demand - limit : 0; }
  // How long the token stayed empty: from exhaustion to the reset.
  std::chrono::seconds exhausted_for() const {
    return exhausted_at ? end - *exhausted_at : std::chrono::seconds(0);
  }
};

struct one_token_totals {
  std::uint64_t demand = 0;    // credits, every window
  std::uint64_t windows = 0;   // windows opened, the current one included
  std::uint64_t outages = 0;   // windows that ran out, the current one included
  std::uint64_t refused = 0;   // requests those outages would have failed
  std::chrono::seconds exhausted{0};  // summed over the outages
};

class one_token_replay {
 public:
  // At most this many past outages are kept for the report (30 days of
  // hourly windows); the totals count every one.
  static constexpr std::size_t max_kept_outages = 720;

  explicit one_token_replay(std::uint64_t limit, std::chrono::seconds window = std::chrono::hours(1));

  // `credits` of demand at `at`. Times never go backwards; an earlier `at`
  // is taken as the latest seen.
  void add(time_point at, std::uint64_t credits);
  // Closes the current window once `now` has reached its reset.
  void advance(time_point now);

  std::uint64_t limit() const { return limit_; }
  const std::optional<one_token_window>& current() const { return current_; }
  // Closed windows that ran out, oldest first.
  const std::deque<one_token_window>& past_outages() const { return past_outages_; }
  // Everything since the start, the current window included.
  one_token_totals totals() const;

 private:
  void close_current();

  std::uint64_t limit_;
  std::chrono::seconds window_;
  time_point latest_{};
  std::optional<one_token_window> current_;
  std::deque<one_token_window> past_outages_;
  one_token_totals closed_;  // the closed windows only
};

}  // namespace github_proxy::status
