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

TEST(SecondaryWindow, AdmitsUpToItsShareOfTheMinuteThenSlides) {
  secondary_window w({.rest_points_per_minute = 10, .share = 0.5});  // 5 points
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
  secondary_window w({.rest_points_per_minute = 5, .graphql_points_per_minute = 5, .share = 1.0});
  w.spend(secondary_cost("POST", false, false), t0);  // 5 REST points
  EXPECT_FALSE(w.admits(secondary_cost("GET", false, false), t0));
  EXPECT_TRUE(w.admits(secondary_cost("POST", true, false), t0));
}

TEST(SecondaryWindow, ContentCreationHasItsOwnMinuteAndHour) {
  secondary_window w({.content_per_minute = 3, .content_per_hour = 4, .share = 1.0});
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

TEST(SecondaryWindow, ACostOverTheWholeShareNeverFits) {
  secondary_window w({.rest_points_per_minute = 4, .share = 1.0});
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
  secondary_window w({.rest_points_per_minute = 10, .share = 1.0});
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
  w.set_others({});
  EXPECT_TRUE(w.admits(get, t0));
}

}  // namespace
}  // namespace github_proxy::credentials
