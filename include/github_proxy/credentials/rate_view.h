// The rate limit a client is told about (docs/contract.md §5 "Rate limits as
// the client sees them"): the five X-RateLimit-* values and each bucket of
// the proxy's own GET /rate_limit, worked out from what the pool can still
// spend and the client's upstream_budget. Pure functions of their inputs;
// the pool and the budget ledgers supply those.
//
// Through the proxy a client is not one credential: it spends from the whole
// pool, within its own budget. So it is told
//  - the pool's view of the resource: the sum over the credentials that can
//    come back by themselves (broken ones cannot) of limit − reserve, of which
//    the credentials usable now still have remaining − in flight − reserve;
//    reset = the earliest instant credits come back (a parked credential's
//    return, or the reset of a window some credits were spent in), or a whole
//    window ahead when nothing was spent (as GitHub shows an unused bucket);
//  - capped by its budget where it has one: when the budget has less left
//    than the pool, the budget's credits, what the client spent of them in
//    its sliding window and when that is spent no more;
// so that `remaining` reaches 0 exactly when the proxy would refuse the next
// request that spends a credit, and `reset` is when it would not any more.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "github_proxy/auth/registry.h"
#include "github_proxy/credentials/budget.h"
#include "github_proxy/credentials/clock.h"
#include "github_proxy/credentials/rate_limit_state.h"
#include "github_proxy/credentials/resource.h"

namespace github_proxy::credentials {

struct rate_view {
  resource r = resource::core;
  std::int64_t limit = 0;
  std::int64_t remaining = 0;
  std::int64_t used = 0;  // limit − remaining
  time_point reset{};     // X-RateLimit-Reset, epoch seconds

  bool operator==(const rate_view&) const = default;
};

// The pool's view of resource `r` from every credential's bucket at `now`
// (a broken credential's bucket has state broken), keeping `reserve` credits
// of each one.
rate_view pool_view(resource r, std::span<const bucket_view> buckets, std::int64_t reserve, time_point now);

// The view of a client's budget from the ledger's status at `now`: used is
// the sliding estimate rounded down, so remaining is 0 exactly when the
// budget is exceeded; reset is the end of the wait then, else when nothing
// the client spent counts any more.
rate_view budget_view(resource r, const budget_status& status, auth::budget limit, time_point now);

// The client's view: the pool's, or the budget's when that has less left
// (when both have nothing left, the one that comes back later).
rate_view client_view(const rate_view& pool, const std::optional<rate_view>& budget);

}  // namespace github_proxy::credentials
