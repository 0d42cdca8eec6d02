// Per-client upstream budgets shared by every replica (budget.h), kept in
// Redis next to the cache (cache.backend: redis).
//
// The same sliding-window counter as memory_budget_ledger, on two keys per
// client and window:
//   <prefix>budget:{<client>}:<window seconds>:<window index>
// (the `{client}` hash tag keeps both keys of a client in one Redis Cluster
// slot). One Lua script per call, atomic on the server: charge = INCRBY the
// current window's key + EXPIRE (two windows and a minute, so it outlives
// its turn as the "previous" window), then read both counts; check = read
// both. The estimate and the refusal are evaluate_budget's, as in memory.
// Windows are cut by the proxy's clock (replicas keep NTP time; a second of
// disagreement moves a window boundary by a second).
//
// Redis down or slow (its `timeout`): the call answers from `fallback`, an
// in-process ledger that every charge also feeds, so an outage degrades to
// per-replica budgets instead of failing requests or granting unlimited
// credits. Each failure is reported to `on_error` (op "budget_check" or
// "budget_charge").
//
// Threading: like a cache_store, one ledger per I/O thread, holding one
// connection on that thread's executor; use it from that thread only. The
// fallback and the settings are shared and must outlive the ledgers.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "github_proxy/config/config.h"
#include "github_proxy/credentials/budget.h"
#include "redis/client.h"

namespace github_proxy::credentials {

struct redis_ledger_settings {
  redis::connection_options connection;  // target, command_timeout, reconnect
  std::string key_prefix = "ghp:";
  std::function<void(std::string_view op)> on_error;  // thread-safe; may be empty
};

// From cache.redis (url, key_prefix, timeout). Throws std::invalid_argument
// for an unusable URL (the message never contains the password).
redis_ledger_settings redis_ledger_settings_from(const config::redis_cache_config& config);

class redis_budget_ledger final : public budget_ledger {
 public:
  redis_budget_ledger(boost::asio::any_io_executor executor, const redis_ledger_settings& settings,
                      const clock& time, memory_budget_ledger& fallback);
  ~redis_budget_ledger() override;

  boost::asio::awaitable<budget_status> check(std::string_view client, auth::budget limit) override;
  boost::asio::awaitable<budget_status> charge(std::string_view client, auth::budget limit,
                                               std::uint64_t credits) override;

 private:
  struct window;
  // Runs the script; false when Redis did not answer with two counts.
  boost::asio::awaitable<bool> run_script(const window& w, std::uint64_t add, std::uint64_t& previous,
                                          std::uint64_t& current);

  const redis_ledger_settings& settings_;
  const clock& clock_;
  memory_budget_ledger& fallback_;
  std::shared_ptr<redis::client> connection_;
};

}  // namespace github_proxy::credentials
