// The conformance suite's run() drives the test's io_context until it runs
// out of work. A Redis handle never lets that happen: its connection always
// waits on its socket (and on its reconnect timer). So each handle the suite
// asks for lives on an I/O thread of its own, as in the daemon, and a thin
// wrapper forwards every operation there and resumes the suite on its
// executor. (With a run() that stops when the task completes, the wrapper
// could go.)
#pragma once

#include <future>
#include <memory>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "github_proxy/cache/cache_store.h"

namespace github_proxy::cache {

namespace threaded {
namespace asio = boost::asio;

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

}  // namespace threaded

using threaded::io_thread;
using threaded::threaded_backend;

}  // namespace github_proxy::cache
