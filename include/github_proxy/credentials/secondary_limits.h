// GitHub's secondary rate limits as one credential spends them
// (docs/github-api.md §3.4; issue 17): points per minute on REST and on
// GraphQL, and content-creating requests per minute and per hour. A state
// machine without I/O, fed with each request before it is sent and read by
// selection (STYLE.md principle 7); time is an argument.
//
// Costs (GitHub's documented numbers): a REST GET, HEAD or OPTIONS 1 point,
// any other method 5; a GraphQL query 1, a mutation 5. A content-creating
// request is a REST POST, PATCH or PUT, or a GraphQL mutation.
//
// Windows slide over whole seconds: the minute is 60 one-second slots, the
// hour 60 one-minute slots, each a ring indexed by time. What a request
// spent stays in its slot until the slot is a whole window old. A request
// is admitted while its cost fits under `share` of GitHub's limit, so that
// the proxy never takes a credential to the limit GitHub enforces.
//
// A secondary-limit answer from GitHub means its own count is ahead of ours
// (other users of the token, another replica before the window was shared):
// the pool cools the credential (rate_limit_state.h) and reports its window
// as full meanwhile, to the metrics and to the other replicas.
//
// Replicas sharing the credential (secondary_exchange.h) publish their own
// usage and learn the others' with `set_others`: what the other replicas
// spent in each window, added to this one's own counts until the next
// exchange replaces it. A limit of 0 turns that window off.
//
// Threading: not synchronised; the pool guards it with the credential's
// mutex. Every method is O(window slots) at worst and allocation-free.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "github_proxy/credentials/clock.h"

namespace github_proxy::credentials {

enum class point_kind { rest, graphql };

struct secondary_costs {
  std::int64_t points = 1;
  point_kind kind = point_kind::rest;
  bool creates_content = false;
};

// The cost of one request. `graphql_mutation` is read only for GraphQL.
secondary_costs secondary_cost(std::string_view method, bool graphql, bool graphql_mutation);

struct secondary_policy {
  // GitHub's limits per credential (docs/github-api.md §3.4).
  std::int64_t rest_points_per_minute = 900;
  std::int64_t graphql_points_per_minute = 2000;
  std::int64_t content_per_minute = 80;
  std::int64_t content_per_hour = 500;
  // The part of each limit the proxy spends: a margin for the token's other
  // users and for requests whose cost GitHub counts differently. A
  // percentage, so that the cap is exact integer arithmetic (1 to 100).
  std::int64_t share_percent = 90;
};

// What is used of each window at an instant, for the metrics.
struct secondary_usage {
  std::int64_t rest_points = 0;
  std::int64_t graphql_points = 0;
  std::int64_t content_minute = 0;
  std::int64_t content_hour = 0;
  bool filled = false;  // the credential cools after GitHub's secondary-limit answer
  // With filled: the whole seconds (rounded up) the cool-down still runs,
  // so that another replica knows when room comes back.
  std::int64_t cooling_seconds = 0;
};

// What one request asks of a credential's secondary limits (pool::acquire).
struct secondary_demand {
  secondary_costs cost;
  // Whether acquire may wait (at most pool_options::pacing_wait) for a
  // credential to have room. false: when room is the only thing missing,
  // acquire answers at once with `paced` (the caller has something else to
  // answer with, e.g. a cache entry GitHub's max-age still covers).
  bool may_wait = true;
};

class secondary_window {
 public:
  explicit secondary_window(secondary_policy policy = {});

  // Would `c` fit now, under share × each limit it counts against?
  bool admits(const secondary_costs& c, time_point now) const;
  // The earliest instant at or after `now` at which `c` fits if nothing
  // else is spent; empty when it never can (a cost over the whole share).
  std::optional<time_point> room_at(const secondary_costs& c, time_point now) const;
  // The request goes upstream: counts its cost in the current slots.
  void spend(const secondary_costs& c, time_point now);

  // The other replicas' usage of each window, as last exchanged; replaces
  // the previous one. Their `filled` (GitHub answered one of them a
  // secondary limit) makes this window full too until an exchange clears it
  // or their `cooling_seconds` (counted from the exchange) have passed.
  void set_others(const secondary_usage& others) { others_ = others; }

  // This process's own usage (what it publishes), without the others'.
  secondary_usage usage(time_point now) const;
  // What admission counts: own usage plus the others'.
  secondary_usage counted(time_point now) const;
  const secondary_policy& policy() const { return policy_; }

 private:
  // A ring of 60 slots of `slot_seconds` each.
  struct ring {
    std::array<std::int64_t, 60> counts{};
    std::array<std::int64_t, 60> stamps{};  // the slot index each count belongs to
    std::int64_t slot_seconds = 1;

    std::int64_t sum(time_point now) const;
    void add(std::int64_t n, time_point now);
    // What is counted at `now` and still inside the window at `at` (≥ now),
    // if nothing more is added.
    std::int64_t counted_at(time_point now, time_point at) const;
    // The earliest instant at or after `start` (≥ now) at which what is
    // counted at `now` is down to `at_most` (≥ 0), if nothing more is added:
    // `start`, or the end of the slot whose leaving gets it there. One pass
    // over the slots, oldest first.
    time_point down_to(time_point now, time_point start, std::int64_t at_most) const;
  };

  // share_percent × limit / 100 rounded down, at least 1; 0 when the limit is off.
  std::int64_t cap(std::int64_t limit) const;
  // Whether `c` fits in windows holding `points`, `minute` and `hour`.
  bool fits(const secondary_costs& c, std::int64_t points, std::int64_t minute, std::int64_t hour) const;

  secondary_policy policy_;
  ring rest_;
  ring graphql_;
  ring content_minute_;
  ring content_hour_;
  secondary_usage others_;
};

}  // namespace github_proxy::credentials
