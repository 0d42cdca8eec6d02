// GitHub's secondary limits shared by every replica (docs/contract.md §7
// "Secondary limits"), through the Redis of the cache (cache.backend: redis),
// as budgets are (redis_budget_ledger.h).
//
// Each replica counts its own spending per credential (secondary_limits.h)
// and, every `interval` (a second), publishes it and reads the others' in
// one Lua script on one hash:
//   <prefix>secondary   field "<replica>|<credential>"
//                       value "<ms> <rest> <graphql> <content/min> <content/h> <filled>"
// The script stamps each value with Redis's own clock (TIME, so replicas'
// clocks need not agree), drops values older than `stale_after` (a replica
// that stopped: a minute, GitHub's window), and answers every other replica's fields. The pool then
// counts the others' usage against each credential's share until the next
// exchange: no round trip on the request path, and a replica learns the
// others' last second at most one interval late, which the share's margin
// covers.
//
// Redis down: the others' last usage is kept for `stale_after`, then
// dropped (each replica counts alone: degraded, never stopped); each failed
// exchange is reported to `on_error` (op "secondary_exchange").
//
// Threading: run() on one executor; the pool is thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "credentials/redis_budget_ledger.h"
#include "github_proxy/credentials/pool.h"
#include "github_proxy/credentials/secondary_limits.h"
#include "redis/reply.h"

namespace github_proxy::credentials {

// The value one replica publishes for one credential (without the stamp the
// script adds), and back.
std::string encode_secondary_usage(const secondary_usage& u);

// The other replicas' usage per credential of `names` (config order), summed
// over replicas, from the script's answer: [field, value, field, value, …]
// with values "<ms> <rest> <graphql> <content/min> <content/h> <filled>".
// Unknown credentials and malformed values are skipped; at most
// `max_fields` fields are read.
inline constexpr std::size_t max_exchange_fields = 16384;
std::vector<secondary_usage> others_from_reply(const redis::reply& answer, std::span<const std::string_view> names);

class secondary_exchange {
 public:
  secondary_exchange(boost::asio::any_io_executor executor, const redis_ledger_settings& settings, pool& credentials,
                     std::string replica_id);
  ~secondary_exchange();

  // One exchange: publish, read, hand the others' usage to the pool. False
  // when Redis did not answer (reported to on_error).
  boost::asio::awaitable<bool> exchange_once();
  // Every `interval` until the executor stops.
  boost::asio::awaitable<void> run(std::chrono::milliseconds interval);

  // A replica that stopped (or restarted under a new id) keeps counting for
  // a minute with its last usage: its points leave GitHub's window no
  // sooner than that.
  static constexpr std::chrono::milliseconds stale_after{60'000};

 private:
  const redis_ledger_settings& settings_;
  pool& pool_;
  const std::string replica_;
  const std::string key_;
  std::vector<std::string_view> names_;
  std::shared_ptr<redis::client> connection_;
  std::chrono::steady_clock::time_point last_success_{};
};

// A random id for this replica's fields (16 hex characters).
std::string make_replica_id();

}  // namespace github_proxy::credentials
