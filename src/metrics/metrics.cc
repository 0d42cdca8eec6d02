#include "github_proxy/metrics/metrics.h"

#include <prometheus/text_serializer.h>

#include "github_proxy/credentials/resource.h"

namespace github_proxy::metrics {

std::string_view to_string(cache_outcome outcome) {
  switch (outcome) {
    case cache_outcome::hit: return "hit";
    case cache_outcome::miss: return "miss";
    case cache_outcome::changed: return "changed";
    case cache_outcome::coalesced: return "coalesced";
    case cache_outcome::bypass: return "bypass";
    case cache_outcome::stale: return "stale";
    case cache_outcome::rejected: return "rejected";
    case cache_outcome::fresh: return "fresh";
  }
  return "bypass";
}

std::string_view to_string(reject_reason reason) {
  switch (reason) {
    case reject_reason::unauthenticated: return "unauthenticated";
    case reject_reason::scope: return "scope";
    case reject_reason::budget: return "budget";
    case reject_reason::bad_request: return "bad_request";
  }
  return "bad_request";
}

const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return buckets;
}

families::families(std::string_view version)
    : registry(std::make_shared<prometheus::Registry>()),
      requests_total(prometheus::BuildCounter()
                         .Name("github_proxy_requests_total")
                         .Help("Requests answered to clients.")
                         .Register(*registry)),
      request_duration_seconds(prometheus::BuildHistogram()
                                   .Name("github_proxy_request_duration_seconds")
                                   .Help("Time from a request's first byte to its answer.")
                                   .Register(*registry)),
      rejected_requests_total(prometheus::BuildCounter()
                                  .Name("github_proxy_rejected_requests_total")
                                  .Help("Requests refused before reaching GitHub.")
                                  .Register(*registry)),
      upstream_requests_total(prometheus::BuildCounter()
                                  .Name("github_proxy_upstream_requests_total")
                                  .Help("Requests sent to GitHub.")
                                  .Register(*registry)),
      upstream_duration_seconds(prometheus::BuildHistogram()
                                    .Name("github_proxy_upstream_duration_seconds")
                                    .Help("Time GitHub took to answer, to the end of the headers.")
                                    .Register(*registry)),
      registry_clients(prometheus::BuildGauge()
                           .Name("github_proxy_registry_clients")
                           .Help("Clients in the loaded registry.")
                           .Register(*registry)),
      registry_reloads_total(prometheus::BuildCounter()
                                 .Name("github_proxy_registry_reloads_total")
                                 .Help("Registry reloads by result.")
                                 .Register(*registry)),
      registry_last_success(prometheus::BuildGauge()
                                .Name("github_proxy_registry_last_success_timestamp_seconds")
                                .Help("Unix time of the last registry load that succeeded, the first included.")
                                .Register(*registry)),
      secret_reloads_total(prometheus::BuildCounter()
                               .Name("github_proxy_secret_reloads_total")
                               .Help("Credential secrets re-read, by result: a token or key file after it "
                                     "changed, or each credential at SIGHUP.")
                               .Register(*registry)),
      build_info(prometheus::BuildGauge()
                     .Name("github_proxy_build_info")
                     .Help("Build information; always 1.")
                     .Register(*registry)),
      client_connections(prometheus::BuildGauge()
                             .Name("github_proxy_client_connections")
                             .Help("Open client connections.")
                             .Register(*registry)),
      credits_saved_total(prometheus::BuildCounter()
                     .Name("github_proxy_rate_limit_credits_saved_total")
                     .Help("Requests answered without spending a rate-limit credit (upstream 304s and coalesced requests).")
                     .Register(*registry)),
      etag_derivations_total(prometheus::BuildCounter()
                     .Name("github_proxy_etag_derivations_total")
                     .Help("Revalidations sent with an ETag derived for another credential, by GitHub's answer.")
                     .Register(*registry)),
      cache_entries(prometheus::BuildGauge()
                     .Name("github_proxy_cache_entries")
                     .Help("Entries in the cache backend.")
                     .Register(*registry)),
      cache_bytes(prometheus::BuildGauge()
                     .Name("github_proxy_cache_bytes")
                     .Help("Bytes held by the cache backend.")
                     .Register(*registry)),
      cache_backend_errors_total(prometheus::BuildCounter()
                     .Name("github_proxy_cache_backend_errors_total")
                     .Help("Cache backend operations that failed; the request went on uncached.")
                     .Register(*registry)),
      client_upstream_credits_total(prometheus::BuildCounter()
                     .Name("github_proxy_client_upstream_credits_total")
                     .Help("Rate-limit credits spent upstream on behalf of each client.")
                     .Register(*registry)),
      rate_limit_remaining(prometheus::BuildGauge()
                     .Name("github_proxy_rate_limit_remaining")
                     .Help("X-RateLimit-Remaining last seen per credential and resource.")
                     .Register(*registry)),
      rate_limit_limit(prometheus::BuildGauge()
                     .Name("github_proxy_rate_limit_limit")
                     .Help("X-RateLimit-Limit last seen per credential and resource.")
                     .Register(*registry)),
      rate_limit_used(prometheus::BuildGauge()
                     .Name("github_proxy_rate_limit_used")
                     .Help("X-RateLimit-Used last seen per credential and resource.")
                     .Register(*registry)),
      rate_limit_reset(prometheus::BuildGauge()
                     .Name("github_proxy_rate_limit_reset_timestamp_seconds")
                     .Help("X-RateLimit-Reset (Unix time) last seen per credential and resource.")
                     .Register(*registry)),
      credential_state(prometheus::BuildGauge()
                     .Name("github_proxy_credential_state")
                     .Help("1 for the current state of each pool credential.")
                     .Register(*registry)),
      secondary_used(prometheus::BuildGauge()
                     .Name("github_proxy_secondary_points_used")
                     .Help("Spent per credential under GitHub's secondary limits in the current window (a "
                           "minute; an hour for content_per_hour), every replica sharing it included.")
                     .Register(*registry)),
      secondary_limit(prometheus::BuildGauge()
                     .Name("github_proxy_secondary_points_limit")
                     .Help("GitHub's secondary limit per credential and kind, as configured (0: off); the "
                           "proxy spends at most pool.secondary_limits.share_percent of it.")
                     .Register(*registry)),
      direct_demand_credits_total(prometheus::BuildCounter()
                     .Name("github_proxy_direct_demand_credits_total")
                     .Help("Credits the requests would have cost on GitHub had each job called it directly "
                           "with one shared token, whether the proxy spent or saved them.")
                     .Register(*registry)),
      one_token_limit(prometheus::BuildGauge()
                     .Name("github_proxy_one_token_limit")
                     .Help("Credits per hour of that one shared token (admin.one_token_limit), for the core "
                           "resource.")
                     .Register(*registry)) {
  build_info.Add({{"version", std::string(version)}}).Set(1);
  derivation_not_modified = &etag_derivations_total.Add({{"result", "not_modified"}});
  derivation_modified = &etag_derivations_total.Add({{"result", "modified"}});
  for (std::size_t i = 0; i < cache_outcome_count; ++i) {
    request_duration[i] = &request_duration_seconds.Add(
        {{"cache", std::string(to_string(static_cast<cache_outcome>(i)))}}, latency_buckets());
  }
  for (std::size_t i = 0; i < credentials::resource_count; ++i) {
    upstream_duration_by_resource.push_back(&upstream_duration_seconds.Add(
        {{"resource", std::string(credentials::to_string(static_cast<credentials::resource>(i)))}},
        latency_buckets()));
  }
}

void families::on_scrape(std::function<void()> sampler) { samplers_.push_back(std::move(sampler)); }

void families::run_samplers() const {
  for (const auto& sample : samplers_) sample();
}

std::string families::serialize() const {
  run_samplers();
  return prometheus::TextSerializer().Serialize(registry->Collect());
}

}  // namespace github_proxy::metrics
