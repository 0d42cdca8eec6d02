// Unit tests of the fake GitHub's secondary rate limits (secondary_limits.h)
// and their command-line flags. Time is passed in as `now`; nothing sleeps.
//
// fake_github is a standalone program that does not go into ghp_core, so the
// sources under test are compiled into this translation unit directly.
#include "fake_github/options.cc"
#include "fake_github/secondary_limits.cc"

#include <gtest/gtest.h>

namespace fake_github {
namespace {

const secondary_cost get = rest_secondary_cost("GET");
const secondary_cost post = rest_secondary_cost("POST");

secondary_limit_settings settings(std::int64_t rest, std::int64_t graphql, std::int64_t per_minute,
                                  std::int64_t per_hour, std::int64_t block) {
  return {rest, graphql, per_minute, per_hour, block};
}

TEST(FakeGithubSecondary, CostsFollowGithubsPointsAndContentRules) {
  for (std::string_view m : {"GET", "HEAD", "OPTIONS"}) {
    EXPECT_EQ(rest_secondary_cost(m).rest, 1) << m;
    EXPECT_FALSE(rest_secondary_cost(m).content) << m;
  }
  for (std::string_view m : {"POST", "PATCH", "PUT"}) {
    EXPECT_EQ(rest_secondary_cost(m).rest, 5) << m;
    EXPECT_TRUE(rest_secondary_cost(m).content) << m;
  }
  EXPECT_EQ(rest_secondary_cost("DELETE").rest, 5);
  EXPECT_FALSE(rest_secondary_cost("DELETE").content);
  EXPECT_EQ(graphql_secondary_cost(false).graphql, 1);
  EXPECT_EQ(graphql_secondary_cost(false).rest, 0);
  EXPECT_FALSE(graphql_secondary_cost(false).content);
  EXPECT_EQ(graphql_secondary_cost(true).graphql, 5);
  EXPECT_TRUE(graphql_secondary_cost(true).content);
}

TEST(FakeGithubSecondary, DefaultsAreGithubsNumbers) {
  secondary_limit_settings s;
  EXPECT_EQ(s.rest_points, 900);
  EXPECT_EQ(s.graphql_points, 2000);
  EXPECT_EQ(s.content_per_minute, 80);
  EXPECT_EQ(s.content_per_hour, 500);
  EXPECT_EQ(s.block_seconds, 60);
}

TEST(FakeGithubSecondary, RestPointsSlideOverTheLastSixtySecondsAndRefusalsAreNotCounted) {
  secondary_limits limits(settings(5, 0, 0, 0, 0));
  for (std::int64_t t = 1000; t < 1005; ++t) EXPECT_TRUE(limits.admit("t", get, t).allowed()) << t;
  secondary_admission refused = limits.admit("t", get, 1005);
  EXPECT_EQ(refused.refusal, secondary_refusal::points);
  EXPECT_EQ(refused.retry_after, 55);  // the request of second 1000 leaves the window at 1060
  EXPECT_EQ(limits.admit("t", get, 1059).refusal, secondary_refusal::points);
  EXPECT_EQ(limits.usage("t", 1059).rest, 5) << "refused requests are not counted";
  EXPECT_TRUE(limits.admit("t", get, 1060).allowed());
  EXPECT_FALSE(limits.admit("t", get, 1060).allowed());
  EXPECT_EQ(limits.usage("t", 1060).rest, 5);
  EXPECT_EQ(limits.usage("t", 1200).rest, 0);
  EXPECT_TRUE(limits.admit("other", get, 1060).allowed()) << "per token";
}

TEST(FakeGithubSecondary, RefusalBlocksEveryRequestOfTheTokenForTheBlock) {
  secondary_limits limits(settings(3, 0, 0, 0, 60));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limits.admit("t", get, 1000).allowed());
  secondary_admission refused = limits.admit("t", get, 1010);
  EXPECT_EQ(refused.refusal, secondary_refusal::points);
  EXPECT_EQ(refused.retry_after, 60);
  // The window is empty again from 1060, the block lasts until 1070.
  EXPECT_EQ(limits.usage("t", 1065).rest, 0);
  secondary_admission blocked = limits.admit("t", get, 1065);
  EXPECT_EQ(blocked.refusal, secondary_refusal::points);
  EXPECT_EQ(blocked.retry_after, 5);
  EXPECT_TRUE(limits.admit("other", get, 1065).allowed());
  EXPECT_TRUE(limits.admit("t", get, 1070).allowed());
}

TEST(FakeGithubSecondary, ContentCreationIsLimitedPerMinuteAndPerHour) {
  secondary_limits limits(settings(0, 0, 2, 3, 0));
  EXPECT_TRUE(limits.admit("t", post, 600).allowed());
  EXPECT_TRUE(limits.admit("t", post, 601).allowed());
  secondary_admission per_minute = limits.admit("t", post, 602);
  EXPECT_EQ(per_minute.refusal, secondary_refusal::content);
  EXPECT_EQ(per_minute.retry_after, 58);  // second 600 leaves the minute at 660
  EXPECT_TRUE(limits.admit("t", get, 602).allowed()) << "reads are not content";
  EXPECT_TRUE(limits.admit("t", rest_secondary_cost("DELETE"), 602).allowed());
  EXPECT_TRUE(limits.admit("t", post, 660).allowed());
  secondary_usage u = limits.usage("t", 660);
  EXPECT_EQ(u.content_minute, 2);  // seconds 601 and 660
  EXPECT_EQ(u.content_hour, 3);
  secondary_admission per_hour = limits.admit("t", post, 700);
  EXPECT_EQ(per_hour.refusal, secondary_refusal::content);
  // Minute 10 (seconds 600…659, two requests) leaves the hour at minute 70.
  EXPECT_EQ(per_hour.retry_after, 70 * 60 - 700);
  EXPECT_FALSE(limits.admit("t", post, 70 * 60 - 1).allowed());
  EXPECT_TRUE(limits.admit("t", post, 70 * 60).allowed());
}

TEST(FakeGithubSecondary, AnHourLimitRefusalBlocksUntilTheRequestWouldFit) {
  secondary_limits limits(settings(0, 0, 0, 1, 60));
  EXPECT_TRUE(limits.admit("t", post, 0).allowed());
  secondary_admission refused = limits.admit("t", post, 120);
  EXPECT_EQ(refused.refusal, secondary_refusal::content);
  EXPECT_EQ(refused.retry_after, 3600 - 120);  // longer than block_seconds
  secondary_admission blocked = limits.admit("t", get, 1000);
  EXPECT_EQ(blocked.refusal, secondary_refusal::content);
  EXPECT_EQ(blocked.retry_after, 3600 - 1000);
  EXPECT_TRUE(limits.admit("t", post, 3600).allowed());
}

TEST(FakeGithubSecondary, PointsAreCheckedBeforeContentAndGraphqlHasItsOwnWindow) {
  secondary_limits limits(settings(5, 6, 80, 500, 0));
  EXPECT_TRUE(limits.admit("t", post, 0).allowed());
  EXPECT_EQ(limits.admit("t", post, 1).refusal, secondary_refusal::points);
  EXPECT_TRUE(limits.admit("t", graphql_secondary_cost(true), 1).allowed());
  EXPECT_TRUE(limits.admit("t", graphql_secondary_cost(false), 1).allowed());
  EXPECT_EQ(limits.admit("t", graphql_secondary_cost(false), 2).refusal, secondary_refusal::points);
  secondary_usage u = limits.usage("t", 2);
  EXPECT_EQ(u.rest, 5);
  EXPECT_EQ(u.graphql, 6);
  EXPECT_EQ(u.content_minute, 2);  // the POST and the mutation
  EXPECT_EQ(u.content_hour, 2);
}

TEST(FakeGithubSecondary, ACostAboveTheLimitNeverFitsAndZeroTurnsALimitOff) {
  secondary_limits tiny(settings(3, 0, 0, 0, 0));
  secondary_admission refused = tiny.admit("t", post, 0);
  EXPECT_EQ(refused.refusal, secondary_refusal::points);
  EXPECT_EQ(refused.retry_after, 60);
  secondary_limits off(settings(0, 0, 0, 0, 60));
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(off.admit("t", post, 0).allowed()) << i;
  EXPECT_EQ(off.usage("t", 0).rest, 50000);
}

TEST(FakeGithubSecondary, UpdateKeepsWindowsAndResetRestoresTheStartUpSettings) {
  secondary_limits limits(settings(900, 2000, 80, 500, 60));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limits.admit("t", get, 0).allowed());
  secondary_settings_update lower;
  lower.rest_points = 3;
  lower.block_seconds = 10;
  secondary_limit_settings now = limits.update(lower);
  EXPECT_EQ(now.rest_points, 3);
  EXPECT_EQ(now.graphql_points, 2000);
  EXPECT_EQ(now.block_seconds, 10);
  secondary_admission refused = limits.admit("t", get, 1);
  EXPECT_FALSE(refused.allowed());
  EXPECT_EQ(refused.retry_after, 59);  // the window (59 s) outlasts the block (10 s)
  limits.reset();
  EXPECT_EQ(limits.settings().rest_points, 900);
  EXPECT_EQ(limits.settings().block_seconds, 60);
  EXPECT_EQ(limits.tracked_tokens(), 0u);
  EXPECT_TRUE(limits.admit("t", get, 2).allowed());
}

