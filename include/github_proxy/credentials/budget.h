// Per-client upstream budgets (docs/contract.md §4 `upstream_budget: 2000/h`, §5
// "Budgets"): how many upstream credits a client may spend per window.
//
// Window: a sliding-window counter (the two-bucket approximation). Time is
// cut into fixed windows aligned to the epoch; the estimate at `now` is
//     previous_count × (1 − elapsed/window) + current_count
// where `elapsed` is the time since the current window began. Unlike a
// fixed window it does not allow a double burst across a boundary, unlike a
// log of timestamps it needs two counters per client, and it maps onto two
// Redis keys per client (INCRBY + EXPIRE in one script) for a shared ledger.
//
// A client over budget is refused (429 + Retry-After) before its request
// goes upstream; what it spends is charged after the answer, so concurrent
// requests may overshoot by at most the number in flight. Only upstream
// credits count: a 304 revalidation or a coalesced request costs nothing
// (`spends_upstream_credit`).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "github_proxy/auth/registry.h"
#include "github_proxy/credentials/clock.h"

namespace github_proxy::credentials {

// Does an upstream answer with this status cost the client a credit?
// Everything GitHub answered counts except 304 (free when authorised,
// docs/github-api.md §1.2).
inline bool spends_upstream_credit(unsigned status) { return status != 304; }

struct budget_status {
  bool exceeded = false;  // no room for one more credit
  // When exceeded: until the estimate drops below the budget (≥ 1 s).
  std::chrono::seconds retry_after{0};
  double spent = 0;  // the sliding estimate at the time of the check
  // When nothing spent so far counts any more (the estimate reaches 0 if
  // nothing more is spent): the end of the next window when the current one
  // has counts, of the current one when only the previous one has, a whole
  // window when nothing was spent (the X-RateLimit-Reset of the client's
  // view, rate_view.h).
  std::chrono::seconds unspent_after{0};
};

// The ledger the request pipeline talks to. The memory ledger answers
// immediately; a shared (Redis) ledger does one round trip per call, hence
// awaitables.
//
// Threading: any method may be called from any thread at any time.
// Lifetime: outlives every request that uses it. Budgets come with each
// call (from the current registry snapshot), so a reload applies at once;
// changing a client's window restarts its count.
class budget_ledger {
 public:
  virtual ~budget_ledger() = default;

  virtual boost::asio::awaitable<budget_status> check(std::string_view client, auth::budget limit) = 0;
  // Adds `credits`; returns the status after them (what `check` would say
  // next), from the same round trip.
  virtual boost::asio::awaitable<budget_status> charge(std::string_view client, auth::budget limit,
                                                       std::uint64_t credits) = 0;
};

// The in-process ledger (cache.backend: memory). Clients are spread over
// shards, each with its own mutex: no global lock on the request path.
class memory_budget_ledger final : public budget_ledger {
 public:
  explicit memory_budget_ledger(const clock& time);
  ~memory_budget_ledger() override;

  boost::asio::awaitable<budget_status> check(std::string_view client, auth::budget limit) override;
  boost::asio::awaitable<budget_status> charge(std::string_view client, auth::budget limit,
                                               std::uint64_t credits) override;

  // The same, synchronously.
  budget_status status(std::string_view client, auth::budget limit);
  bool would_exceed(std::string_view client, auth::budget limit) { return status(client, limit).exceeded; }
  std::chrono::seconds retry_after(std::string_view client, auth::budget limit) {
    return status(client, limit).retry_after;
  }
  budget_status add(std::string_view client, auth::budget limit, std::uint64_t credits);

  // Drops clients that are no longer in the registry.
  void retain_only(const std::vector<auth::client>& clients);

 private:
  struct shard;
  shard& shard_for(std::string_view client);

  const clock& clock_;
  std::unique_ptr<shard[]> shards_;
};

// The estimate and refusal rule, shared by every ledger implementation so a
// Redis script can be checked against it: `previous`/`current` are the
// counts of the window before and of the one containing `now`.
budget_status evaluate_budget(std::uint64_t previous, std::uint64_t current, auth::budget limit,
                              std::chrono::seconds elapsed);

}  // namespace github_proxy::credentials
