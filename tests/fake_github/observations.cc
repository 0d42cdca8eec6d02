#include "observations.h"

namespace fake_github {

void observations::counters::add(unsigned status, resource r, std::int64_t spent, bool refused_secondary) {
  ++requests;
  if (refused_secondary) ++secondary_limited;
  if (status == 200) ++status_200;
  if (status == 304) ++status_304;
  credits += static_cast<std::uint64_t>(spent);
  ++requests_by_resource[static_cast<std::size_t>(r)];
  credits_by_resource[static_cast<std::size_t>(r)] += static_cast<std::uint64_t>(spent);
  ++by_status[status];
}

boost::json::object observations::counters::to_json() const {
  boost::json::object by_resource, credits_by, statuses;
  for (std::size_t i = 0; i < resource_count; ++i) {
    auto r = static_cast<resource>(i);
    // The four common buckets are always listed, the rare ones once used.
    bool common = r == resource::core || r == resource::search || r == resource::code_search ||
                  r == resource::graphql;
    if (common || requests_by_resource[i] != 0) {
      by_resource[resource_name(r)] = requests_by_resource[i];
      credits_by[resource_name(r)] = credits_by_resource[i];
    }
  }
  for (auto [status, n] : by_status) statuses[std::to_string(status)] = n;
  return {{"requests", requests},
          {"status_200", status_200},
          {"status_304", status_304},
          {"credits", credits},
          {"secondary_limited", secondary_limited},
          {"by_resource", std::move(by_resource)},
          {"credits_by_resource", std::move(credits_by)},
          {"by_status", std::move(statuses)}};
}

void observations::record(request_record rec, std::string_view account, resource r,
                          std::int64_t credits, bool secondary_limited) {
  std::lock_guard lock(mutex_);
  auto it = accounts_.find(std::string(account));
  if (it == accounts_.end()) it = accounts_.emplace(std::string(account), counters{}).first;
  it->second.add(rec.status, r, credits, secondary_limited);
  total_.add(rec.status, r, credits, secondary_limited);
  if (capacity_ == 0) return;
  if (ring_.size() == capacity_) ring_.pop_front();
  ring_.push_back(std::move(rec));
}

boost::json::object observations::counters_json() const {
  std::lock_guard lock(mutex_);
  boost::json::object tokens;
  for (const auto& [name, c] : accounts_) tokens[name] = c.to_json();
  return {{"tokens", std::move(tokens)},
          {"total", total_.to_json()},
          {"secondary_limited", total_.secondary_limited}};
}

boost::json::array observations::requests_json(std::size_t limit) const {
  std::lock_guard lock(mutex_);
  boost::json::array out;
  std::size_t skip = ring_.size() > limit ? ring_.size() - limit : 0;
  for (auto it = ring_.begin() + static_cast<std::ptrdiff_t>(skip); it != ring_.end(); ++it) {
    boost::json::array headers;
    for (const auto& [name, value] : it->headers) headers.push_back(boost::json::array{name, value});
    out.push_back(boost::json::object{{"method", it->method},
                                      {"target", it->target},
                                      {"headers", std::move(headers)},
                                      {"body_sha256", it->body_sha256},
                                      {"body_length", it->body_length},
                                      {"status", it->status}});
  }
  return out;
}

void observations::clear_requests() {
  std::lock_guard lock(mutex_);
  ring_.clear();
}

void observations::reset() {
  std::lock_guard lock(mutex_);
  accounts_.clear();
  total_ = counters{};
  ring_.clear();
}

}  // namespace fake_github
