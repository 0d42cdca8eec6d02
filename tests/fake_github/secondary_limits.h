// GitHub's secondary rate limits per token (docs/github-api.md §3.4): REST
// points and GraphQL points per sliding minute, content-creating requests per
// minute and per hour. A request that would pass a limit is refused, not
// counted, and blocks its token for a while; every request of a blocked token
// is refused the same way until the block ends.
//
// The minute windows are 60 one-second slots, the hour window 60 one-minute
// slots, so a slot leaves its window 60 s (60 min) after its own second
// (minute). Memory is bounded: at most `max_tokens` tokens are tracked; a new
// one first drops the tokens with nothing left in any window, then, if the
// table is still full, the one seen least recently (which then starts afresh
// if it comes back).
//
// Thread-safety: every member takes the internal mutex; callers pass `now`
// (Unix seconds, the fake's shifted clock) so time is injected rather than
// read here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fake_github {

// What one request costs against the secondary limits.
struct secondary_cost {
  std::int64_t rest = 0;     // REST points: GET/HEAD/OPTIONS 1, other methods 5
  std::int64_t graphql = 0;  // GraphQL points: a query 1, a mutation 5
  bool content = false;      // content-creating: REST POST/PATCH/PUT, GraphQL mutations
};

// docs/github-api.md §3.4: "most GET, HEAD, and OPTIONS requests cost 1 point … most
// POST, PATCH, PUT, or DELETE requests cost 5 points"; content generation is
// creating or changing something, so DELETE is not counted there.
secondary_cost rest_secondary_cost(std::string_view method);
secondary_cost graphql_secondary_cost(bool mutation);

// 0 turns a limit off. Defaults: GitHub's documented numbers.
struct secondary_limit_settings {
  std::int64_t rest_points = 900;        // per minute
  std::int64_t graphql_points = 2000;    // per minute
  std::int64_t content_per_minute = 80;
  std::int64_t content_per_hour = 500;
  std::int64_t block_seconds = 60;       // how long a refusal blocks the token; 0 = no block
};

struct secondary_settings_update {
  std::optional<std::int64_t> rest_points, graphql_points, content_per_minute, content_per_hour,
      block_seconds;
};

enum class secondary_refusal : std::uint8_t {
  none,
  points,   // REST or GraphQL points: "You have exceeded a secondary rate limit. …"
  content,  // content creation: "… temporarily blocked from content creation. …"
};

struct secondary_admission {
  secondary_refusal refusal = secondary_refusal::none;
  std::int64_t retry_after = 0;  // seconds (≥ 1) when refused
  bool allowed() const { return refusal == secondary_refusal::none; }
};

// A token's use of each window at `now`.
struct secondary_usage {
  std::int64_t rest = 0, graphql = 0, content_minute = 0, content_hour = 0;
};

class secondary_limits {
 public:
  static constexpr std::size_t default_max_tokens = 4096;  // ~2.9 KB each

  explicit secondary_limits(secondary_limit_settings initial, std::size_t max_tokens = default_max_tokens);

  // Atomic check-and-count. A blocked token is refused for the rest of its
  // block (Retry-After: what is left of it). Otherwise a request that would
  // pass a limit (points checked before content) is refused and not counted;
  // with block_seconds > 0 the token is then blocked for
  // max(block_seconds, seconds until the request would fit), which is what
  // Retry-After says; with 0 nothing is blocked and Retry-After is the
  // seconds until it would fit. Allowed requests are counted.
  secondary_admission admit(std::string_view token, const secondary_cost& cost, std::int64_t now);

  secondary_usage usage(std::string_view token, std::int64_t now) const;  // zeros for an unknown token

  secondary_limit_settings settings() const;
  // Applies the given fields (validated by the caller); windows and blocks stay.
  secondary_limit_settings update(const secondary_settings_update& update);
  void reset();  // forget every token, restore the start-up settings

  std::size_t tracked_tokens() const;

 private:
  static constexpr std::int64_t slots = 60;
  static constexpr std::int64_t empty_slot = std::numeric_limits<std::int64_t>::min();
  struct second_slot {
    std::int64_t stamp = empty_slot;  // the Unix second it counts
    std::int64_t rest = 0, graphql = 0, content = 0;
  };
  struct minute_slot {
    std::int64_t stamp = empty_slot;  // the Unix minute (second / 60) it counts
    std::int64_t content = 0;
  };
  struct token_window {
    std::array<second_slot, slots> seconds;  // slot second % 60
    std::array<minute_slot, slots> minutes;  // slot minute % 60
    std::int64_t block_from = 0, block_until = 0;  // blocked while block_from <= now < block_until
    secondary_refusal block_reason = secondary_refusal::none;
    std::int64_t last_seen = 0;
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  static secondary_usage usage_of(const token_window& w, std::int64_t now);
  static bool idle(const token_window& w, std::int64_t now);
  // Seconds until `cost` fits under the limits it is over (the lock is held).
  std::int64_t seconds_until_fits(const token_window& w, const secondary_usage& used,
                                  const secondary_cost& cost, std::int64_t now) const;
  token_window& window_for(std::string_view token, std::int64_t now);  // lock held; may evict

  mutable std::mutex mutex_;
  const secondary_limit_settings initial_;
  secondary_limit_settings settings_;
  const std::size_t max_tokens_;
  std::unordered_map<std::string, token_window, string_hash, std::equal_to<>> tokens_;
};

}  // namespace fake_github
