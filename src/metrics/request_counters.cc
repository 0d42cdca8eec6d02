#include "github_proxy/metrics/request_counters.h"


namespace github_proxy::metrics {

namespace {
// Client names come from the registry, so this only guards against a
// registry that churns names for ever.
constexpr std::size_t max_cached_clients = 10000;

// Bounded label values: a status outside 100–599 (RFC 9110 §15: the valid
// range; a broken upstream may send any three digits) is counted as 599
// (docs/contract.md §8), so that it lands in the 5xx alerts and neither the
// series nor a cell's list of codes grows with every new value.
constexpr unsigned out_of_range_status = 599;
unsigned bounded_status(unsigned status) {
  return status < 100 || status > 599 ? out_of_range_status : status;
}
}  // namespace

method_label classify_method(std::string_view method) {
  if (method == "GET") return method_label::get;
  if (method == "POST") return method_label::post;
  if (method == "HEAD") return method_label::head;
  if (method == "PATCH") return method_label::patch;
  if (method == "PUT") return method_label::put;
  if (method == "DELETE") return method_label::del;
  if (method == "OPTIONS") return method_label::options;
  return method_label::other;
}

std::string_view to_string(method_label method) {
  static constexpr std::array<std::string_view, method_label_count> names = {
      "GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS", "OTHER"};
  return names[static_cast<std::size_t>(method)];
}

request_counters::request_counters(families& families) : families_(families) {}

request_counters::per_client& request_counters::client_entry(std::string_view client) {
  auto it = clients_.find(client);
  if (it != clients_.end()) return it->second;
  if (clients_.size() >= max_cached_clients) clients_.clear();  // pointers stay valid in the family
  return clients_.emplace(std::string(client), per_client{}).first->second;
}

prometheus::Counter& request_counters::requests(std::string_view client, method_label method,
                                                unsigned status, cache_outcome cache) {
  return requests_of(client_entry(client), client, method, status, cache);
}

prometheus::Counter& request_counters::count_request(std::string_view client, method_label method, unsigned status,
                                                     cache_outcome cache, const credentials::resource* demand) {
  auto& entry = client_entry(client);
  if (demand) direct_demand_of(entry, client, *demand).Increment();
  return requests_of(entry, client, method, status, cache);
}

prometheus::Counter& request_counters::requests_of(per_client& entry, std::string_view client, method_label method,
                                                   unsigned status, cache_outcome cache) {
  auto& cell = entry.requests[static_cast<std::size_t>(method)][static_cast<std::size_t>(cache)];
  // Bounded before the lookup: the cell is keyed by the label's value.
  status = bounded_status(status);
  for (auto& [code, counter] : cell) {
    if (code == status) return *counter;
  }
  auto& counter = families_.requests_total.Add({{"client", std::string(client)},
                                                {"method", std::string(to_string(method))},
                                                {"code", std::to_string(status)},
                                                {"cache", std::string(to_string(cache))}});
  cell.emplace_back(status, &counter);
  return counter;
}

prometheus::Counter& request_counters::rejected(std::string_view client, reject_reason reason) {
  auto& slot = client_entry(client).rejected[static_cast<std::size_t>(reason)];
  if (!slot) {
    slot = &families_.rejected_requests_total.Add(
        {{"client", std::string(client)}, {"reason", std::string(to_string(reason))}});
  }
  return *slot;
}

prometheus::Counter& request_counters::credits_saved(std::string_view client) {
  auto& slot = client_entry(client).credits_saved;
  if (!slot) slot = &families_.credits_saved_total.Add({{"client", std::string(client)}});
  return *slot;
}

prometheus::Counter& request_counters::client_credits(std::string_view client) {
  auto& slot = client_entry(client).client_credits;
  if (!slot) slot = &families_.client_upstream_credits_total.Add({{"client", std::string(client)}});
  return *slot;
}

prometheus::Counter& request_counters::direct_demand(std::string_view client, credentials::resource r) {
  return direct_demand_of(client_entry(client), client, r);
}

prometheus::Counter& request_counters::direct_demand_of(per_client& entry, std::string_view client,
                                                        credentials::resource r) {
  auto& slot = entry.direct_demand[static_cast<std::size_t>(r)];
  if (!slot) {
    slot = &families_.direct_demand_credits_total.Add(
        {{"client", std::string(client)}, {"resource", std::string(credentials::to_string(r))}});
  }
  return *slot;
}

}  // namespace github_proxy::metrics

namespace github_proxy::metrics {

prometheus::Counter& request_counters::upstream(std::string_view credential,
                                                std::string_view resource, unsigned status) {
  if (status != upstream_error && status != upstream_timeout) status = bounded_status(status);
  key_scratch_.assign(credential).append(1, '\n').append(resource);
  auto it = upstream_.find(std::string_view(key_scratch_));
  if (it == upstream_.end()) {
    if (upstream_.size() >= max_cached_clients) upstream_.clear();
    it = upstream_.emplace(key_scratch_, code_list{}).first;
  }
  for (auto& [code, counter] : it->second) {
    if (code == status) return *counter;
  }
  std::string code_label = status == upstream_error     ? "error"
                           : status == upstream_timeout ? "timeout"
                                                        : std::to_string(status);
  auto& counter = families_.upstream_requests_total.Add({{"credential", std::string(credential)},
                                                         {"resource", std::string(resource)},
                                                         {"code", std::move(code_label)}});
  it->second.emplace_back(status, &counter);
  return counter;
}

}  // namespace github_proxy::metrics
