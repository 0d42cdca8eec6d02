// The Prometheus metric families of docs/contract.md §8, created once at start-up.
//
// Threading: families are thread-safe (prometheus-cpp). Adding a child takes
// the family's lock, so the request path looks children up once and keeps
// the pointer (see `request_counters`).
#pragma once

#include <functional>

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace github_proxy::metrics {

// The `cache` label of github_proxy_requests_total (docs/contract.md §8).
// fresh: answered from an entry GitHub's max-age still covers, without
// asking GitHub (no credential had room under its secondary limits, or the
// confirm window; docs/contract.md §6 "Fresh under pressure").
enum class cache_outcome { hit, miss, changed, coalesced, bypass, stale, rejected, fresh };
inline constexpr std::size_t cache_outcome_count = 8;
std::string_view to_string(cache_outcome outcome);

// The `reason` label of github_proxy_rejected_requests_total.
enum class reject_reason { unauthenticated, scope, budget, bad_request };
std::string_view to_string(reject_reason reason);

struct families {
  explicit families(std::string_view version);

  std::shared_ptr<prometheus::Registry> registry;

  prometheus::Family<prometheus::Counter>& requests_total;
  prometheus::Family<prometheus::Histogram>& request_duration_seconds;
  prometheus::Family<prometheus::Counter>& rejected_requests_total;
  prometheus::Family<prometheus::Counter>& upstream_requests_total;
  prometheus::Family<prometheus::Histogram>& upstream_duration_seconds;
  prometheus::Family<prometheus::Gauge>& registry_clients;
  prometheus::Family<prometheus::Counter>& registry_reloads_total;
  prometheus::Family<prometheus::Gauge>& registry_last_success;  // Unix time of the last good load
  prometheus::Family<prometheus::Counter>& secret_reloads_total;  // {result}: ok, error
  prometheus::Family<prometheus::Gauge>& build_info;
  prometheus::Family<prometheus::Gauge>& client_connections;
  // The cache (docs/contract.md §6, §8).
  prometheus::Family<prometheus::Counter>& credits_saved_total;      // {client}
  prometheus::Family<prometheus::Counter>& etag_derivations_total;   // {result}
  prometheus::Family<prometheus::Gauge>& cache_entries;              // {backend}
  prometheus::Family<prometheus::Gauge>& cache_bytes;                // {backend}
  prometheus::Family<prometheus::Counter>& cache_backend_errors_total;  // {backend,op}
  // The credential pool (docs/contract.md §7, §8).
  prometheus::Family<prometheus::Counter>& client_upstream_credits_total;  // {client}
  prometheus::Family<prometheus::Gauge>& rate_limit_remaining;  // {credential,resource}
  prometheus::Family<prometheus::Gauge>& rate_limit_limit;
  prometheus::Family<prometheus::Gauge>& rate_limit_used;
  prometheus::Family<prometheus::Gauge>& rate_limit_reset;
  prometheus::Family<prometheus::Gauge>& credential_state;  // {credential,state}
  // GitHub's secondary limits (docs/contract.md §7 "Secondary limits"):
  // used in the sliding window, and GitHub's limit, per credential and
  // kind (rest_points, graphql_points, content_per_minute, content_per_hour).
  prometheus::Family<prometheus::Gauge>& secondary_used;   // {credential,kind}
  prometheus::Family<prometheus::Gauge>& secondary_limit;  // {credential,kind}
  // What the proxy saves (docs/contract.md §8 "Status page").
  prometheus::Family<prometheus::Counter>& direct_demand_credits_total;  // {client,resource}
  prometheus::Family<prometheus::Gauge>& one_token_limit;

  // github_proxy_etag_derivations_total{result="not_modified"|"modified"}.
  prometheus::Counter* derivation_not_modified = nullptr;
  prometheus::Counter* derivation_modified = nullptr;

  // Histogram children, one per cache outcome, created up front.
  std::array<prometheus::Histogram*, cache_outcome_count> request_duration{};

  // Upstream latency children, one per rate-limit resource, created up front.
  std::vector<prometheus::Histogram*> upstream_duration_by_resource;
  prometheus::Histogram& upstream_duration(auto resource) {
    return *upstream_duration_by_resource[static_cast<std::size_t>(resource)];
  }

  // Called before every scrape, e.g. to sample gauges of state owned
  // elsewhere (cache size, credential limits). Register at start-up only.
  void on_scrape(std::function<void()> sampler);

  // Runs the samplers, as before a scrape (the status page reads the gauges too).
  void run_samplers() const;
  // Renders the Prometheus text exposition format.
  std::string serialize() const;

 private:
  std::vector<std::function<void()>> samplers_;
};

// Bounds used by every latency histogram (seconds).
const prometheus::Histogram::BucketBoundaries& latency_buckets();

}  // namespace github_proxy::metrics
