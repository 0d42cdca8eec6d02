#include "redis/redis_store.h"

#include <array>
#include <atomic>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/asio/co_spawn.hpp>

#include "redis/client.h"
#include "redis/redis_url.h"
#include "common/log_escaped.h"

namespace github_proxy::redis {

namespace asio = boost::asio;
using cache::store_error;

namespace {

// Redis refuses bulk strings over proto-max-bulk-len (512 MiB by default).
constexpr std::size_t max_value_bytes = 512ull * 1024 * 1024;

// The gauges' numbers, shared by all handles and the samples they start.
struct shared_stats {
  explicit shared_stats(std::chrono::milliseconds every) : interval(every) {}

  // True for the one caller that should take the next sample.
  bool claim(link_clock::time_point now) {
    auto due = next_sample.load(std::memory_order_relaxed);
    if (now.time_since_epoch().count() < due) return false;
    return next_sample.compare_exchange_strong(due, (now + interval).time_since_epoch().count());
  }

  const std::chrono::milliseconds interval;
  std::atomic<link_clock::rep> next_sample{0};
  std::atomic<std::size_t> entries{0};
  std::atomic<std::size_t> bytes{0};
};

// The `used_memory:1234` line of INFO memory; nullopt if absent.
std::optional<std::size_t> used_memory(std::string_view info) {
  constexpr std::string_view field = "used_memory:";
  while (!info.empty()) {
    const auto end_of_line = info.find('\n');
    std::string_view line = info.substr(0, end_of_line);
    if (line.starts_with(field)) {
      line.remove_prefix(field.size());
      std::size_t value = 0;
      auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), value);
      if (ec != std::errc{} || end == line.data()) return std::nullopt;
      return value;
    }
    info.remove_prefix(end_of_line == std::string_view::npos ? info.size() : end_of_line + 1);
  }
  return std::nullopt;
}

// Holds the client until the answers are in (at most two timeouts per master).
// A cluster's numbers are the sum over its masters.
asio::awaitable<void> sample_stats(std::shared_ptr<client> conn, std::shared_ptr<shared_stats> stats) {
  const std::array<std::string_view, 1> dbsize_argv{"DBSIZE"};
  std::size_t entries = 0;
  bool all = true;
  const auto sizes = co_await conn->on_every_master(dbsize_argv);
  for (const auto& dbsize : sizes) {
    all = all && !dbsize.error && dbsize.value.type == reply::kind::integer && dbsize.value.integer >= 0;
    if (all) entries += static_cast<std::size_t>(dbsize.value.integer);
  }
  if (all) stats->entries = entries;
  const std::array<std::string_view, 2> info_argv{"INFO", "memory"};
  std::size_t bytes = 0;
  all = true;
  const auto infos = co_await conn->on_every_master(info_argv);
  for (const auto& info : infos) {
    std::optional<std::size_t> used;
    if (!info.error && info.value.type == reply::kind::string) used = used_memory(info.value.text);
    all = all && used;
    if (all) bytes += *used;
  }
  if (all) stats->bytes = bytes;
}

// What every handle of one backend shares. Owned by the backend.
struct backend_settings {
  connection_options connection;
  std::string key_prefix;
  std::chrono::milliseconds default_ttl;
  backend_hooks hooks;
  std::shared_ptr<shared_stats> stats;
};

class redis_store final : public cache::cache_store {
 public:
  redis_store(asio::any_io_executor executor, const backend_settings& settings)
      : executor_(executor),
        settings_(settings),
        connection_(make_client(std::move(executor), settings.connection)) {}

  asio::awaitable<cache::get_result> get(std::string_view key) override {
    const std::string full_key = prefixed(key);
    const std::array<std::string_view, 2> argv{"GET", full_key};
    auto result = co_await connection_->command(full_key, argv);
    after_operation();
    const reply& value = result.value;
    boost::system::error_code ec = result.error;
    if (!ec && value.type == reply::kind::nil) co_return cache::get_result{};  // a miss
    if (!ec && value.type == reply::kind::string) {
      co_return cache::get_result{std::make_shared<const std::string>(std::move(result.value.text)), {}};
    }
    if (!ec) ec = error_from_reply(value);
    failed("get");
    co_return cache::get_result{nullptr, ec};
  }

