// One Redis connection on one I/O thread, reconnecting by itself.
//
// Commands are coroutines: `co_await conn.command({"GET", key})`. Several may
// be in flight at once (hiredis pipelines them, replies come back in order),
// up to `max_in_flight`. Each one completes within `command_timeout`:
//   - with the reply (Redis error replies included, as `reply::kind::error`);
//   - with store_error::timeout when Redis is slower; the late reply is
//     discarded when it arrives;
//   - with store_error::unavailable at once when the connection is not ready
//     (backing off, or reconnecting after a failure), is lost while the
//     command waits, or too many commands are in flight. Only during the
//     very first connection attempt do commands wait (within their timeout)
//     for it to succeed or fail, so that start-up does not fail requests.
// In the background the connection resolves the host, connects, sends
// AUTH/SELECT/PING, serves, and after a failure or a drop waits out an
// exponential backoff before trying again (`reconnect_fsm`).
//
// Threading: a connection and its commands belong to the executor's thread.
// Lifetime: the destructor never blocks. It frees the hiredis context (which
// closes the socket and completes the commands still waiting with
// `unavailable`) and stops reconnecting; the background coroutine ends on its
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

#include "redis/reconnect_fsm.h"
#include "redis/redis_url.h"
#include "redis/reply.h"

namespace spdlog {
class logger;
}

namespace github_proxy::redis {

struct connection_options {
  endpoint target;
  std::chrono::milliseconds command_timeout{200};
  reconnect_policy reconnect;
  std::size_t max_in_flight = 1024;
  std::shared_ptr<spdlog::logger> logger;  // null: silent
};

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

  link_state state() const;
  bool ready() const { return state() == link_state::ready; }
  std::size_t in_flight() const;

  class impl;

 private:
  std::shared_ptr<impl> impl_;  // shared with the background coroutine
};

}  // namespace github_proxy::redis
