#include "github_proxy/credentials/budget.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace github_proxy::credentials {

namespace {

constexpr std::size_t shard_count = 16;

// Two adjacent epoch-aligned windows of one client.
struct window_counter {
  std::int64_t window_seconds = 0;  // the budget's window these counts belong to
  std::int64_t index = 0;           // epoch / window of the current window
  std::uint64_t previous = 0;
  std::uint64_t current = 0;
};

struct name_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view name) const { return std::hash<std::string_view>{}(name); }
};

// Moves the counter to the window containing `now`; returns the time
// elapsed in it.
std::chrono::seconds roll(window_counter& c, time_point now, std::chrono::seconds window) {
  const std::int64_t length = std::max<std::int64_t>(window.count(), 1);
  const std::int64_t epoch = to_epoch_seconds(now);
  const std::int64_t index = epoch / length;
  if (c.window_seconds != length) {
    c = window_counter{length, index, 0, 0};
  } else if (index == c.index + 1) {
    c.previous = c.current;
    c.current = 0;
    c.index = index;
  } else if (index != c.index) {
    c.previous = c.current = 0;  // idle for more than a window (or the clock went back)
    c.index = index;
  }
  return std::chrono::seconds(epoch - index * length);
}

}  // namespace

struct memory_budget_ledger::shard {
  std::mutex mutex;
  std::unordered_map<std::string, window_counter, name_hash, std::equal_to<>> clients;
};

budget_status evaluate_budget(std::uint64_t previous, std::uint64_t current, auth::budget limit,
                              std::chrono::seconds elapsed) {
  const double window = static_cast<double>(std::max<std::int64_t>(limit.window.count(), 1));
  const double e = std::clamp(static_cast<double>(elapsed.count()), 0.0, window);
  const double credits = static_cast<double>(limit.credits);
  budget_status out;
  out.spent = static_cast<double>(previous) * (window - e) / window + static_cast<double>(current);
  out.exceeded = out.spent >= credits;
  const auto left = static_cast<std::int64_t>(std::ceil(window - e));
  const auto whole = static_cast<std::int64_t>(window);
  if (current > 0) {
    out.unspent_after = std::chrono::seconds(left + whole);
  } else if (previous > 0 && left > 0) {
    out.unspent_after = std::chrono::seconds(left);
  } else {
    out.unspent_after = std::chrono::seconds(whole);
  }
  if (!out.exceeded) return out;
  if (limit.credits == 0) {
    out.retry_after = limit.window;  // nothing is ever allowed: ask again after a window
    return out;
  }
  double wait = 0;
  if (static_cast<double>(current) >= credits) {
    // Wait for the next window; there the current count becomes the
    // previous one and must decay below the budget: the first whole second
    // t with current × (W − t)/W < credits.
    const double decay = std::floor(window * (static_cast<double>(current) - credits) /
                                    static_cast<double>(current)) + 1;
    wait = (window - e) + decay;
  } else {
    // previous × (W − t)/W + current < credits for the first whole second t.
    const double t = std::floor(window * (static_cast<double>(previous + current) - credits) /
                                static_cast<double>(previous)) + 1;
    wait = t - e;
  }
  out.retry_after = std::chrono::seconds(std::max<std::int64_t>(static_cast<std::int64_t>(wait), 1));
  return out;
}

memory_budget_ledger::memory_budget_ledger(const clock& time)
    : clock_(time), shards_(std::make_unique<shard[]>(shard_count)) {}

memory_budget_ledger::~memory_budget_ledger() = default;

memory_budget_ledger::shard& memory_budget_ledger::shard_for(std::string_view client) {
  return shards_[name_hash{}(client) % shard_count];
}

budget_status memory_budget_ledger::status(std::string_view client, auth::budget limit) {
  const auto now = clock_.now();
  auto& s = shard_for(client);
  const std::lock_guard lock(s.mutex);
  const auto it = s.clients.find(client);
  if (it == s.clients.end()) return evaluate_budget(0, 0, limit, std::chrono::seconds(0));
  const auto elapsed = roll(it->second, now, limit.window);
  return evaluate_budget(it->second.previous, it->second.current, limit, elapsed);
}

budget_status memory_budget_ledger::add(std::string_view client, auth::budget limit, std::uint64_t credits) {
  if (credits == 0) return status(client, limit);
  const auto now = clock_.now();
  auto& s = shard_for(client);
  const std::lock_guard lock(s.mutex);
  auto it = s.clients.find(client);
  if (it == s.clients.end()) it = s.clients.emplace(std::string(client), window_counter{}).first;
  const auto elapsed = roll(it->second, now, limit.window);
  it->second.current += credits;
  return evaluate_budget(it->second.previous, it->second.current, limit, elapsed);
}

boost::asio::awaitable<budget_status> memory_budget_ledger::check(std::string_view client,
                                                                  auth::budget limit) {
  co_return status(client, limit);
}

boost::asio::awaitable<budget_status> memory_budget_ledger::charge(std::string_view client, auth::budget limit,
                                                                   std::uint64_t credits) {
  co_return add(client, limit, credits);
}

void memory_budget_ledger::retain_only(const std::vector<auth::client>& clients) {
  std::unordered_set<std::string_view> keep;
  for (const auto& c : clients) keep.insert(c.name);
  for (std::size_t i = 0; i < shard_count; ++i) {
    const std::lock_guard lock(shards_[i].mutex);
    std::erase_if(shards_[i].clients, [&](const auto& entry) { return !keep.contains(entry.first); });
  }
}

}  // namespace github_proxy::credentials
