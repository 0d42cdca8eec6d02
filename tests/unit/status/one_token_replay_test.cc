// The one-token replay (include/github_proxy/status/one_token_replay.h):
// GitHub's hourly windows, driven by hand-set times.
#include "github_proxy/status/one_token_replay.h"

#include <gtest/gtest.h>

namespace github_proxy::status {
namespace {

using namespace std::chrono_literals;

const time_point t0 = credentials::from_epoch_seconds(1'800'000'000);

TEST(OneTokenReplay, DemandUnderTheLimitIsNoOutage) {
  one_token_replay replay(5);
  replay.add(t0, 3);
  replay.add(t0 + 10min, 2);  // exactly the limit: the token is empty, nobody refused
  const auto totals = replay.totals();
  EXPECT_EQ(totals.demand, 5u);
  EXPECT_EQ(totals.windows, 1u);
  EXPECT_EQ(totals.outages, 0u);
  EXPECT_EQ(totals.refused, 0u);
  EXPECT_EQ(totals.exhausted, 0s);
  ASSERT_TRUE(replay.current());
  EXPECT_EQ(replay.current()->start, t0);
  EXPECT_EQ(replay.current()->end, t0 + 1h);
}

TEST(OneTokenReplay, TheRequestOverTheLimitEmptiesTheTokenUntilTheReset) {
  one_token_replay replay(5);
  replay.add(t0, 5);
  replay.add(t0 + 20min, 1);  // the sixth credit: GitHub refuses from here
  replay.add(t0 + 30min, 3);
  const auto totals = replay.totals();
  EXPECT_EQ(totals.outages, 1u);
  EXPECT_EQ(totals.refused, 4u);
  EXPECT_EQ(totals.exhausted, 40min);  // 20 min into the hour until its end
  ASSERT_TRUE(replay.current()->exhausted_at);
  EXPECT_EQ(*replay.current()->exhausted_at, t0 + 20min);
}

TEST(OneTokenReplay, AWindowClosesAtItsResetAndTheNextOpensWithTheNextRequest) {
  one_token_replay replay(2);
  replay.add(t0, 3);  // an outage from the first second
  replay.advance(t0 + 59min);
  ASSERT_TRUE(replay.current());
  replay.advance(t0 + 1h);
  EXPECT_FALSE(replay.current());
  ASSERT_EQ(replay.past_outages().size(), 1u);
  EXPECT_EQ(replay.past_outages().front().exhausted_for(), 1h);

  // Idle for a while: the next window starts with the next request, not on
  // the hour.
  replay.add(t0 + 3h + 17min, 1);
  ASSERT_TRUE(replay.current());
  EXPECT_EQ(replay.current()->start, t0 + 3h + 17min);
  EXPECT_EQ(replay.current()->end, t0 + 4h + 17min);
  const auto totals = replay.totals();
  EXPECT_EQ(totals.windows, 2u);
  EXPECT_EQ(totals.outages, 1u);
  EXPECT_EQ(totals.demand, 4u);
  EXPECT_EQ(totals.refused, 1u);
}

TEST(OneTokenReplay, DemandAtTheResetInstantOpensANewWindow) {
  one_token_replay replay(1);
  replay.add(t0, 1);
  replay.add(t0 + 1h, 1);  // the reset has come: a fresh token
  EXPECT_EQ(replay.totals().outages, 0u);
  EXPECT_EQ(replay.totals().windows, 2u);
}

TEST(OneTokenReplay, TimeGoingBackwardsCountsAsTheLatestInstant) {
  one_token_replay replay(1);
  replay.add(t0 + 10min, 1);
  replay.add(t0, 1);  // earlier than seen: counted at t0 + 10 min
  ASSERT_TRUE(replay.current()->exhausted_at);
  EXPECT_EQ(*replay.current()->exhausted_at, t0 + 10min);
}

TEST(OneTokenReplay, KeepsABoundedListButCountsEveryOutage) {
  one_token_replay replay(0);
  const std::size_t windows = one_token_replay::max_kept_outages + 5;
  for (std::size_t i = 0; i < windows; ++i) replay.add(t0 + std::chrono::hours(i), 1);
  replay.advance(t0 + std::chrono::hours(windows));
  EXPECT_EQ(replay.past_outages().size(), one_token_replay::max_kept_outages);
  EXPECT_EQ(replay.past_outages().front().start, t0 + 5h);  // the oldest went first
  EXPECT_EQ(replay.totals().outages, windows);
  EXPECT_EQ(replay.totals().exhausted, std::chrono::hours(windows));
}

TEST(OneTokenReplay, NoDemandIsNoWindow) {
  one_token_replay replay(5);
  replay.add(t0, 0);
  replay.advance(t0 + 2h);
  EXPECT_FALSE(replay.current());
  EXPECT_EQ(replay.totals().windows, 0u);
}

}  // namespace
}  // namespace github_proxy::status
