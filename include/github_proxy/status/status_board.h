// The status page's data (docs/contract.md §8 "Status page"): per client,
// per credential, the cache, and the demand replayed against one shared
// token. `/status.json` is `report()`; `/` renders the same object as HTML
// and `github-proxy status` as a table, so the three never disagree.
//
// Where the numbers come from: the Prometheus families (the same counters
// /metrics exports; collected, never counted twice), the budget ledger, and
// the demand meter the request path feeds. Nothing on the request path
// takes a lock for it: besides the demand counter of the metrics,
// `demand_meter::add` is one relaxed atomic add.
//
// Threading: `tick` and `report` may be called from any thread (a mutex
// serialises them); `demand_meter` from every I/O thread.
// Lifetime: the sources outlive the board.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <prometheus/metric_family.h>

#include "github_proxy/auth/registry.h"
#include "github_proxy/credentials/budget.h"
#include "github_proxy/credentials/clock.h"
#include "github_proxy/metrics/metrics.h"
#include "github_proxy/status/one_token_replay.h"

namespace github_proxy::status {

// Core credits the same requests would have cost on one shared token; the
// per-client, per-resource view is github_proxy_direct_demand_credits_total.
class demand_meter {
 public:
  void add(std::uint64_t credits) { core_.fetch_add(credits, std::memory_order_relaxed); }
  std::uint64_t total() const { return core_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> core_{0};
};

struct status_sources {
  metrics::families* metrics = nullptr;
  const auth::registry_store* registry = nullptr;
  // Budget estimates: the ledger that enforces them with the memory cache;
  // null with Redis, where the page shows this replica's share.
  credentials::memory_budget_ledger* budgets = nullptr;
  std::uint64_t one_token_limit = 5000;  // admin.one_token_limit, per hour
  std::string version;
};

class status_board {
 public:
  status_board(status_sources sources, const credentials::clock& clock);

  demand_meter& demand() { return demand_; }

  // Feeds the replay with the demand since the last call, and once a minute
  // keeps the counters for the "last hour" columns. Call about every second.
  void tick();
  // Everything the page shows, as of now.
  boost::json::object report();

 private:
  struct client_counts {
    double requests = 0, spent = 0, saved = 0, rejected = 0, demand = 0;
  };
  struct minute_sample {
    time_point at;
    std::map<std::string, client_counts, std::less<>> clients;
    double backend_errors = 0;
  };
  void feed_replay(time_point now);
  minute_sample sample(time_point now, const std::vector<prometheus::MetricFamily>& families) const;

  status_sources sources_;
  const credentials::clock& clock_;
  const time_point started_;
  demand_meter demand_;
  std::mutex mutex_;
  std::uint64_t fed_ = 0;  // demand_.total() already given to the replay
  one_token_replay replay_;
  std::deque<minute_sample> minutes_;  // the last hour, oldest first
};

// `report()` as a self-refreshing HTML page with no external assets.
std::string render_status_html(const boost::json::object& report);
// `report()` (or /status.json as fetched) as plain-text tables.
std::string render_status_table(const boost::json::object& report);

}  // namespace github_proxy::status
