#include "github_proxy/credentials/budget.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "unit/credentials/manual_clock.h"

namespace github_proxy::credentials {
namespace {

using std::chrono::seconds;
using testing::manual_clock;

// Aligned to both minute and hour windows.
const time_point window_start = from_epoch_seconds(472223LL * 3600);
const auth::budget ten_per_minute{10, seconds(60)};

TEST(Budget, FixedCountWithinOneWindow) {
  manual_clock clock(window_start);
  memory_budget_ledger ledger(clock);
  EXPECT_FALSE(ledger.would_exceed("ci", ten_per_minute));
  ledger.add("ci", ten_per_minute, 9);
  clock.advance(seconds(10));
  auto status = ledger.status("ci", ten_per_minute);
  EXPECT_FALSE(status.exceeded);
  EXPECT_DOUBLE_EQ(status.spent, 9);
  const auto charged = ledger.add("ci", ten_per_minute, 1);
  status = ledger.status("ci", ten_per_minute);
  EXPECT_TRUE(status.exceeded);
  EXPECT_TRUE(charged.exceeded) << "a charge answers with the status after it";
  EXPECT_EQ(charged.retry_after, status.retry_after);
  // The whole count must move to the previous window and decay below 10:
  // 50 s to the boundary, then the first second of the next window.
  EXPECT_EQ(status.retry_after, seconds(51));
  EXPECT_EQ(ledger.retry_after("ci", ten_per_minute), seconds(51));
}

TEST(Budget, RetryAfterIsWhenTheClientMayGoAgain) {
  manual_clock clock(window_start + seconds(10));
  memory_budget_ledger ledger(clock);
  ledger.add("ci", ten_per_minute, 10);
  const auto wait = ledger.retry_after("ci", ten_per_minute);
  clock.advance(wait - seconds(1));
  EXPECT_TRUE(ledger.would_exceed("ci", ten_per_minute));
  clock.advance(seconds(1));
  EXPECT_FALSE(ledger.would_exceed("ci", ten_per_minute));
}

TEST(Budget, SlidingEstimateDecaysThePreviousWindow) {
  manual_clock clock(window_start);
  memory_budget_ledger ledger(clock);
  ledger.add("ci", ten_per_minute, 10);
  clock.advance(seconds(90));  // 30 s into the next window: 10 × 30/60 = 5
  auto status = ledger.status("ci", ten_per_minute);
  EXPECT_FALSE(status.exceeded);
  EXPECT_DOUBLE_EQ(status.spent, 5);
  ledger.add("ci", ten_per_minute, 5);
  status = ledger.status("ci", ten_per_minute);
  EXPECT_TRUE(status.exceeded);
  // 10 × (60 − t)/60 + 5 < 10 first holds at t = 31.
  EXPECT_EQ(status.retry_after, seconds(1));
  clock.advance(seconds(1));
  EXPECT_FALSE(ledger.would_exceed("ci", ten_per_minute));
}

TEST(Budget, NoDoubleBurstAcrossTheBoundary) {
  // A fixed window would allow 10 at 0:59 and 10 more at 1:00.
  manual_clock clock(window_start + seconds(59));
  memory_budget_ledger ledger(clock);
  ledger.add("ci", ten_per_minute, 10);
  clock.advance(seconds(1));
  EXPECT_TRUE(ledger.would_exceed("ci", ten_per_minute));
}

TEST(Budget, IdleForTwoWindowsStartsAfresh) {
  manual_clock clock(window_start);
  memory_budget_ledger ledger(clock);
  ledger.add("ci", ten_per_minute, 10);
  clock.advance(seconds(120));
  const auto status = ledger.status("ci", ten_per_minute);
  EXPECT_FALSE(status.exceeded);
  EXPECT_DOUBLE_EQ(status.spent, 0);
}

TEST(Budget, ClientsAreIndependentAndUnknownClientsHaveSpentNothing) {
  manual_clock clock(window_start);
  memory_budget_ledger ledger(clock);
  ledger.add("a", ten_per_minute, 10);
  EXPECT_TRUE(ledger.would_exceed("a", ten_per_minute));
  EXPECT_FALSE(ledger.would_exceed("b", ten_per_minute));
  EXPECT_DOUBLE_EQ(ledger.status("nobody", ten_per_minute).spent, 0);
}

TEST(Budget, ChangingTheWindowRestartsTheCount) {
  manual_clock clock(window_start);
  memory_budget_ledger ledger(clock);
  ledger.add("ci", ten_per_minute, 10);
  const auth::budget per_hour{10, seconds(3600)};
  EXPECT_FALSE(ledger.would_exceed("ci", per_hour));
  // Same window, more credits: the count is kept.
  ledger.add("ci", per_hour, 10);
  EXPECT_TRUE(ledger.would_exceed("ci", per_hour));
  EXPECT_FALSE(ledger.would_exceed("ci", auth::budget{20, seconds(3600)}));
}

TEST(Budget, OnlyUpstreamCreditsCount) {
  EXPECT_TRUE(spends_upstream_credit(200));
  EXPECT_TRUE(spends_upstream_credit(404));
  EXPECT_TRUE(spends_upstream_credit(302));
  EXPECT_FALSE(spends_upstream_credit(304));
  manual_clock clock(window_start);
  memory_budget_ledger ledger(clock);
  ledger.add("ci", ten_per_minute, 0);
  EXPECT_DOUBLE_EQ(ledger.status("ci", ten_per_minute).spent, 0);
}

TEST(Budget, RetainOnlyForgetsRemovedClients) {
  manual_clock clock(window_start);
  memory_budget_ledger ledger(clock);
  ledger.add("kept", ten_per_minute, 10);
  ledger.add("gone", ten_per_minute, 10);
  auth::client kept;
  kept.name = "kept";
  ledger.retain_only({kept});
  EXPECT_TRUE(ledger.would_exceed("kept", ten_per_minute));
  EXPECT_FALSE(ledger.would_exceed("gone", ten_per_minute));
}

TEST(Budget, EvaluateEdgeCases) {
  // A zero budget refuses everything, asking again after a window.
  const auto zero = evaluate_budget(0, 0, auth::budget{0, seconds(3600)}, seconds(0));
  EXPECT_TRUE(zero.exceeded);
  EXPECT_EQ(zero.retry_after, seconds(3600));
  // 2000/h, 2500 spent this hour: wait for the next hour and 20 % of it.
  const auto over = evaluate_budget(0, 2500, auth::budget{2000, seconds(3600)}, seconds(600));
  EXPECT_TRUE(over.exceeded);
  EXPECT_EQ(over.retry_after, seconds(3000 + 721));
  EXPECT_FALSE(evaluate_budget(1999, 0, auth::budget{2000, seconds(3600)}, seconds(0)).exceeded);
  EXPECT_TRUE(evaluate_budget(2000, 0, auth::budget{2000, seconds(3600)}, seconds(0)).exceeded);
}

TEST(Budget, TheAwaitableInterfaceAnswersLikeTheSynchronousOne) {
  manual_clock clock(window_start);
  memory_budget_ledger ledger(clock);
  budget_ledger& shared = ledger;
  boost::asio::io_context io;
  auto result = boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<budget_status> {
        co_await shared.charge("ci", ten_per_minute, 10);
        co_return co_await shared.check("ci", ten_per_minute);
      },
      boost::asio::use_future);
  io.run();
  const auto status = result.get();
  EXPECT_TRUE(status.exceeded);
  EXPECT_EQ(status.retry_after, seconds(61));
}

}  // namespace
}  // namespace github_proxy::credentials
