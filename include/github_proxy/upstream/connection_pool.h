// Keep-alive connections to one upstream origin.
//
// Threading: a pool belongs to one I/O thread (one io_context) and is used
// only from it, so it needs no lock; each thread has its own pool, with the
// configured per-host connection cap divided between threads.
// Lifetime: connections handed out by `acquire` must be given back with
// `release` (or dropped when broken) before the pool is destroyed.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <variant>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "github_proxy/upstream/endpoint.h"

namespace github_proxy::upstream {

// One HTTP/1.1 connection, plain or TLS. Reads and writes are done through
// `visit`, which hands the concrete stream to a generic coroutine, so that
// the HTTP code is written once for both.
class connection {
 public:
  using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  explicit connection(boost::beast::tcp_stream plain);
  explicit connection(tls_stream tls);

  template <class F>
  decltype(auto) visit(F&& f) {
    return std::visit(std::forward<F>(f), stream_);
  }
  boost::beast::tcp_stream& lowest_layer();
  boost::beast::flat_buffer& buffer() { return buffer_; }

  // Requests answered on this connection so far (0 = fresh).
  std::size_t uses = 0;
  std::chrono::steady_clock::time_point idle_since{};

 private:
  std::variant<boost::beast::tcp_stream, tls_stream> stream_;
  boost::beast::flat_buffer buffer_;
};

struct pool_limits {
  std::size_t max_connections = 64;  // this thread's share
  // Connections relaying a long transfer (see begin_stream), counted apart
  // so that large downloads never hold the slots of short requests.
  std::size_t max_streams = 64;
  std::size_t max_waiters = 4096;    // requests queued for a connection
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds idle_timeout{30000};  // close idle connections older than this
};

enum class acquire_error { none, timeout, connect_failed, queue_full, resolve_failed };

struct acquired {
  std::unique_ptr<connection> conn;
  acquire_error error = acquire_error::none;
  bool reused = false;
};

class connection_pool {
 public:
  connection_pool(boost::asio::any_io_executor executor, endpoint target,
                  boost::asio::ssl::context* tls_context, pool_limits limits);
  ~connection_pool();
  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;

  // An idle connection, or a new one, or waits (until `deadline`) for one to
  // be released when the cap is reached.
  boost::asio::awaitable<acquired> acquire(std::chrono::steady_clock::time_point deadline,
                                           bool fresh_only = false);
  // Gives a connection back; kept for reuse when `reusable`.
  void release(std::unique_ptr<connection> conn, bool reusable);

  // A connection handed out by `acquire` is about to relay a long transfer:
  // from now on it counts against max_streams instead of max_connections
  // (a waiting short request may take its slot). False, and nothing
  // changes, when max_streams connections are streaming already. Call
  // end_stream before giving the connection back with `release`.
  bool begin_stream();
  void end_stream();

  // Closes the idle connections (at shutdown, while the io_context lives).
  void close_idle();

  const endpoint& target() const { return target_; }
  std::size_t open_connections() const { return open_; }
  std::size_t streaming_connections() const { return streams_; }
  std::size_t idle_connections() const { return idle_.size(); }
  std::size_t waiting_requests() const { return waiters_.size(); }

 private:
  boost::asio::awaitable<acquired> connect_new(std::chrono::steady_clock::time_point deadline);
  void wake_one_waiter();

  boost::asio::any_io_executor executor_;
  endpoint target_;
  boost::asio::ssl::context* tls_context_;
  pool_limits limits_;
  std::vector<std::unique_ptr<connection>> idle_;  // LIFO: the warmest first
  std::deque<boost::asio::steady_timer*> waiters_;
  std::size_t open_ = 0;  // idle + in use + connecting, streams excepted
  std::size_t streams_ = 0;
};

}  // namespace github_proxy::upstream
