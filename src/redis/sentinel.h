// Where a Sentinel-managed master is (redis-sentinel:// URLs).
//
// The sentinels are asked in turn, `SENTINEL get-master-addr-by-name`, and
// the first one that knows the master wins: a sentinel that is down, slow or
// does not know the name only costs the next one's turn. The answer is a
// candidate: the connection that dials it still checks with ROLE that it is
// a master (a sentinel may lag a failover by a moment), and goes back to the
// sentinels whenever the link drops, a write is refused with READONLY, or
// the sentinel that answered publishes +switch-master for this master (the
// connection subscribes to it: watch_switches). Without that a demoted
// master that stays up would take writes until Sentinel reconfigures it.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "redis/reconnect_fsm.h"
#include "redis/redis_url.h"
#include "redis/tls.h"

namespace spdlog {
class logger;
}

namespace github_proxy::redis {

struct located_master {
  server_address address;
  server_address sentinel;      // the one that answered
  std::size_t sentinel_index = 0;  // its place in target.servers
  std::string error;  // empty when `address` is set; never contains the password
  bool ok() const { return error.empty(); }
};

// Asks the sentinels in turn from `first` on (the one that answered last
// time, or the one after a sentinel whose answer proved stale), each within
// `per_sentinel`, so that one that drops packets costs only its own turn.
// Authenticates to each with the URL's credentials when it has any (a
// sentinel without a password refuses AUTH; the question is asked anyway).
boost::asio::awaitable<located_master> locate_master(boost::asio::any_io_executor executor, const endpoint& target,
                                                     std::shared_ptr<const tls_settings> tls,
                                                     std::chrono::milliseconds per_sentinel, std::size_t first);

// Subscribes to `sentinel`'s +switch-master channel and calls `switched`
// when it names `target.master_name`. The link returned (null if the
// sentinel cannot be reached before `deadline`) carries the subscription:
// closing it ends the watch.
boost::asio::awaitable<std::shared_ptr<class link>> watch_switches(boost::asio::any_io_executor executor,
                                                                    const endpoint& target, server_address sentinel,
                                                                    std::shared_ptr<const tls_settings> tls,
                                                                    link_clock::time_point deadline,
                                                                    std::function<void()> switched);

// Logs "the master of NAME is now at ADDRESS" once per change for the whole
// process, however many connections (threads, cache and budget ledger) find
// out: the first to see a new address logs it. A connection without a
// logger records nothing.
void note_master(const endpoint& target, const server_address& address, spdlog::logger* logger);

}  // namespace github_proxy::redis
