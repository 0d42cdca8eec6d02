#include "github_proxy/status/status_board.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <prometheus/metric_family.h>

namespace github_proxy::status {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr auto minute = std::chrono::seconds(60);
constexpr auto hour = std::chrono::seconds(3600);
// Outages listed on the page, newest first; the totals count them all.
constexpr std::size_t listed_outages = 24;

const prometheus::MetricFamily* find_family(const std::vector<prometheus::MetricFamily>& families,
                                            std::string_view name) {
  for (const auto& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string_view label(const prometheus::ClientMetric& m, std::string_view name) {
  for (const auto& l : m.label) {
    if (l.name == name) return l.value;
  }
  return {};
}

// Sums a family's values by one label; `filter` picks the series.
template <typename Filter>
void sum_by(const std::vector<prometheus::MetricFamily>& families, std::string_view family,
            std::string_view by, const Filter& filter,
            const std::function<void(std::string_view, double)>& add) {
  const auto* f = find_family(families, family);
  if (!f) return;
  for (const auto& m : f->metric) {
    if (!filter(m)) continue;
    const double v = f->type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
    add(label(m, by), v);
  }
}

const auto any_series = [](const prometheus::ClientMetric&) { return true; };

double sum_all(const std::vector<prometheus::MetricFamily>& families, std::string_view family) {
  double total = 0;
  sum_by(families, family, "", any_series, [&](std::string_view, double v) { total += v; });
  return total;
}

// Counters are doubles in prometheus-cpp; these count whole requests.
std::int64_t whole(double v) { return std::llround(v); }

std::int64_t epoch(time_point t) { return credentials::to_epoch_seconds(t); }

json::value optional_epoch(const std::optional<time_point>& t) {
  return t ? json::value(epoch(*t)) : json::value(nullptr);
}

json::object window_json(const one_token_window& w, std::uint64_t limit, bool ongoing) {
  return json::object{{"start", epoch(w.start)},
                      {"reset", epoch(w.end)},
                      {"demand", w.demand},
                      {"exhausted_at", optional_epoch(w.exhausted_at)},
                      {"exhausted_seconds", w.exhausted_for().count()},
                      {"refused", w.refused(limit)},
                      {"ongoing", ongoing}};
}

}  // namespace

status_board::status_board(status_sources sources, const credentials::clock& clock)
    : sources_(std::move(sources)),
      clock_(clock),
      started_(clock.now()),
      replay_(sources_.one_token_limit) {
  minutes_.push_back(minute_sample{started_, {}, 0});  // "last hour" counts from the start
}

void status_board::feed_replay(time_point now) {
  const auto total = demand_.total();
  replay_.add(now, total - fed_);
  fed_ = total;
  replay_.advance(now);
}

status_board::minute_sample status_board::sample(time_point now,
                                                  const std::vector<prometheus::MetricFamily>& families) const {
  minute_sample out{now, {}, 0};
  auto into = [&](double client_counts::*field) {
    return [&out, field](std::string_view client, double v) {
      auto it = out.clients.find(client);
      if (it == out.clients.end()) it = out.clients.emplace(std::string(client), client_counts{}).first;
      it->second.*field += v;
    };
  };
  sum_by(families, "github_proxy_requests_total", "client", any_series, into(&client_counts::requests));
  sum_by(families, "github_proxy_client_upstream_credits_total", "client", any_series,
         into(&client_counts::spent));
  sum_by(families, "github_proxy_rate_limit_credits_saved_total", "client", any_series,
         into(&client_counts::saved));
  sum_by(families, "github_proxy_rejected_requests_total", "client", any_series,
         into(&client_counts::rejected));
  sum_by(families, "github_proxy_direct_demand_credits_total", "client", any_series,
         into(&client_counts::demand));
  out.backend_errors = sum_all(families, "github_proxy_cache_backend_errors_total");
  return out;
}

void status_board::tick() {
  const auto now = clock_.now();
  bool due = false;
  {
    std::lock_guard lock(mutex_);
    due = now - minutes_.back().at >= minute;
  }
  // Collected outside the lock: report() must not wait on a scrape.
  std::optional<minute_sample> taken;
  if (due) taken = sample(now, sources_.metrics->registry->Collect());
  std::lock_guard lock(mutex_);
  feed_replay(now);
  if (taken && now - minutes_.back().at >= minute) {
    minutes_.push_back(std::move(*taken));
    while (minutes_.size() > 2 && now - minutes_[1].at >= hour) minutes_.pop_front();
  }
}

json::object status_board::report() {
  const auto now = clock_.now();
  // The gauges owned elsewhere (cache size, credential limits) are sampled
  // as for a scrape.
  sources_.metrics->run_samplers();
  const auto families = sources_.metrics->registry->Collect();
  const auto current = sample(now, families);

  std::lock_guard lock(mutex_);
  feed_replay(now);
  // The baseline of the "last hour" columns: the oldest sample not older
  // than an hour (the start, while the process is younger).
  const minute_sample* hour_ago = &minutes_.front();
  for (const auto& m : minutes_) {
    if (now - m.at <= hour) {
      hour_ago = &m;
      break;
    }
  }

  json::object out;
  out["version"] = sources_.version;
  out["generated_at"] = epoch(now);
  out["started_at"] = epoch(started_);

  // Clients: the registry's, in file order, then any other name the
  // counters know (a client since removed, "unauthenticated").
  const auto snapshot = sources_.registry ? sources_.registry->current() : nullptr;
  std::vector<const auth::client*> registered;
  if (snapshot) {
    for (const auto& c : auth::clients(*snapshot)) registered.push_back(&c);
  }
  std::set<std::string_view> listed;
  json::array clients;
  auto add_client = [&](std::string_view name, const auth::client* entry) {
    if (!listed.insert(name).second) return;
    client_counts counts;
    if (auto it = current.clients.find(name); it != current.clients.end()) counts = it->second;
    double rejected_before = 0;
    if (auto it = hour_ago->clients.find(name); it != hour_ago->clients.end()) rejected_before = it->second.rejected;
    json::object c{{"name", name},
                   {"registered", entry != nullptr},
                   {"requests", whole(counts.requests)},
                   {"credits_spent", whole(counts.spent)},
                   {"credits_saved", whole(counts.saved)},
                   {"demand", whole(counts.demand)},
                   {"rejected", whole(counts.rejected)},
                   {"rejected_last_hour", whole(std::max(0.0, counts.rejected - rejected_before))}};
    json::value budget = nullptr;
    if (entry && entry->upstream_budget) {
      const auto& b = *entry->upstream_budget;
      json::object o{{"credits", b.credits}, {"window_seconds", b.window.count()}};
      if (sources_.budgets) {
        o["used"] = std::round(sources_.budgets->status(name, b).spent * 10) / 10;
        o["shared"] = false;
      } else {
        o["used"] = nullptr;  // kept in Redis, shared by the replicas
        o["shared"] = true;
      }
      budget = std::move(o);
    }
    c["budget"] = std::move(budget);
    clients.push_back(std::move(c));
  };
  for (const auto* entry : registered) add_client(entry->name, entry);
  for (const auto& [name, counts] : current.clients) add_client(name, nullptr);
  out["clients"] = std::move(clients);

  // Credentials: state and, per resource GitHub reported on, the limits.
  std::map<std::string, json::object, std::less<>> credentials;
  auto credential = [&](std::string_view name) -> json::object& {
    auto it = credentials.find(name);
    if (it == credentials.end()) {
      it = credentials.emplace(std::string(name), json::object{{"name", name}, {"state", "ok"}}).first;
      it->second["resources"] = json::object{};
    }
    return it->second;
  };
  if (const auto* f = find_family(families, "github_proxy_credential_state")) {
    for (const auto& m : f->metric) {
      if (m.gauge.value == 1) credential(label(m, "credential"))["state"] = label(m, "state");
    }
  }
  for (const auto& [family, field] : {std::pair{"github_proxy_rate_limit_remaining", "remaining"},
                                      std::pair{"github_proxy_rate_limit_limit", "limit"},
                                      std::pair{"github_proxy_rate_limit_used", "used"},
                                      std::pair{"github_proxy_rate_limit_reset_timestamp_seconds", "reset"}}) {
    const auto* f = find_family(families, family);
    if (!f) continue;
    for (const auto& m : f->metric) {
      auto& resources = credential(label(m, "credential"))["resources"].as_object();
      auto& r = resources[label(m, "resource")];
      if (!r.is_object()) r = json::object{};
      r.as_object()[field] = static_cast<std::int64_t>(m.gauge.value);
    }
  }
  json::array credential_list;
  for (auto& [name, c] : credentials) credential_list.push_back(std::move(c));
  out["credentials"] = std::move(credential_list);

  // The cache: outcomes of cacheable requests, and each store's size. A
  // fresh answer (under pressure, or in the confirm window) is answered from
  // the cache, as the hit-ratio alert counts it (deploy/prometheus/alerts.yaml).
  double hits = 0, cacheable = 0;
  sum_by(families, "github_proxy_requests_total", "cache", any_series, [&](std::string_view cache, double v) {
    const bool hit = cache == "hit" || cache == "coalesced" || cache == "fresh";
    if (hit) hits += v;
    if (hit || cache == "miss" || cache == "changed") cacheable += v;
  });
  json::object stores;
  sum_by(families, "github_proxy_cache_entries", "backend", any_series, [&](std::string_view backend, double v) {
    stores[backend].emplace_object()["entries"] = whole(v);
  });
  sum_by(families, "github_proxy_cache_bytes", "backend", any_series, [&](std::string_view backend, double v) {
    auto& s = stores[backend];
    if (!s.is_object()) s = json::object{};
    s.as_object()["bytes"] = whole(v);
  });
  // Against the newest sample at least a minute old (the start's, while
  // younger), so that the window is a minute or more, never a few seconds.
  const minute_sample* minute_ago = &minutes_.front();
  for (auto it = minutes_.rbegin(); it != minutes_.rend(); ++it) {
    if (now - it->at >= minute) {
      minute_ago = &*it;
      break;
    }
  }
  const double errors_last_minute = current.backend_errors - minute_ago->backend_errors;
  out["cache"] = json::object{
      {"hits", whole(hits)},
      {"cacheable", whole(cacheable)},
      {"hit_ratio", cacheable > 0 ? json::value(std::round(hits / cacheable * 1000) / 1000) : json::value(nullptr)},
      {"stores", std::move(stores)},
      {"backend_errors", whole(current.backend_errors)},
      // Healthy unless an operation failed in the last minute or two.
      {"healthy", errors_last_minute <= 0},
  };

  // Demand on one token, and the windows in which it would have run out.
  const auto totals = replay_.totals();
  json::array outages;
  if (const auto& w = replay_.current(); w && w->exhausted_at) {
    outages.push_back(window_json(*w, replay_.limit(), true));
  }
  const auto& past = replay_.past_outages();
  for (auto it = past.rbegin(); it != past.rend() && outages.size() < listed_outages; ++it) {
    outages.push_back(window_json(*it, replay_.limit(), false));
  }
  json::value current_window = nullptr;
  if (const auto& w = replay_.current()) current_window = window_json(*w, replay_.limit(), true);
  out["one_token"] = json::object{
      {"limit_per_hour", replay_.limit()},
      {"demand", totals.demand},
      {"windows", totals.windows},
      {"outages", totals.outages},
      {"exhausted_seconds", totals.exhausted.count()},
      {"refused", totals.refused},
      {"current_window", std::move(current_window)},
      {"recent_outages", std::move(outages)},
  };
  return out;
}

}  // namespace github_proxy::status
