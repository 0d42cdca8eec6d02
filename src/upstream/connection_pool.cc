#include "github_proxy/upstream/connection_pool.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include <openssl/ssl.h>

namespace github_proxy::upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A GitHub head is 1–2 KiB. Beast reads as much as the buffer holds, and a
// buffer grown from empty held ~1 KiB: every answer took two recv calls.
// Room for a whole head makes it one (bench/README.md).
constexpr std::size_t read_buffer_bytes = 8 * 1024;

connection::connection(beast::tcp_stream plain) : stream_(std::move(plain)) { buffer_.reserve(read_buffer_bytes); }
connection::connection(tls_stream tls) : stream_(std::move(tls)) { buffer_.reserve(read_buffer_bytes); }

beast::tcp_stream& connection::lowest_layer() {
  return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); },
                    stream_);
}

connection_pool::connection_pool(asio::any_io_executor executor, endpoint target,
                                 asio::ssl::context* tls_context, pool_limits limits)
    : executor_(std::move(executor)),
      target_(std::move(target)),
      tls_context_(tls_context),
      limits_(limits) {
  if (limits_.max_connections == 0) limits_.max_connections = 1;
}

// Waiters live in coroutine frames that their io_context destroys; by the
// time a pool is destroyed they are gone, so they are not touched here.
connection_pool::~connection_pool() = default;

void connection_pool::close_idle() {
  open_ -= idle_.size();
  idle_.clear();
}

asio::awaitable<acquired> connection_pool::acquire(std::chrono::steady_clock::time_point deadline,
                                                   bool fresh_only) {
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    // Drop idle connections the server has probably closed by now.
    while (!idle_.empty() && (fresh_only || now - idle_.front()->idle_since > limits_.idle_timeout)) {
      idle_.erase(idle_.begin());
      --open_;
    }
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      co_return acquired{std::move(conn), acquire_error::none, true};
    }
    if (open_ < limits_.max_connections) co_return co_await connect_new(deadline);

    // At the cap: queue until a connection comes back or the deadline passes.
    if (waiters_.size() >= limits_.max_waiters) co_return acquired{nullptr, acquire_error::queue_full};
    asio::steady_timer timer(executor_, deadline);
    // Queued for as long as this frame waits, however it ends: a frame
    // destroyed while waiting (its io_context shut down) leaves the queue
    // with its timer, so that a release from another frame's destructor
    // never wakes a freed timer.
    struct queued {
      std::deque<asio::steady_timer*>& waiters;
      asio::steady_timer* timer;
      ~queued() { std::erase(waiters, timer); }
    } in_queue{waiters_, &timer};
    waiters_.push_back(&timer);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (!ec) co_return acquired{nullptr, acquire_error::timeout};
    // Cancelled by release(): loop and take what was freed.
  }
}

asio::awaitable<acquired> connection_pool::connect_new(std::chrono::steady_clock::time_point deadline) {
  ++open_;  // reserve the slot while connecting
  struct slot_guard {
    connection_pool* pool;
    bool armed = true;
    ~slot_guard() {
      if (armed) {
        --pool->open_;
        pool->wake_one_waiter();
      }
    }
  } guard{this};

  const auto budget = std::min<std::chrono::steady_clock::duration>(
      limits_.connect_timeout, deadline - std::chrono::steady_clock::now());
  if (budget <= std::chrono::steady_clock::duration::zero()) co_return acquired{nullptr, acquire_error::timeout};

  tcp::resolver resolver(executor_);
  auto [rec, results] = co_await resolver.async_resolve(target_.host, target_.port, use_tuple);
  if (rec) co_return acquired{nullptr, acquire_error::resolve_failed};

  beast::tcp_stream tcp_stream(executor_);
  tcp_stream.expires_after(budget);
  auto [cec, ep] = co_await tcp_stream.async_connect(results, use_tuple);
  if (cec) {
    co_return acquired{nullptr, cec == beast::error::timeout ? acquire_error::timeout
                                                              : acquire_error::connect_failed};
  }
  tcp_stream.socket().set_option(tcp::no_delay(true));

  std::unique_ptr<connection> conn;
  if (target_.tls) {
    connection::tls_stream tls(std::move(tcp_stream), *tls_context_);
    // SNI, and verify the certificate names the host (RFC 6125).
    if (!SSL_set_tlsext_host_name(tls.native_handle(), target_.host.c_str())) {
      co_return acquired{nullptr, acquire_error::connect_failed};
    }
    tls.set_verify_callback(asio::ssl::host_name_verification(target_.host));
    auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (hec) {
      co_return acquired{nullptr, hec == beast::error::timeout ? acquire_error::timeout
                                                                : acquire_error::connect_failed};
    }
    conn = std::make_unique<connection>(std::move(tls));
  } else {
    conn = std::make_unique<connection>(std::move(tcp_stream));
  }
  guard.armed = false;
  co_return acquired{std::move(conn), acquire_error::none, false};
}

void connection_pool::release(std::unique_ptr<connection> conn, bool reusable) {
  if (!conn) return;
  if (reusable) {
    conn->idle_since = std::chrono::steady_clock::now();
    conn->lowest_layer().expires_never();
    idle_.push_back(std::move(conn));
  } else {
    beast::error_code ignored;
    conn->lowest_layer().socket().shutdown(tcp::socket::shutdown_both, ignored);
    conn.reset();
    --open_;
  }
  wake_one_waiter();
}

bool connection_pool::begin_stream() {
  if (streams_ >= limits_.max_streams) return false;
  ++streams_;
  --open_;
  wake_one_waiter();  // its slot among short requests is free now
  return true;
}

void connection_pool::end_stream() {
  --streams_;
  ++open_;  // release() settles it: kept idle, or closed and uncounted
}

void connection_pool::wake_one_waiter() {
  if (!waiters_.empty()) {
    auto* waiter = waiters_.front();
    waiters_.pop_front();
    waiter->cancel();
  }
}

}  // namespace github_proxy::upstream
