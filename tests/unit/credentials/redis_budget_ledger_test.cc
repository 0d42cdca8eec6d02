// The Redis budget ledger against a real redis-server: shared counts across
// replicas, the sliding window, key expiry, and the fallback during an outage.
#include "credentials/redis_budget_ledger.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "redis/redis_url.h"
#include "support/redis_server.h"
#include "unit/credentials/manual_clock.h"
#include "unit/redis/redis_test_support.h"

namespace github_proxy::credentials {
namespace {

using namespace std::chrono_literals;
using ghp_test::run_to_completion;
using testing::manual_clock;

// 10:00:00 UTC: aligned to an hour, so the hourly windows start here.
const time_point t0 = from_epoch_seconds(1'732'528'800);

class RedisBudgetLedger : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!ghp_test::redis_server::available()) GTEST_SKIP() << "redis-server is not installed";
    server_ = std::make_unique<ghp_test::redis_server>();
    auto parsed = redis::parse_redis_url(server_->url());
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    settings_.connection.target = parsed.value;
    settings_.connection.command_timeout = 2s;
    settings_.connection.reconnect.initial_delay = 20ms;
    settings_.connection.reconnect.max_delay = 200ms;
    settings_.key_prefix = "ghp:";
    settings_.on_error = [this](std::string_view op) { errors_.push_back(std::string(op)); };
  }

  void TearDown() override {
    ledgers_.clear();
    io_.restart();
    io_.run_for(5s);
  }

  redis_budget_ledger& make_ledger() {
    ledgers_.push_back(std::make_unique<redis_budget_ledger>(io_.get_executor(), settings_, clock_, fallback_));
    return *ledgers_.back();
  }

  budget_status check(redis_budget_ledger& l, std::string_view client, auth::budget b) {
    return run_to_completion(io_, check_on(l, std::string(client), b));
  }
  budget_status charge(redis_budget_ledger& l, std::string_view client, auth::budget b, std::uint64_t credits) {
    return run_to_completion(io_, charge_on(l, std::string(client), b, credits));
  }

  static boost::asio::awaitable<budget_status> check_on(redis_budget_ledger& l, std::string client,
                                                        auth::budget b) {
    co_return co_await l.check(client, b);
  }
  static boost::asio::awaitable<budget_status> charge_on(redis_budget_ledger& l, std::string client,
                                                         auth::budget b, std::uint64_t credits) {
    co_return co_await l.charge(client, b, credits);
  }

  boost::asio::io_context io_;
  manual_clock clock_{t0};
  memory_budget_ledger fallback_{clock_};
  redis_ledger_settings settings_;
  std::vector<std::string> errors_;
  std::unique_ptr<ghp_test::redis_server> server_;
  std::vector<std::unique_ptr<redis_budget_ledger>> ledgers_;
};

TEST_F(RedisBudgetLedger, ReplicasShareOneCount) {
  const auth::budget hourly{10, 3600s};
  auto& replica_a = make_ledger();
  auto& replica_b = make_ledger();
  EXPECT_EQ(check(replica_a, "release-bot", hourly).spent, 0);
  charge(replica_a, "release-bot", hourly, 4);
  // A charge answers with the status after it, from the same round trip:
  // the other replica's credits included.
  EXPECT_EQ(charge(replica_b, "release-bot", hourly, 5).spent, 9);
  auto seen = check(replica_b, "release-bot", hourly);
  EXPECT_EQ(seen.spent, 9);
  EXPECT_FALSE(seen.exceeded);
  charge(replica_b, "release-bot", hourly, 1);
  seen = check(replica_a, "release-bot", hourly);
  EXPECT_TRUE(seen.exceeded);
  EXPECT_EQ(seen.retry_after, evaluate_budget(0, 10, hourly, 0s).retry_after);
  // Another client has its own count.
  EXPECT_EQ(check(replica_a, "other", hourly).spent, 0);
  EXPECT_TRUE(errors_.empty());

  // Both keys of a client share a hash tag; the current one expires after
  // two windows and a minute.
  const std::string key = "ghp:budget:{release-bot}:3600:" + std::to_string(to_epoch_seconds(t0) / 3600);
  EXPECT_EQ(server_->command({"GET", key}), "10");
  const auto ttl = std::stoll(server_->command({"TTL", key}));
  EXPECT_GT(ttl, 7200);
  EXPECT_LE(ttl, 7260);
}

TEST_F(RedisBudgetLedger, TheSlidingWindowMatchesTheMemoryLedger) {
  const auth::budget hourly{100, 3600s};
  auto& ledger = make_ledger();
  charge(ledger, "ci", hourly, 80);
  clock_.advance(3600s + 900s);  // a quarter into the next window
  charge(ledger, "ci", hourly, 10);
  const auto seen = check(ledger, "ci", hourly);
  const auto expected = evaluate_budget(80, 10, hourly, 900s);
  EXPECT_DOUBLE_EQ(seen.spent, expected.spent);  // 80 × 3/4 + 10 = 70
  EXPECT_DOUBLE_EQ(seen.spent, 70);
  EXPECT_EQ(seen.exceeded, expected.exceeded);
  // Two windows later nothing is left.
  clock_.advance(7200s);
  EXPECT_EQ(check(ledger, "ci", hourly).spent, 0);
}

TEST_F(RedisBudgetLedger, AnOutageFallsBackToThisReplicasCount) {
  const auth::budget hourly{5, 3600s};
  auto& ledger = make_ledger();
  charge(ledger, "ci", hourly, 3);
  server_->kill();
  const auto during = check(ledger, "ci", hourly);  // from the fallback, which saw the charge
  EXPECT_EQ(during.spent, 3);
  charge(ledger, "ci", hourly, 2);
  EXPECT_TRUE(check(ledger, "ci", hourly).exceeded);
  ASSERT_GE(errors_.size(), 2u);
  EXPECT_EQ(errors_[0], "budget_check");
}

}  // namespace
}  // namespace github_proxy::credentials