TEST(FakeGithubSecondary, TheTableIsBoundedIdleTokensGoFirstThenTheLeastRecentlySeen) {
  secondary_limits limits(settings(2, 0, 0, 0, 0), 2);
  EXPECT_TRUE(limits.admit("a", get, 1000).allowed());
  EXPECT_TRUE(limits.admit("b", get, 1001).allowed());
  EXPECT_EQ(limits.tracked_tokens(), 2u);
  // 60 s on, a and b have nothing left in any window: both are dropped.
  EXPECT_TRUE(limits.admit("c", get, 1100).allowed());
  EXPECT_EQ(limits.tracked_tokens(), 1u);
  EXPECT_TRUE(limits.admit("d", get, 1101).allowed());
  EXPECT_TRUE(limits.admit("c", get, 1102).allowed());  // c is now at its limit and seen last
  EXPECT_TRUE(limits.admit("e", get, 1103).allowed());  // full, nobody idle: d goes
  EXPECT_EQ(limits.tracked_tokens(), 2u);
  EXPECT_EQ(limits.usage("d", 1103).rest, 0);
  EXPECT_EQ(limits.usage("c", 1103).rest, 2);
  EXPECT_FALSE(limits.admit("c", get, 1103).allowed()) << "c kept its window";
}

TEST(FakeGithubSecondary, AClockMovedBackDoesNotCountTheFutureOrProlongABlock) {
  secondary_limits limits(settings(1, 0, 0, 0, 60));
  EXPECT_TRUE(limits.admit("t", get, 5000).allowed());
  EXPECT_FALSE(limits.admit("t", get, 5001).allowed());  // blocked 5001…5060
  EXPECT_EQ(limits.usage("t", 4000).rest, 0);
  EXPECT_TRUE(limits.admit("t", get, 4000).allowed());
}

