#include "server/body_budget.h"

#include <algorithm>
#include <functional>

namespace github_proxy::server {

body_budget::body_budget(limits bounds)
    : total_limit_(bounds.total), per_client_limit_(std::min(bounds.per_client, bounds.total)) {}

body_budget::limits body_budget::for_server(std::size_t max_body_bytes, std::size_t threads) {
  const std::size_t total =
      std::max<std::size_t>(256ull << 20, 4 * max_body_bytes * std::max<std::size_t>(threads, 1));
  return {total, std::max(total / 4, max_body_bytes)};
}

body_budget::shard& body_budget::shard_of(std::string_view client) const {
  return shards_[name_hash{}(client) % shards_.size()];
}

body_budget::verdict body_budget::take(std::string_view client, std::size_t bytes) {
  auto& s = shard_of(client);
  {
    const std::lock_guard lock(s.mutex);
    auto it = s.held.find(client);
    const std::size_t held = it == s.held.end() ? 0 : it->second;
    if (bytes > per_client_limit_ - held) return verdict::over_client_share;
    if (it == s.held.end()) it = s.held.emplace(std::string(client), 0).first;
    it->second += bytes;
  }
  const auto before = in_flight_.fetch_add(bytes, std::memory_order_relaxed);
  if (before + bytes > total_limit_) {
    in_flight_.fetch_sub(bytes, std::memory_order_relaxed);
    give_back_share(client, bytes);
    return verdict::over_total;
  }
  return verdict::taken;
}

void body_budget::give_back(std::string_view client, std::size_t bytes) {
  if (bytes == 0) return;
  in_flight_.fetch_sub(bytes, std::memory_order_relaxed);
  give_back_share(client, bytes);
}

void body_budget::give_back_share(std::string_view client, std::size_t bytes) {
  auto& s = shard_of(client);
  const std::lock_guard lock(s.mutex);
  const auto it = s.held.find(client);
  if (it == s.held.end()) return;  // unmatched: ignore rather than underflow
  it->second -= std::min(bytes, it->second);
  if (it->second == 0) s.held.erase(it);
}

std::size_t body_budget::in_flight(std::string_view client) const {
  auto& s = shard_of(client);
  const std::lock_guard lock(s.mutex);
  const auto it = s.held.find(client);
  return it == s.held.end() ? 0 : it->second;
}

}  // namespace github_proxy::server
