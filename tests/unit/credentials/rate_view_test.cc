#include "github_proxy/credentials/rate_view.h"

#include <gtest/gtest.h>

#include <vector>

namespace github_proxy::credentials {
namespace {

using std::chrono::seconds;

const time_point t0 = from_epoch_seconds(1'700'000'000);

bucket_view observed(std::int64_t limit, std::int64_t remaining, std::optional<time_point> reset,
                     std::uint32_t in_flight = 0) {
  bucket_view b;
  b.observed = true;
  b.limit = limit;
  b.remaining = remaining;
  b.used = limit - remaining;
  b.reset = reset;
  b.in_flight = in_flight;
  return b;
}

bucket_view parked(credential_state state, std::int64_t limit, std::optional<time_point> back) {
  auto b = observed(limit, 0, back);
  b.state = state;
  b.available_at = back;
  return b;
}

TEST(PoolView, SumsTheCredentialsAndTellsWhenTheFirstCreditsComeBack) {
  const std::vector<bucket_view> buckets = {observed(5000, 4000, t0 + seconds(1200)),
                                            observed(5000, 20, t0 + seconds(300)),
                                            parked(credential_state::exhausted, 5000, t0 + seconds(3000))};
  const auto v = pool_view(resource::core, buckets, 0, t0);
  EXPECT_EQ(v.r, resource::core);
  EXPECT_EQ(v.limit, 15000);      // the spent one comes back at its reset: its limit counts
  EXPECT_EQ(v.remaining, 4020);   // but none of its credits is there now
  EXPECT_EQ(v.used, 10980);
  EXPECT_EQ(v.reset, t0 + seconds(300));  // the earliest window that gives credits back
}

TEST(PoolView, KeepsTheReserveAndCountsRequestsInFlight) {
  const std::vector<bucket_view> buckets = {observed(5000, 4000, t0 + seconds(1200), 3),
                                            observed(5000, 80, t0 + seconds(600))};
  const auto v = pool_view(resource::core, buckets, 100, t0);
  EXPECT_EQ(v.limit, 9800);
  EXPECT_EQ(v.remaining, 3897);  // 4000 − 3 − 100, and nothing of the one below its reserve
  EXPECT_EQ(v.used, 9800 - 3897);
  EXPECT_EQ(v.reset, t0 + seconds(600));
}

TEST(PoolView, BrokenCredentialsAreNotCountedAndCoolingOnesHaveNothingNow) {
  auto broken = observed(5000, 5000, std::nullopt);
  broken.state = credential_state::broken;
  const std::vector<bucket_view> buckets = {broken, parked(credential_state::cooling, 5000, t0 + seconds(60)),
                                            observed(5000, 5000, std::nullopt)};
  const auto v = pool_view(resource::core, buckets, 0, t0);
  EXPECT_EQ(v.limit, 10000);
  EXPECT_EQ(v.remaining, 5000);
  EXPECT_EQ(v.reset, t0 + seconds(60));  // the cool-down ends
}

TEST(PoolView, NothingSpentResetsAWholeWindowAheadAsGitHubShowsAnUnusedBucket) {
  bucket_view guess;  // a credential nobody has heard from: default_limit's fresh window
  guess.limit = guess.remaining = default_limit(resource::search);
  const std::vector<bucket_view> buckets = {guess, guess};
  const auto v = pool_view(resource::search, buckets, 0, t0);
  EXPECT_EQ(v.limit, 60);
  EXPECT_EQ(v.remaining, 60);
  EXPECT_EQ(v.used, 0);
  EXPECT_EQ(v.reset, t0 + seconds(60));
  const auto core = pool_view(resource::core, {}, 0, t0);
  EXPECT_EQ(core.limit, 0);
  EXPECT_EQ(core.reset, t0 + seconds(3600));
}

TEST(PoolView, APastResetGivesNoCreditsBack) {
  const std::vector<bucket_view> buckets = {observed(5000, 4990, t0 - seconds(5)),
                                            observed(5000, 4000, t0 + seconds(900))};
  EXPECT_EQ(pool_view(resource::core, buckets, 0, t0).reset, t0 + seconds(900));
}

TEST(BudgetView, RemainingIsZeroExactlyWhenTheLedgerRefuses) {
  const auth::budget budget{20, seconds(3600)};
  // 19.5 spent by the sliding estimate: one more is allowed.
  const auto almost = evaluate_budget(13, 13, budget, seconds(1800));
  ASSERT_FALSE(almost.exceeded);
  const auto v = budget_view(resource::core, almost, budget, t0);
  EXPECT_EQ(v.limit, 20);
  EXPECT_EQ(v.used, 19);
  EXPECT_EQ(v.remaining, 1);
  const auto out = evaluate_budget(0, 20, budget, seconds(600));
  ASSERT_TRUE(out.exceeded);
  const auto spent = budget_view(resource::core, out, budget, t0);
  EXPECT_EQ(spent.remaining, 0);
  EXPECT_EQ(spent.used, 20);
  EXPECT_EQ(spent.reset, t0 + out.retry_after);  // the 429's Retry-After
}

TEST(BudgetView, ResetIsWhenNothingSpentCountsAnyMore) {
  const auth::budget budget{100, seconds(3600)};
  // Counts in the current window: they fade out over the next one.
  EXPECT_EQ(budget_view(resource::core, evaluate_budget(0, 3, budget, seconds(600)), budget, t0).reset,
            t0 + seconds(3000 + 3600));
  // Only the previous window's: gone at the end of this one.
  EXPECT_EQ(budget_view(resource::core, evaluate_budget(5, 0, budget, seconds(600)), budget, t0).reset,
            t0 + seconds(3000));
  // Nothing: a whole window, as for an unused bucket.
  const auto fresh = budget_view(resource::core, evaluate_budget(0, 0, budget, seconds(0)), budget, t0);
  EXPECT_EQ(fresh.reset, t0 + seconds(3600));
  EXPECT_EQ(fresh.remaining, 100);
}

TEST(ClientView, TheBudgetCapsThePoolWhenItHasLessLeft) {
  rate_view pool{resource::core, 15000, 4020, 10980, t0 + seconds(300)};
  rate_view budget{resource::core, 5, 3, 2, t0 + seconds(7000)};
  EXPECT_EQ(client_view(pool, std::nullopt), pool);
  EXPECT_EQ(client_view(pool, budget), budget);
  budget.remaining = 5000;
  budget.limit = 6000;
  EXPECT_EQ(client_view(pool, budget), pool);
}

TEST(ClientView, WhenBothAreOutTheClientWaitsForTheLaterOne) {
  const rate_view pool{resource::core, 5000, 0, 5000, t0 + seconds(300)};
  const rate_view budget{resource::core, 5, 0, 5, t0 + seconds(900)};
  EXPECT_EQ(client_view(pool, budget), budget);
  const rate_view late_pool{resource::core, 5000, 0, 5000, t0 + seconds(1200)};
  EXPECT_EQ(client_view(late_pool, budget), late_pool);
}

}  // namespace
}  // namespace github_proxy::credentials
