// The conformance suite every cache backend passes (STYLE principle 9,
// docs/contract.md §6 "Backends"): the fixture and its parameter.
//
// The tests themselves are in cache_store_conformance_tests.inc, which must
// be included by exactly ONE .cc per test binary (in unit_tests that is
// tests/unit/cache/cache_store_conformance_test.cc). A backend adds itself
// from its own .cc:
//
//   #include "conformance/cache_store_conformance.h"
//   INSTANTIATE_TEST_SUITE_P(Redis, CacheStoreConformance,
//       testing::Values(conformance::backend_param{"redis", make, nullptr}),
//       conformance::param_name);
//
// The coroutines run on a real io_context owned by the test. Keys are
// prefixed with the test's name and the tests erase them before relying on a
// miss, so a shared Redis database with leftovers from earlier runs is fine.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "github_proxy/cache/cache_store.h"

namespace github_proxy::cache::conformance {

struct backend_param {
  std::string name;  // the suffix of the test names: [A-Za-z0-9_]
  // A fresh backend per test.
  std::function<std::unique_ptr<cache_backend>()> make_backend;
  // Moves the clock of every backend made by `make_backend` forward. Null when
  // the backend's time cannot be driven: the TTL tests are then skipped.
  std::function<void(std::chrono::seconds)> advance_time;
};

inline std::string param_name(const testing::TestParamInfo<backend_param>& info) { return info.param.name; }

// Runs `ctx` until `task` completes (not until `ctx` runs out of work: a
// Redis handle always keeps a read pending), returns its result and rethrows
// what it threw. Work the store left behind continues on the next call.
template <class T>
T run(boost::asio::io_context& ctx, boost::asio::awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr error;
  bool done = false;
  boost::asio::co_spawn(ctx, std::move(task), [&](std::exception_ptr e, T value) {
    done = true;
    error = e;
    if (!e) result.emplace(std::move(value));
  });
  ctx.restart();
  while (!done && ctx.run_one() != 0) {
  }
  if (error) std::rethrow_exception(error);
  if (!result) throw std::logic_error("the io_context ran out of work before the awaitable completed");
  return std::move(*result);
}

class CacheStoreConformance : public testing::TestWithParam<backend_param> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make_backend();
    ASSERT_NE(backend_, nullptr);
    store_ = backend_->for_thread(ctx_.get_executor());
    ASSERT_NE(store_, nullptr);
  }

  void TearDown() override {
    store_.reset();  // handles go before their io_context, the backend last
  }

  get_result get(std::string_view key) { return run(ctx_, store_->get(key)); }
  boost::system::error_code put(std::string_view key, std::string value,
                                std::chrono::seconds ttl = std::chrono::seconds::zero()) {
    return run(ctx_, store_->put(key, std::move(value), ttl));
  }
  boost::system::error_code erase(std::string_view key) { return run(ctx_, store_->erase(key)); }

  // "conformance:<Test>:<suffix>", erased first so the test starts from a miss.
  std::string fresh_key(std::string_view suffix) {
    std::string key = "conformance:";
    key += testing::UnitTest::GetInstance()->current_test_info()->name();
    key += ':';
    key += suffix;
    const auto ec = erase(key);
    EXPECT_FALSE(ec) << ec.message();
    return key;
  }

  void advance(std::chrono::seconds by) { GetParam().advance_time(by); }

  // Declared in this order so that they are destroyed in reverse.
  std::unique_ptr<cache_backend> backend_;
  boost::asio::io_context ctx_;
  std::unique_ptr<cache_store> store_;
};

}  // namespace github_proxy::cache::conformance
