// connection_pool: the queue of requests waiting for a connection at the cap.
#include "github_proxy/upstream/connection_pool.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

namespace github_proxy::upstream {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

// An io_context whose pending handlers (coroutine frames) can be destroyed
// while it still exists, as the server does at shutdown (server.cc).
class frames_context : public asio::io_context {
 public:
  using io_context::io_context;
  void destroy_frames() { shutdown(); }
};

endpoint plain_endpoint(unsigned short port) {
  const auto authority = "127.0.0.1:" + std::to_string(port);
  return endpoint{false, "127.0.0.1", std::to_string(port), authority, "http://" + authority, ""};
}

// A request queued for a connection whose frame is destroyed while it waits
// (shutdown gave up on it) leaves the queue: a connection released later,
// by another frame's destructor, must not wake its freed timer (issue 20:
// a heap-use-after-free under ASan, a dangling queue entry without).
TEST(ConnectionPool, AWaiterDestroyedWithItsFrameLeavesTheQueue) {
  frames_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket accepted(io);
  acceptor.async_accept(accepted, [](const boost::system::error_code&) {});
  connection_pool pool(io.get_executor(), plain_endpoint(acceptor.local_endpoint().port()), nullptr,
                       pool_limits{.max_connections = 1});

  std::unique_ptr<connection> held;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        held = (co_await pool.acquire(steady::now() + std::chrono::seconds(10))).conn;
      },
      asio::detached);
  for (int i = 0; i < 1000 && !held; ++i) io.run_one_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(held) << "the first request connects";

  std::optional<acquired> waited;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> { waited = co_await pool.acquire(steady::now() + std::chrono::hours(1)); },
      asio::detached);
  io.poll();
  ASSERT_FALSE(waited) << "the second request waits at the cap";
  ASSERT_EQ(pool.waiting_requests(), 1u);

  io.destroy_frames();
  EXPECT_FALSE(waited);
  EXPECT_EQ(pool.waiting_requests(), 0u) << "the destroyed frame's timer is still queued";
  pool.release(std::move(held), false);  // wakes nobody
  EXPECT_EQ(pool.open_connections(), 0u);
}

}  // namespace
}  // namespace github_proxy::upstream
