#include "github_proxy/credentials/secondary_limits.h"

#include <gtest/gtest.h>

namespace github_proxy::credentials {
namespace {

using std::chrono::seconds;

const time_point t0 = from_epoch_seconds(1'700'000'040);  // 40 s into a minute

TEST(SecondaryCost, GitHubsDocumentedPoints) {
  EXPECT_EQ(secondary_cost("GET", false, false).points, 1);
  EXPECT_EQ(secondary_cost("HEAD", false, false).points, 1);
  EXPECT_EQ(secondary_cost("OPTIONS", false, false).points, 1);
  const auto post = secondary_cost("POST", false, false);
  EXPECT_EQ(post.points, 5);
  EXPECT_TRUE(post.creates_content);
  EXPECT_EQ(secondary_cost("DELETE", false, false).points, 5);
  EXPECT_FALSE(secondary_cost("DELETE", false, false).creates_content);
  const auto query = secondary_cost("POST", true, false);
  EXPECT_EQ(query.kind, point_kind::graphql);
  EXPECT_EQ(query.points, 1);
  EXPECT_FALSE(query.creates_content);
  const auto mutation = secondary_cost("POST", true, true);
  EXPECT_EQ(mutation.points, 5);
  EXPECT_TRUE(mutation.creates_content);
}

// The share is rounded down exactly: 29 % of 100 is 29 points, not the 28
// a floating-point product (28.999…) would give.
TEST(SecondaryWindow, TheShareIsExactIntegerArithmetic) {
  for (const std::int64_t percent : {29, 57, 58, 90, 100}) {
    secondary_window w({.rest_points_per_minute = 100, .share_percent = percent});
    const auto get = secondary_cost("GET", false, false);
    for (std::int64_t i = 0; i < percent; ++i) {
      ASSERT_TRUE(w.admits(get, t0)) << percent << "% after " << i;
      w.spend(get, t0);
    }
    EXPECT_FALSE(w.admits(get, t0)) << percent << "%";
  }
}

TEST(SecondaryWindow, AdmitsUpToItsShareOfTheMinuteThenSlides) {
  secondary_window w({.rest_points_per_minute = 10, .share_percent = 50});  // 5 points
  const auto get = secondary_cost("GET", false, false);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(w.admits(get, t0 + seconds(i)));
    w.spend(get, t0 + seconds(i));
  }
  EXPECT_FALSE(w.admits(get, t0 + seconds(5)));
  EXPECT_EQ(w.usage(t0 + seconds(5)).rest_points, 5);
  // The first point leaves a minute after it was spent.
  EXPECT_EQ(w.room_at(get, t0 + seconds(5)), t0 + seconds(60));
  EXPECT_FALSE(w.admits(get, t0 + seconds(59)));
  EXPECT_TRUE(w.admits(get, t0 + seconds(60)));
  EXPECT_EQ(w.usage(t0 + seconds(64)).rest_points, 0);
}

TEST(SecondaryWindow, RestAndGraphqlAreCountedApart) {
  secondary_window w({.rest_points_per_minute = 5, .graphql_points_per_minute = 5, .share_percent = 100});
  w.spend(secondary_cost("POST", false, false), t0);  // 5 REST points
  EXPECT_FALSE(w.admits(secondary_cost("GET", false, false), t0));
  EXPECT_TRUE(w.admits(secondary_cost("POST", true, false), t0));
}

TEST(SecondaryWindow, ContentCreationHasItsOwnMinuteAndHour) {
  secondary_window w({.content_per_minute = 3, .content_per_hour = 4, .share_percent = 100});
  const auto post = secondary_cost("POST", false, false);
  for (int i = 0; i < 3; ++i) w.spend(post, t0 + seconds(i));
  EXPECT_FALSE(w.admits(post, t0 + seconds(3))) << "3 a minute";
  EXPECT_TRUE(w.admits(secondary_cost("DELETE", false, false), t0 + seconds(3))) << "not content";
  EXPECT_EQ(w.room_at(post, t0 + seconds(3)), t0 + seconds(60));
  w.spend(post, t0 + seconds(60));
  EXPECT_EQ(w.usage(t0 + seconds(61)).content_hour, 4);
  EXPECT_FALSE(w.admits(post, t0 + seconds(200))) << "4 an hour";
  // The hour counts by minute slots: the first minute's three leave when
  // that minute is an hour old.
  const auto back = w.room_at(post, t0 + seconds(200));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(to_epoch_seconds(*back) % 60, 0);
  EXPECT_GE(*back, t0 + seconds(3600 - 40));
  EXPECT_LE(*back, t0 + seconds(3600 + 20));
  EXPECT_TRUE(w.admits(post, *back));
}

// Room comes back when every window the request counts against has it:
// the latest of the instants at which each one does.
TEST(SecondaryWindow, RoomIsTheLatestOfEachWindowsReturn) {
  secondary_window w({.rest_points_per_minute = 15, .content_per_minute = 2, .share_percent = 100});
  const auto post = secondary_cost("POST", false, false);
  w.spend(secondary_cost("DELETE", false, false), t0);  // 5 points, no content
  w.spend(post, t0 + seconds(10));
  w.spend(post, t0 + seconds(20));
  // Points: 10 of 15 once the DELETE leaves (t0 + 60); content: 1 of 2
  // once the first POST leaves (t0 + 70).
  EXPECT_EQ(w.room_at(post, t0 + seconds(30)), t0 + seconds(70));
  EXPECT_FALSE(w.admits(post, t0 + seconds(69)));
  EXPECT_TRUE(w.admits(post, t0 + seconds(70)));
  EXPECT_EQ(w.room_at(secondary_cost("GET", false, false), t0 + seconds(30)), t0 + seconds(60)) << "points only";
}

TEST(SecondaryWindow, ACostOverTheWholeShareNeverFits) {
  secondary_window w({.rest_points_per_minute = 4, .share_percent = 100});
  EXPECT_FALSE(w.room_at(secondary_cost("POST", false, false), t0).has_value());
}

TEST(SecondaryWindow, AZeroLimitIsOff) {
  secondary_window w({.rest_points_per_minute = 0, .content_per_minute = 0, .content_per_hour = 0});
  const auto post = secondary_cost("POST", false, false);
  for (int i = 0; i < 1000; ++i) w.spend(post, t0);
  EXPECT_TRUE(w.admits(post, t0));
  EXPECT_EQ(w.room_at(post, t0), t0);
}

TEST(SecondaryWindow, OtherReplicasUsageCountsUntilTheNextExchange) {
  secondary_window w({.rest_points_per_minute = 10, .share_percent = 100});
  const auto get = secondary_cost("GET", false, false);
  for (int i = 0; i < 4; ++i) w.spend(get, t0);
  w.set_others({.rest_points = 6});
  EXPECT_FALSE(w.admits(get, t0));
  EXPECT_EQ(w.usage(t0).rest_points, 4) << "what this replica publishes: its own";
  EXPECT_EQ(w.counted(t0).rest_points, 10) << "what it admits against";
  // Its own points leave a minute after they were spent; the others' are
  // taken as they are until an exchange says otherwise.
  EXPECT_EQ(w.room_at(get, t0), t0 + seconds(60));
  w.set_others({.rest_points = 10});
  // Nothing of its own can make room: try again after the next exchange.
  EXPECT_EQ(w.room_at(get, t0), t0 + seconds(1));
  w.set_others({.filled = true});
  EXPECT_FALSE(w.admits(get, t0)) << "GitHub refused another replica: full here too";
  EXPECT_TRUE(w.counted(t0).filled);
  EXPECT_EQ(w.room_at(get, t0), t0 + seconds(1)) << "no end said: ask the next exchange";
  // The other replica said how long its cool-down runs: no room before then.
  w.set_others({.filled = true, .cooling_seconds = 40});
  EXPECT_EQ(w.room_at(get, t0), t0 + seconds(40));
  w.set_others({});
  EXPECT_TRUE(w.admits(get, t0));
}

}  // namespace
}  // namespace github_proxy::credentials