  asio::awaitable<boost::system::error_code> put(std::string_view key, std::string value,
                                                 std::chrono::seconds ttl) override {
    if (value.size() > max_value_bytes) co_return make_error_code(store_error::too_large);
    const auto ttl_ms = ttl.count() > 0 ? std::chrono::duration_cast<std::chrono::milliseconds>(ttl)
                                        : settings_.default_ttl;
    const std::string px = std::to_string(ttl_ms.count());
    const std::string full_key = prefixed(key);
    const std::array<std::string_view, 5> argv{"SET", full_key, value, "PX", px};
    // A configured TTL of 0: no PX, kept until evicted.
    const std::size_t argc = ttl_ms.count() > 0 ? 5 : 3;
    auto result = co_await connection_->command(full_key, std::span(argv.data(), argc));
    after_operation();
    co_return check(result, "put", [](const reply& r) { return r.is_status("OK"); });
  }

  asio::awaitable<boost::system::error_code> erase(std::string_view key) override {
    const std::string full_key = prefixed(key);
    const std::array<std::string_view, 2> argv{"DEL", full_key};
    auto result = co_await connection_->command(full_key, argv);
    after_operation();
    co_return check(result, "erase", [](const reply& r) { return r.type == reply::kind::integer; });
  }

 private:
  std::string prefixed(std::string_view key) const {
    std::string full;
    full.reserve(settings_.key_prefix.size() + key.size());
    full.append(settings_.key_prefix).append(key);
    return full;
  }

  // A Redis error reply as a store error: WRONGTYPE (someone else's value
  // under our key) reads as corrupt; OOM, READONLY, LOADING... as unavailable.
  static boost::system::error_code error_from_reply(const reply& r) {
    if (r.is_error() && !r.text.starts_with("WRONGTYPE")) return make_error_code(store_error::unavailable);
    return make_error_code(store_error::corrupt);
  }

  template <typename Expected>
  boost::system::error_code check(const command_result& result, std::string_view op, Expected expected) {
    boost::system::error_code ec = result.error;
    if (!ec && !expected(result.value)) ec = error_from_reply(result.value);
    if (ec) failed(op);
    return ec;
  }

  void failed(std::string_view op) const {
    if (settings_.hooks.on_error) settings_.hooks.on_error(op);
  }

  void after_operation() {
    if (!settings_.stats->claim(link_clock::now())) return;
    asio::co_spawn(executor_, sample_stats(connection_, settings_.stats),
                   common::log_escaped("Redis cache stats sampler"));
  }

  asio::any_io_executor executor_;
  const backend_settings& settings_;
  std::shared_ptr<client> connection_;  // shared with stats samples in flight
};

class redis_backend final : public cache::cache_backend {
 public:
  redis_backend(const config::redis_cache_config& config, backend_hooks hooks, backend_tuning tuning) {
    settings_.connection = connection_options_from(config);
    settings_.connection.reconnect = tuning.reconnect;
    settings_.connection.max_in_flight = tuning.max_in_flight;
    settings_.connection.logger = hooks.logger;
    settings_.key_prefix = config.key_prefix;
    settings_.default_ttl = config.ttl;
    settings_.hooks = std::move(hooks);
    settings_.stats = std::make_shared<shared_stats>(tuning.stats_interval);
  }

  std::unique_ptr<cache::cache_store> for_thread(asio::any_io_executor executor) override {
    return std::make_unique<redis_store>(std::move(executor), settings_);
  }

  cache::store_stats stats() const override {
    return {settings_.stats->entries.load(std::memory_order_relaxed),
            settings_.stats->bytes.load(std::memory_order_relaxed)};
  }

  std::string_view name() const override { return "redis"; }

 private:
  backend_settings settings_;
};

}  // namespace

std::unique_ptr<cache::cache_backend> make_redis_backend(const config::redis_cache_config& config,
                                                         backend_hooks hooks, backend_tuning tuning) {
  return std::make_unique<redis_backend>(config, std::move(hooks), tuning);
}

std::unique_ptr<cache::cache_backend> make_redis_backend(const config::redis_cache_config& config,
                                                         backend_hooks hooks) {
  return make_redis_backend(config, std::move(hooks), backend_tuning{});
}

}  // namespace github_proxy::redis
