// Driving coroutines to completion on a test's io_context, with a deadline
// instead of a fixed sleep, while background work (a connection's reconnect
// loop) keeps running.
#pragma once

#include <array>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "redis/connection.h"

namespace ghp_test {

// Runs handlers until `done()` or `limit`; returns done().
template <typename Predicate>
bool run_until(boost::asio::io_context& io, Predicate done,
               std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Runs `op` to completion and returns its value; throws after `limit`.
template <typename T>
T run_to_completion(boost::asio::io_context& io, boost::asio::awaitable<T> op,
                    std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  struct outcome {
    bool finished = false;
    std::exception_ptr error;
    std::optional<T> value;
  };
  auto result = std::make_shared<outcome>();
  boost::asio::co_spawn(io, std::move(op), [result](std::exception_ptr error, T value) {
    result->finished = true;
    result->error = error;
    if (!error) result->value = std::move(value);
  });
  if (!run_until(io, [&] { return result->finished; }, limit)) throw std::runtime_error("operation did not complete");
  if (result->error) std::rethrow_exception(result->error);
  return std::move(*result->value);
}

// One command on `conn`, run to completion (arguments copied into the coroutine).
template <typename... Args>
github_proxy::redis::command_result run_command(boost::asio::io_context& io, github_proxy::redis::connection& conn,
                                                Args... args) {
  using github_proxy::redis::command_result;
  auto op = [](github_proxy::redis::connection& c,
               std::array<std::string, sizeof...(Args)> argv) -> boost::asio::awaitable<command_result> {
    std::array<std::string_view, sizeof...(Args)> views;
    for (std::size_t i = 0; i < argv.size(); ++i) views[i] = argv[i];
    co_return co_await c.command(views);
  };
  return run_to_completion(io, op(conn, {std::string(args)...}));
}

}  // namespace ghp_test
