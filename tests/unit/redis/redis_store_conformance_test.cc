// The Redis backend against the conformance suite, on a real redis-server
// started once for the suite on a free loopback port.
//
// The suite's run() drives the test's io_context until it runs out of work.
// A Redis handle never lets that happen: its connection always waits on its
// socket (and on its reconnect timer). So each handle the suite asks for
// lives on an I/O thread of its own, as in the daemon, and a thin wrapper
// forwards every operation there and resumes the suite on its executor.
// (With a run() that stops when the task completes, the wrapper could go.)
// Redis' clock cannot be driven: the TTL tests are skipped here and covered
// with PTTL in redis_store_test.cc.
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "conformance/cache_store_conformance.h"
#include "github_proxy/redis/redis_backend.h"
#include "support/redis_server.h"

namespace github_proxy::cache {
namespace {

namespace asio = boost::asio;
using conformance::CacheStoreConformance;

// One io_context on one thread, like one of the daemon's I/O threads.
class io_thread {
 public:
  io_thread() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~io_thread() {
    work_.reset();  // returns once the handles' background work has ended
    thread_.join();
  }
  asio::any_io_executor executor() { return io_.get_executor(); }

  // Runs `f` on the thread and waits for it.
  template <typename F>
  auto call(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

class threaded_store final : public cache_store {
 public:
  explicit threaded_store(cache_backend& backend)
      : store_(thread_.call([&] { return backend.for_thread(thread_.executor()); })) {}
  ~threaded_store() override {
    thread_.call([this] {
      store_.reset();
      return 0;
    });
  }

  // Each operation's coroutine is created here and runs on thread_. (Not a
  // lambda that captures the value: GCC 12 miscompiles a moved std::string
  // init-capture in a lambda built inside a coroutine.)
  asio::awaitable<get_result> get(std::string_view key) override {
    co_return co_await asio::co_spawn(thread_.executor(), store_->get(key), asio::use_awaitable);
  }
  asio::awaitable<boost::system::error_code> put(std::string_view key, std::string value,
                                                 std::chrono::seconds ttl) override {
    co_return co_await asio::co_spawn(thread_.executor(), store_->put(key, std::move(value), ttl),
                                      asio::use_awaitable);
  }
  asio::awaitable<boost::system::error_code> erase(std::string_view key) override {
    co_return co_await asio::co_spawn(thread_.executor(), store_->erase(key), asio::use_awaitable);
  }

 private:
  io_thread thread_;
  std::unique_ptr<cache_store> store_;  // used on thread_ only
};

class threaded_backend final : public cache_backend {
 public:
  explicit threaded_backend(std::unique_ptr<cache_backend> real) : real_(std::move(real)) {}
  std::unique_ptr<cache_store> for_thread(asio::any_io_executor) override {
    return std::make_unique<threaded_store>(*real_);
  }
  store_stats stats() const override { return real_->stats(); }
  std::string_view name() const override { return real_->name(); }

 private:
  std::unique_ptr<cache_backend> real_;
};

ghp_test::redis_server& shared_server() {
  static ghp_test::redis_server server;  // stopped at exit
  return server;
}

// Always instantiated: without redis-server every test fails naming it,
// rather than the suite vanishing from the run.
std::vector<conformance::backend_param> redis_params() {
  conformance::backend_param param;
  param.name = "redis";
  param.make_backend = [] {
    if (!ghp_test::redis_server::available()) throw std::runtime_error(ghp_test::redis_server::not_installed);
    config::redis_cache_config config;
    config.url = shared_server().url();
    config.key_prefix = "ghp-conformance:";
    config.timeout = std::chrono::seconds(2);  // a busy CI machine is not a slow Redis
    return std::make_unique<threaded_backend>(redis::make_redis_backend(config));
  };
  param.advance_time = nullptr;
  return {param};
}

INSTANTIATE_TEST_SUITE_P(Redis, CacheStoreConformance, testing::ValuesIn(redis_params()), conformance::param_name);

}  // namespace
}  // namespace github_proxy::cache
