// One Redis connection on one I/O thread, reconnecting by itself.
//
// Commands are coroutines: `co_await conn.command({"GET", key})`. Several may
// be in flight at once (pipelined on one `link`, replies come back in order),
// up to `max_in_flight`. Each one completes within `command_timeout`:
//   - with the reply (Redis error replies included, as `reply::kind::error`);
//   - with store_error::timeout when Redis is slower; the late reply is
//     discarded when it arrives;
//   - with store_error::unavailable at once when the connection is not ready
//     (backing off, or reconnecting after a failure), is lost while the
//     command waits, or too many commands are in flight. Only during the
//     very first connection attempt do commands wait (within their timeout)
//     for it to succeed or fail, so that start-up does not fail requests.
// In the background the connection finds the server (the URL's host, or the
// master its sentinels name: sentinel.h), connects (TLS when the URL says
// rediss), sends AUTH/SELECT/ROLE/PING, serves, and after a failure or a drop
// waits out an exponential backoff before trying again (`reconnect_fsm`).
// A link that answers nothing for three command timeouts (at least 1 s)
// while commands wait is dropped: a frozen server or a vanished host is
// noticed in seconds, not when TCP gives up.
// ROLE refuses a replica: the proxy never writes to one. (A user whose ACL
// forbids ROLE is not refused for that.) Under Sentinel a READONLY reply
// also drops the link, so that the next attempt asks the sentinels again.
//
// Threading: a connection and its commands belong to the executor's thread.
// Lifetime: the destructor never blocks. It closes the link (which completes
// the commands still waiting with `unavailable`) and stops reconnecting; the background coroutine ends on its
// next turn. The connection may go while commands are outstanding: they
// share its internals until they complete. Destroy it on its executor's
// thread, or once that io_context has stopped.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "github_proxy/config/config.h"
#include "redis/reconnect_fsm.h"
#include "redis/redis_url.h"
#include "redis/reply.h"
#include "redis/tls.h"

namespace spdlog {
class logger;
}

namespace github_proxy::redis {

struct connection_options {
  // Standalone: servers[0] is dialled; Sentinel: the sentinels are asked.
  // (A cluster's node connections are standalone targets: cluster.h.)
  endpoint target;
  std::shared_ptr<const tls_settings> tls;  // set for rediss:// (target.tls)
  std::chrono::milliseconds command_timeout{200};
  reconnect_policy reconnect;
  std::size_t max_in_flight = 1024;
  std::shared_ptr<spdlog::logger> logger;  // null: silent
};

// From cache.redis (url, tls, timeout). Throws std::invalid_argument for an
// unusable URL or TLS file; the message never contains the password.
connection_options connection_options_from(const config::redis_cache_config& config);

class connection {
 public:
  // Starts connecting in the background.
  connection(boost::asio::any_io_executor executor, connection_options options);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Binary-safe arguments, which must stay valid until the command completes.
  // (No initializer_list overload: GCC 12 rejects a braced list that lives
  // across a co_await — "array used as initializer". Use a std::array.)
  boost::asio::awaitable<command_result> command(std::span<const std::string_view> argv);
  // The same, right behind an ASKING on this connection (a cluster's ASK redirect).
  boost::asio::awaitable<command_result> command_after_asking(std::span<const std::string_view> argv);

  link_state state() const;
  bool ready() const { return state() == link_state::ready; }
  std::size_t in_flight() const;

  class impl;

 private:
  std::shared_ptr<impl> impl_;  // shared with the background coroutine
};

}  // namespace github_proxy::redis
