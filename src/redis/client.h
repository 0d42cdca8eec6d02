// Commands to whichever Redis server holds their key, in every topology of
// `cache.redis.url` (redis_url.h): one `connection` for a standalone or
// Sentinel-managed server; a slot map and one connection per node for a
// Redis Cluster (cluster.h). The stores and the budget ledger speak to this.
//
// Threading and lifetime: as `connection`'s. A client lives on its
// executor's thread; commands may outlive it (they hold what they use).
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "redis/connection.h"

namespace github_proxy::redis {

class client {
 public:
  virtual ~client() = default;

  // `key` is the command's (first) key: it picks the node in a cluster. A
  // command with several keys must keep them in one slot (hash tags).
  virtual boost::asio::awaitable<command_result> command(std::string_view key,
                                                         std::span<const std::string_view> argv) = 0;

  // A keyless command (DBSIZE, INFO) on every master: one result each.
  virtual boost::asio::awaitable<std::vector<command_result>> on_every_master(
      std::span<const std::string_view> argv) = 0;
};

// By `options.target.mode`. Starts connecting in the background.
std::shared_ptr<client> make_client(boost::asio::any_io_executor executor, connection_options options);

}  // namespace github_proxy::redis