TEST(FakeGithubSecondary, CommandLineFlags) {
  options defaults = parse_options({});
  EXPECT_EQ(defaults.secondary_rest_points, 900);
  EXPECT_EQ(defaults.secondary_graphql_points, 2000);
  EXPECT_EQ(defaults.secondary_content_per_minute, 80);
  EXPECT_EQ(defaults.secondary_content_per_hour, 500);
  EXPECT_EQ(defaults.secondary_block_seconds, 60);
  options o = parse_options({"--secondary-rest-points", "5", "--secondary-graphql-points=0",
                             "--secondary-content-per-minute", "7", "--secondary-content-per-hour=9",
                             "--secondary-block-seconds", "0"});
  EXPECT_EQ(o.secondary_rest_points, 5);
  EXPECT_EQ(o.secondary_graphql_points, 0);
  EXPECT_EQ(o.secondary_content_per_minute, 7);
  EXPECT_EQ(o.secondary_content_per_hour, 9);
  EXPECT_EQ(o.secondary_block_seconds, 0);
  EXPECT_THROW(parse_options({"--secondary-rest-points", "-1"}), std::invalid_argument);
  EXPECT_THROW(parse_options({"--secondary-block-seconds", "86401"}), std::invalid_argument);
}

}  // namespace
}  // namespace fake_github
