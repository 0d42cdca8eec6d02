#include "credentials/redis_budget_ledger.h"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

#include "redis/redis_url.h"

namespace github_proxy::credentials {

namespace asio = boost::asio;

namespace {

// KEYS[1] current window, KEYS[2] previous window; ARGV[1] credits to add
// (0: only read), ARGV[2] TTL in seconds. Returns {previous, current}.
constexpr std::string_view budget_script = R"lua(
local add = tonumber(ARGV[1])
local current
if add > 0 then
  current = redis.call('INCRBY', KEYS[1], add)
  redis.call('EXPIRE', KEYS[1], ARGV[2])
else
  current = tonumber(redis.call('GET', KEYS[1]) or '0')
end
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
return {previous, current}
)lua";

// A key outlives its window by one more (as the previous window) and a minute.
constexpr std::int64_t ttl_slack_seconds = 60;

bool count_of(const redis::reply& r, std::uint64_t& out) {
  if (r.type != redis::reply::kind::integer || r.integer < 0) return false;
  out = static_cast<std::uint64_t>(r.integer);
  return true;
}

}  // namespace

// The two epoch-aligned windows around `now`, and their keys.
struct redis_budget_ledger::window {
  window(std::string_view prefix, std::string_view client, auth::budget limit, time_point now) {
    const std::int64_t length = std::max<std::int64_t>(limit.window.count(), 1);
    const std::int64_t epoch = to_epoch_seconds(now);
    const std::int64_t index = epoch / length;
    elapsed = std::chrono::seconds(epoch - index * length);
    std::string base;
    base.reserve(prefix.size() + client.size() + 32);
    base.append(prefix).append("budget:{").append(client).append("}:").append(std::to_string(length)).append(":");
    current_key = base + std::to_string(index);
    previous_key = base + std::to_string(index - 1);
    ttl = std::to_string(2 * length + ttl_slack_seconds);
  }

  std::chrono::seconds elapsed{0};
  std::string current_key;
  std::string previous_key;
  std::string ttl;
};

redis_ledger_settings redis_ledger_settings_from(const config::redis_cache_config& config) {
  redis_ledger_settings out;
  out.connection = redis::connection_options_from(config);
  out.key_prefix = config.key_prefix;
  return out;
}

redis_budget_ledger::redis_budget_ledger(asio::any_io_executor executor, const redis_ledger_settings& settings,
                                         const clock& time, memory_budget_ledger& fallback)
    : settings_(settings), clock_(time), fallback_(fallback) {
  connection_ = redis::make_client(std::move(executor), settings.connection);
}

redis_budget_ledger::~redis_budget_ledger() = default;

asio::awaitable<bool> redis_budget_ledger::run_script(const window& w, std::uint64_t add, std::uint64_t& previous,
                                                      std::uint64_t& current) {
  const std::string credits = std::to_string(add);
  const std::array<std::string_view, 7> argv{"EVAL", budget_script, "2", w.current_key, w.previous_key, credits,
                                             w.ttl};
  // Both keys carry the client's hash tag: one slot, one node in a cluster.
  const auto result = co_await connection_->command(w.current_key, argv);
  if (result.error || result.value.type != redis::reply::kind::array || result.value.elements.size() != 2) {
    co_return false;
  }
  co_return count_of(result.value.elements[0], previous) && count_of(result.value.elements[1], current);
}

asio::awaitable<budget_status> redis_budget_ledger::check(std::string_view client, auth::budget limit) {
  const window w(settings_.key_prefix, client, limit, clock_.now());
  std::uint64_t previous = 0;
  std::uint64_t current = 0;
  if (co_await run_script(w, 0, previous, current)) {
    co_return evaluate_budget(previous, current, limit, w.elapsed);
  }
  if (settings_.on_error) settings_.on_error("budget_check");
  co_return fallback_.status(client, limit);
}

asio::awaitable<budget_status> redis_budget_ledger::charge(std::string_view client, auth::budget limit,
                                                           std::uint64_t credits) {
  if (credits == 0) co_return co_await check(client, limit);
  const auto local = fallback_.add(client, limit, credits);  // keeps the fallback warm for an outage
  const window w(settings_.key_prefix, client, limit, clock_.now());
  std::uint64_t previous = 0;
  std::uint64_t current = 0;
  if (co_await run_script(w, credits, previous, current)) {
    co_return evaluate_budget(previous, current, limit, w.elapsed);
  }
  if (settings_.on_error) settings_.on_error("budget_charge");
  co_return local;
}

}  // namespace github_proxy::credentials
