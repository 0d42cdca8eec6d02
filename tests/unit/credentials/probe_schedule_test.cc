#include "github_proxy/credentials/probe_schedule.h"

#include <gtest/gtest.h>

#include "unit/credentials/manual_clock.h"

namespace github_proxy::credentials {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using testing::manual_clock;

const time_point t0 = from_epoch_seconds(1'700'000'000);

TEST(ProbeSchedule, NothingIsDueUntilBroken) {
  probe_schedule probe;
  EXPECT_FALSE(probe.scheduled());
  EXPECT_FALSE(probe.try_begin(t0 + minutes(600)));
}

TEST(ProbeSchedule, BackoffStartsAtAMinuteAndDoublesUpToAnHour) {
  manual_clock clock(t0);
  probe_schedule probe;
  probe.broken(clock.now());
  EXPECT_EQ(probe.next_at(), t0 + minutes(1));
  EXPECT_FALSE(probe.try_begin(t0 + seconds(59)));

  const minutes expected[] = {minutes(1), minutes(2), minutes(4), minutes(8), minutes(16),
                              minutes(32), minutes(60), minutes(60)};
  for (const auto wait : expected) {
    ASSERT_TRUE(probe.next_at());
    clock.set(*probe.next_at() - seconds(1));
    EXPECT_FALSE(probe.try_begin(clock.now())) << wait.count();
    clock.advance(seconds(1));
    EXPECT_EQ(probe.backoff(), wait);
    ASSERT_TRUE(probe.try_begin(clock.now())) << wait.count();
    EXPECT_TRUE(probe.in_flight());
    probe.finished(probe_result::rejected, clock.now());  // GitHub still says 401
    EXPECT_FALSE(probe.in_flight());
    EXPECT_EQ(probe.next_at(), clock.now() + std::min<seconds>(wait * 2, minutes(60))) << wait.count();
  }
}

TEST(ProbeSchedule, OneProbeInFlight) {
  probe_schedule probe;
  probe.broken(t0);
  ASSERT_TRUE(probe.try_begin(t0 + minutes(1)));
  EXPECT_FALSE(probe.try_begin(t0 + minutes(1)));
  EXPECT_FALSE(probe.try_begin(t0 + minutes(90)));
  probe.finished(probe_result::inconclusive, t0 + minutes(2));
  // No answer (or one that says nothing about the token): the same wait again.
  EXPECT_EQ(probe.next_at(), t0 + minutes(3));
  EXPECT_EQ(probe.backoff(), minutes(1));
}

TEST(ProbeSchedule, AcceptedEndsTheScheduleAndTheNextBreakStartsOver) {
  probe_schedule probe;
  probe.broken(t0);
  ASSERT_TRUE(probe.try_begin(t0 + minutes(1)));
  probe.finished(probe_result::rejected, t0 + minutes(1));
  ASSERT_TRUE(probe.try_begin(t0 + minutes(3)));
  probe.finished(probe_result::accepted, t0 + minutes(3));
  EXPECT_FALSE(probe.scheduled());
  EXPECT_FALSE(probe.try_begin(t0 + minutes(100)));
  probe.broken(t0 + minutes(10));
  EXPECT_EQ(probe.next_at(), t0 + minutes(11));
  EXPECT_EQ(probe.backoff(), minutes(1));
}

TEST(ProbeSchedule, LateBreaksDoNotPostponeTheProbe) {
  probe_schedule probe;
  probe.broken(t0);
  probe.broken(t0 + seconds(50));  // another request's 401, still in flight when it broke
  EXPECT_EQ(probe.next_at(), t0 + minutes(1));
}

TEST(ProbeSchedule, ClearedWhileAProbeIsInFlight) {
  probe_schedule probe;
  probe.broken(t0);
  ASSERT_TRUE(probe.try_begin(t0 + minutes(1)));
  probe.clear();  // reload_secrets made it usable meanwhile
  EXPECT_FALSE(probe.scheduled());
  EXPECT_TRUE(probe.in_flight());
  // It breaks again before the old probe ends: the old answer changes nothing.
  probe.broken(t0 + minutes(2));
  EXPECT_FALSE(probe.try_begin(t0 + minutes(5)));  // the old probe is still out
  probe.abandon();
  EXPECT_EQ(probe.next_at(), t0 + minutes(3));
  EXPECT_TRUE(probe.try_begin(t0 + minutes(5)));
  // A result without a claim is ignored.
  probe_schedule idle;
  idle.broken(t0);
  idle.finished(probe_result::accepted, t0);
  EXPECT_EQ(idle.next_at(), t0 + minutes(1));
}

TEST(ProbeSchedule, PolicyIsConfigurable) {
  probe_schedule probe({seconds(5), seconds(12)});
  probe.broken(t0);
  EXPECT_EQ(probe.next_at(), t0 + seconds(5));
  ASSERT_TRUE(probe.try_begin(t0 + seconds(5)));
  probe.finished(probe_result::rejected, t0 + seconds(5));
  EXPECT_EQ(probe.next_at(), t0 + seconds(15));
  ASSERT_TRUE(probe.try_begin(t0 + seconds(15)));
  probe.finished(probe_result::rejected, t0 + seconds(15));
  EXPECT_EQ(probe.next_at(), t0 + seconds(27));
}

}  // namespace
}  // namespace github_proxy::credentials
