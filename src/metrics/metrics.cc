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
      build_info(prometheus::BuildGauge()
                     .Name("github_proxy_build_info")
                     .Help("Build information; always 1.")
                     .Register(*registry)),
      client_connections(prometheus::BuildGauge()
                             .Name("github_proxy_client_connections")
                             .Help("Open client connections.")
                             .Register(*registry)) {
  build_info.Add({{"version", std::string(version)}}).Set(1);
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

std::string families::serialize() const {
  return prometheus::TextSerializer().Serialize(registry->Collect());
}

}  // namespace github_proxy::metrics
