// The Redis backend against a real redis-server: the commands it sends, TTLs,
// binary values, errors and their hook, stats, and surviving an outage.
#include "redis/redis_store.h"

#include <map>
#include <stdexcept>
#include <string>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "unit/redis/redis_test_support.h"
#include "support/redis_server.h"

namespace github_proxy::redis {
namespace {

using namespace std::chrono_literals;
using cache::store_error;
using ghp_test::run_to_completion;
using ghp_test::run_until;

class RedisStore : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!ghp_test::redis_server::available()) GTEST_SKIP() << "redis-server is not installed";
    server = std::make_unique<ghp_test::redis_server>();
    config.url = server->url();
    config.key_prefix = "ghp-test:";
    config.timeout = 2s;  // generous on a busy machine; the timeout test shortens it
    tuning.reconnect.initial_delay = 20ms;
    tuning.reconnect.max_delay = 200ms;
  }

  void TearDown() override {
    store.reset();
    backend.reset();
    io.restart();
    io.run_for(5s);
    EXPECT_TRUE(io.stopped()) << "a handle's background work did not end";
  }

  void open() {
    backend_hooks hooks;
    hooks.on_error = [this](std::string_view op) { ++errors[std::string(op)]; };
    backend = make_redis_backend(config, hooks, tuning);
    store = backend->for_thread(io.get_executor());
  }

  cache::get_result get(std::string_view key) { return run_to_completion(io, store->get(key)); }
  boost::system::error_code put(std::string_view key, std::string value, std::chrono::seconds ttl = 0s) {
    return run_to_completion(io, store->put(key, std::move(value), ttl));
  }
  boost::system::error_code erase(std::string_view key) { return run_to_completion(io, store->erase(key)); }

  long long pttl(const std::string& key) { return std::stoll(server->command({"PTTL", key})); }

  boost::asio::io_context io;
  std::unique_ptr<ghp_test::redis_server> server;
  config::redis_cache_config config;
  backend_tuning tuning;
  std::map<std::string, int> errors;  // on_error calls by op
  std::unique_ptr<cache::cache_backend> backend;
  std::unique_ptr<cache::cache_store> store;
};

TEST_F(RedisStore, PutGetEraseUnderThePrefix) {
  open();
  EXPECT_EQ(backend->name(), "redis");
  ASSERT_FALSE(put("k", "value"));
  EXPECT_EQ(server->command({"GET", "ghp-test:k"}), "value");
  auto hit = get("k");
  ASSERT_FALSE(hit.error) << hit.error.message();
  ASSERT_NE(hit.value, nullptr);
  EXPECT_EQ(*hit.value, "value");

  EXPECT_FALSE(erase("k"));
  EXPECT_EQ(server->command({"EXISTS", "ghp-test:k"}), "0");
  auto miss = get("k");
  EXPECT_EQ(miss.value, nullptr);
  EXPECT_FALSE(miss.error) << "a miss is not an error";
  EXPECT_FALSE(erase("k")) << "erasing a missing key is not an error";
  EXPECT_TRUE(errors.empty());
}

TEST_F(RedisStore, BinaryValuesSurviveIntact) {
  open();
  std::string small("\0a\0\r\n\xff\0", 7);
  ASSERT_FALSE(put("small", small));
  EXPECT_EQ(*get("small").value, small);

  // Several socket reads' worth, with every byte value.
  std::string large(4 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>((i * 131) ^ (i >> 9));
  ASSERT_FALSE(put("large", large));
  auto hit = get("large");
  ASSERT_NE(hit.value, nullptr);
  EXPECT_TRUE(*hit.value == large);
}

TEST_F(RedisStore, PutSetsTheTtlInMilliseconds) {
  open();
  ASSERT_FALSE(put("k", "v", 60s));
  const auto ms = pttl("ghp-test:k");
  EXPECT_GT(ms, 55'000);
  EXPECT_LE(ms, 60'000);
}

TEST_F(RedisStore, ZeroTtlMeansTheConfiguredTtl) {
  config.ttl = std::chrono::hours(24 * 7);
  open();
  ASSERT_FALSE(put("k", "v", 0s));
  const auto ms = pttl("ghp-test:k");
  EXPECT_GT(ms, 604'800'000 - 60'000);
  EXPECT_LE(ms, 604'800'000);
}

TEST_F(RedisStore, SlowRedisTimesOutAndIsCounted) {
  config.timeout = 100ms;
  open();
  ASSERT_FALSE(put("k", "v"));
  server->command({"CLIENT", "PAUSE", "500"});
  const auto start = std::chrono::steady_clock::now();
  auto result = get("k");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 400ms);
  EXPECT_EQ(result.error, store_error::timeout);
  EXPECT_EQ(result.value, nullptr);
  EXPECT_EQ(errors["get"], 1);
}

TEST_F(RedisStore, OutageDegradesToUnavailableThenTheSameHandleRecovers) {
  open();
  ASSERT_FALSE(put("k", "before"));
  server->kill();

  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(get("k").error, store_error::unavailable);
  EXPECT_EQ(put("k", "during"), store_error::unavailable);
  EXPECT_EQ(erase("k"), store_error::unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s) << "fails fast, not after the timeout";
  EXPECT_EQ(errors["get"], 1);
  EXPECT_EQ(errors["put"], 1);
  EXPECT_EQ(errors["erase"], 1);

  server->start();  // same port, empty (no persistence)
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  boost::system::error_code ec;
  do {
    ec = put("k", "after");
    if (ec) run_until(io, [] { return false; }, 20ms);
  } while (ec && std::chrono::steady_clock::now() < deadline);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(*get("k").value, "after");
}

TEST_F(RedisStore, AnotherTypeUnderTheKeyReadsAsCorrupt) {
  open();
  server->command({"LPUSH", "ghp-test:list", "x"});
  auto result = get("list");
  EXPECT_EQ(result.error, store_error::corrupt);
  EXPECT_EQ(errors["get"], 1);
  EXPECT_FALSE(put("list", "replaced")) << "SET replaces any type";
}

TEST_F(RedisStore, AuthenticatesAndSelectsFromTheUrl) {
  server = std::make_unique<ghp_test::redis_server>(
      ghp_test::redis_server::options{.extra_args = {"--requirepass", "pw"}, .password = "pw"});
  config.url = server->url_with(":pw", 2);
  open();
  ASSERT_FALSE(put("k", "v"));
  EXPECT_EQ(server->command({"GET", "ghp-test:k"}, 2), "v");
}

TEST_F(RedisStore, StatsComeFromDbsizeAndInfoMemory) {
  tuning.stats_interval = 0ms;  // sample after every operation
  open();
  EXPECT_EQ(backend->stats().entries, 0u);
  for (const char* key : {"a", "b", "c"}) ASSERT_FALSE(put(key, "v"));
  ASSERT_TRUE(run_until(io, [&] { return backend->stats().entries >= 3 && backend->stats().bytes > 0; }))
      << backend->stats().entries << " entries, " << backend->stats().bytes << " bytes";
}

TEST_F(RedisStore, BadUrlIsRefusedWithoutShowingThePassword) {
  config.url = "redis://user:hunter2@redis:0/0";
  try {
    open();
    FAIL() << "accepted a bad URL";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace github_proxy::redis
