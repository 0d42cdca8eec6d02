#include "github_proxy/credentials/rate_limit_state.h"

#include <gtest/gtest.h>

namespace github_proxy::credentials {
namespace {

using std::chrono::seconds;

const time_point t0 = from_epoch_seconds(1'700'000'000);

rate_limit_headers headers(std::int64_t limit, std::int64_t remaining, time_point reset,
                           std::optional<resource> named = std::nullopt) {
  rate_limit_headers h;
  h.limit = limit;
  h.remaining = remaining;
  h.used = limit - remaining;
  h.reset = reset;
  h.named = named;
  return h;
}

verdict ok() { return {}; }
verdict primary(std::optional<time_point> reset) {
  verdict v;
  v.kind = verdict_kind::primary_limit;
  v.reset = reset;
  v.remaining_zero = true;
  return v;
}
verdict secondary(std::optional<seconds> retry_after = std::nullopt) {
  verdict v;
  v.kind = verdict_kind::secondary_limit;
  v.retry_after = retry_after;
  return v;
}
verdict unauthorised() {
  verdict v;
  v.kind = verdict_kind::bad_credential;
  return v;
}

TEST(RateLimitState, UnobservedBucketAssumesAFullDefaultWindow) {
  const credential_limits limits;
  const auto core = limits.bucket(resource::core, t0);
  EXPECT_FALSE(core.observed);
  EXPECT_EQ(core.limit, 5000);
  EXPECT_EQ(core.remaining, 5000);
  EXPECT_FALSE(core.reset);
  EXPECT_EQ(core.state, credential_state::ok);
  EXPECT_EQ(limits.bucket(resource::search, t0).remaining, 30);
  EXPECT_EQ(limits.state(t0), credential_state::ok);
}

TEST(RateLimitState, RecordsHeadersAndTheHeaderResourceWins) {
  credential_limits limits;
  const auto reset = t0 + seconds(60);
  const auto charged = limits.on_response(resource::core, headers(30, 12, reset, resource::search), ok(), t0);
  EXPECT_EQ(charged, resource::search);
  const auto search = limits.bucket(resource::search, t0);
  EXPECT_TRUE(search.observed);
  EXPECT_EQ(search.limit, 30);
  EXPECT_EQ(search.remaining, 12);
  EXPECT_EQ(search.used, 18);
  EXPECT_EQ(search.reset, reset);
  EXPECT_FALSE(limits.bucket(resource::core, t0).observed);
}

TEST(RateLimitState, UnknownHeaderResourceRecordsNothing) {
  credential_limits limits;
  auto h = headers(1000, 3, t0 + seconds(3600));
  h.unknown_resource = true;
  EXPECT_EQ(limits.on_response(resource::core, h, ok(), t0), resource::core);
  EXPECT_FALSE(limits.bucket(resource::core, t0).observed);
}

TEST(RateLimitState, NoHeadersRecordNothing) {
  credential_limits limits;  // GHES with rate limits off, uploads.github.com
  limits.on_response(resource::core, rate_limit_headers{}, ok(), t0);
  EXPECT_FALSE(limits.bucket(resource::core, t0).observed);
}

TEST(RateLimitState, RemainingOnlyFallsWithinAWindow) {
  credential_limits limits;
  const auto reset = t0 + seconds(3000);
  limits.on_response(resource::core, headers(5000, 4790, reset), ok(), t0);
  limits.on_response(resource::core, headers(5000, 4793, reset), ok(), t0);  // overtaken answer
  EXPECT_EQ(limits.bucket(resource::core, t0).remaining, 4790);
  EXPECT_EQ(limits.bucket(resource::core, t0).used, 210);
  // An answer from the previous window is ignored entirely.
  limits.on_response(resource::core, headers(5000, 4999, reset - seconds(3600)), ok(), t0);
  EXPECT_EQ(limits.bucket(resource::core, t0).remaining, 4790);
  // A new window replaces the numbers, upwards too.
  limits.on_response(resource::core, headers(5000, 4999, reset + seconds(3600)), ok(), reset);
  EXPECT_EQ(limits.bucket(resource::core, reset).remaining, 4999);
}

TEST(RateLimitState, InFlightIsCountedPerResourceAndInTotal) {
  credential_limits limits;
  limits.begin(resource::core);
  limits.begin(resource::core);
  limits.begin(resource::search);
  EXPECT_EQ(limits.in_flight(), 3u);
  EXPECT_EQ(limits.bucket(resource::core, t0).in_flight, 2u);
  EXPECT_EQ(limits.bucket(resource::search, t0).in_flight, 1u);
  limits.end(resource::core);
  limits.end(resource::search);
  limits.end(resource::search);  // unmatched: no underflow
  EXPECT_EQ(limits.in_flight(), 1u);
  EXPECT_EQ(limits.bucket(resource::search, t0).in_flight, 0u);
}

TEST(RateLimitState, OkToExhaustedByPrimaryLimitAndBackAtReset) {
  credential_limits limits;
  const auto reset = t0 + seconds(1200);
  limits.on_response(resource::core, headers(5000, 0, reset), primary(reset), t0);
  EXPECT_EQ(limits.state(t0), credential_state::exhausted);
  auto view = limits.bucket(resource::core, t0);
  EXPECT_EQ(view.state, credential_state::exhausted);
  EXPECT_EQ(view.remaining, 0);
  EXPECT_EQ(view.available_at, reset);
  // Other resources are unaffected.
  EXPECT_EQ(limits.state(resource::search, t0), credential_state::ok);
  EXPECT_EQ(limits.state(reset - seconds(1)), credential_state::exhausted);
  // The clock passes the reset: a fresh window is assumed.
  EXPECT_EQ(limits.state(reset), credential_state::ok);
  view = limits.bucket(resource::core, reset);
  EXPECT_EQ(view.state, credential_state::ok);
  EXPECT_EQ(view.remaining, 5000);
  EXPECT_EQ(view.used, 0);
  EXPECT_FALSE(view.reset);
  EXPECT_FALSE(view.available_at);
}

TEST(RateLimitState, RemainingZeroOnASuccessIsExhaustedToo) {
  credential_limits limits;
  const auto reset = t0 + seconds(30);
  limits.on_response(resource::search, headers(30, 0, reset, resource::search), ok(), t0);
  EXPECT_EQ(limits.state(resource::search, t0), credential_state::exhausted);
  EXPECT_EQ(limits.state(t0), credential_state::ok);  // the credential's state follows core
  EXPECT_EQ(limits.state(resource::search, reset), credential_state::ok);
}

TEST(RateLimitState, PrimaryLimitWithoutUsableResetUsesTheFallback) {
  credential_limits limits;
  // No reset header at all.
  limits.on_response(resource::graphql, rate_limit_headers{}, primary(std::nullopt), t0);
  auto view = limits.bucket(resource::graphql, t0);
  EXPECT_EQ(view.state, credential_state::exhausted);
  EXPECT_EQ(view.available_at, t0 + seconds(60));
  EXPECT_EQ(limits.state(resource::graphql, t0 + seconds(60)), credential_state::ok);
  // A reset already past by our clock (ours runs ahead of GitHub's).
  credential_limits skewed;
  skewed.on_response(resource::core, headers(5000, 0, t0 - seconds(5)), primary(t0 - seconds(5)), t0);
  EXPECT_EQ(skewed.state(t0), credential_state::exhausted);
  EXPECT_EQ(skewed.bucket(resource::core, t0).available_at, t0 + seconds(60));
  EXPECT_EQ(skewed.state(t0 + seconds(60)), credential_state::ok);
}

TEST(RateLimitState, PrimaryLimitParksTheHeaderResource) {
  credential_limits limits;
  const auto reset = t0 + seconds(40);
  limits.on_response(resource::core, headers(30, 0, reset, resource::search), primary(reset), t0);
  EXPECT_EQ(limits.state(resource::search, t0), credential_state::exhausted);
  EXPECT_EQ(limits.state(resource::core, t0), credential_state::ok);
}

TEST(RateLimitState, OkToCoolingByRetryAfterAndBack) {
  credential_limits limits;
  limits.on_response(resource::search, headers(30, 14, t0 + seconds(50), resource::search),
                     secondary(seconds(90)), t0);
  // Cooling is credential-wide: secondary limits are shared by REST and GraphQL.
  for (auto r : {resource::core, resource::search, resource::graphql}) {
    const auto view = limits.bucket(r, t0);
    EXPECT_EQ(view.state, credential_state::cooling) << to_string(r);
    EXPECT_EQ(view.available_at, t0 + seconds(90)) << to_string(r);
  }
  EXPECT_EQ(limits.state(t0), credential_state::cooling);
  EXPECT_EQ(limits.state(t0 + seconds(89)), credential_state::cooling);
  EXPECT_EQ(limits.state(t0 + seconds(90)), credential_state::ok);
}

TEST(RateLimitState, CoolingWithoutRetryAfterBacksOffExponentially) {
  credential_limits limits;
  time_point now = t0;
  const seconds expected[] = {seconds(60), seconds(120), seconds(240), seconds(480), seconds(900), seconds(900)};
  for (const auto wait : expected) {
    limits.on_response(resource::core, rate_limit_headers{}, secondary(), now);
    EXPECT_EQ(limits.bucket(resource::core, now).available_at, now + wait);
    now += wait;
    EXPECT_EQ(limits.state(now), credential_state::ok);
  }
  // An ok answer ends the streak.
  limits.on_response(resource::core, rate_limit_headers{}, ok(), now);
  limits.on_response(resource::core, rate_limit_headers{}, secondary(), now);
  EXPECT_EQ(limits.bucket(resource::core, now).available_at, now + seconds(60));
}

TEST(RateLimitState, SecondaryWithRemainingZeroWaitsForReset) {
  credential_limits limits;
  verdict v = secondary();
  v.remaining_zero = true;
  v.reset = t0 + seconds(300);
  limits.on_response(resource::core, headers(5000, 0, t0 + seconds(300)), v, t0);
  EXPECT_EQ(limits.state(t0), credential_state::cooling);
  EXPECT_EQ(limits.bucket(resource::core, t0).available_at, t0 + seconds(300));
  EXPECT_EQ(limits.state(t0 + seconds(300)), credential_state::ok);
}

TEST(RateLimitState, CoolingNeverShortensAndCombinesWithExhaustion) {
  credential_limits limits;
  limits.on_response(resource::core, rate_limit_headers{}, secondary(seconds(300)), t0);
  limits.on_response(resource::core, rate_limit_headers{}, secondary(seconds(10)), t0);
  EXPECT_EQ(limits.bucket(resource::core, t0).available_at, t0 + seconds(300));
  // Exhausted as well, with a later reset: available at the later of the two.
  const auto reset = t0 + seconds(900);
  limits.on_response(resource::core, headers(5000, 0, reset), primary(reset), t0);
  const auto view = limits.bucket(resource::core, t0);
  EXPECT_EQ(view.state, credential_state::cooling);
  EXPECT_EQ(view.available_at, reset);
  EXPECT_EQ(limits.state(t0 + seconds(300)), credential_state::exhausted);
  EXPECT_EQ(limits.state(reset), credential_state::ok);
}

TEST(RateLimitState, RetryAfterZeroStillParksBriefly) {
  credential_limits limits;
  limits.on_response(resource::core, rate_limit_headers{}, secondary(seconds(0)), t0);
  EXPECT_EQ(limits.state(t0), credential_state::cooling);
  EXPECT_EQ(limits.state(t0 + seconds(1)), credential_state::ok);
}

TEST(RateLimitState, BrokenUntilRenewedAndItOutranksTheOthers) {
  credential_limits limits;
  limits.on_response(resource::core, rate_limit_headers{}, secondary(seconds(60)), t0);
  limits.on_response(resource::core, rate_limit_headers{}, unauthorised(), t0);
  EXPECT_EQ(limits.state(t0), credential_state::broken);
  const auto view = limits.bucket(resource::graphql, t0);
  EXPECT_EQ(view.state, credential_state::broken);
  EXPECT_FALSE(view.available_at);
  // Time alone does not heal a 401.
  EXPECT_EQ(limits.state(t0 + seconds(86400)), credential_state::broken);
  limits.renewed();
  EXPECT_EQ(limits.state(t0), credential_state::cooling);
  EXPECT_EQ(limits.state(t0 + seconds(60)), credential_state::ok);
}

// The instant a bucket came back from being parked, which selection ramps
// the load up from (selection.h).
TEST(RateLimitState, ReturnedAtAfterASpentWindowResets) {
  credential_limits limits;
  const auto reset = t0 + seconds(600);
  EXPECT_FALSE(limits.bucket(resource::core, t0).returned_at);  // never parked
  limits.on_response(resource::core, headers(5000, 0, reset), primary(reset), t0);
  EXPECT_FALSE(limits.bucket(resource::core, t0).returned_at);  // still parked
  EXPECT_FALSE(limits.bucket(resource::core, reset - seconds(1)).returned_at);
  EXPECT_EQ(limits.bucket(resource::core, reset).returned_at, reset);
  EXPECT_EQ(limits.bucket(resource::core, reset + seconds(5)).returned_at, reset);
  // The first answer of the new window does not move it.
  limits.on_response(resource::core, headers(5000, 4999, reset + seconds(3600)), ok(), reset + seconds(1));
  EXPECT_EQ(limits.bucket(resource::core, reset + seconds(2)).returned_at, reset);
  // Other buckets were never parked.
  EXPECT_FALSE(limits.bucket(resource::search, reset + seconds(2)).returned_at);
}

TEST(RateLimitState, ReturnedAtAfterTheLastCreditWasSpentOnASuccess) {
  credential_limits limits;
  const auto reset = t0 + seconds(60);
  limits.on_response(resource::search, headers(30, 0, reset, resource::search), ok(), t0);
  EXPECT_EQ(limits.state(resource::search, t0), credential_state::exhausted);
  EXPECT_EQ(limits.bucket(resource::search, reset).returned_at, reset);
}

TEST(RateLimitState, NoReturnedAtForAnOrdinaryWindowRollover) {
  credential_limits limits;
  const auto reset = t0 + seconds(600);
  limits.on_response(resource::core, headers(5000, 1, reset), ok(), t0);
  EXPECT_FALSE(limits.bucket(resource::core, reset + seconds(1)).returned_at);
}

TEST(RateLimitState, ReturnedAtAfterACoolDownForEveryResource) {
  credential_limits limits;
  limits.on_response(resource::core, rate_limit_headers{}, secondary(seconds(30)), t0);
  EXPECT_FALSE(limits.bucket(resource::core, t0 + seconds(29)).returned_at);
  for (auto r : {resource::core, resource::search, resource::graphql}) {
    EXPECT_EQ(limits.bucket(r, t0 + seconds(31)).returned_at, t0 + seconds(30)) << to_string(r);
  }
  // The later of a cool-down end and a spent window's reset.
  const auto reset = t0 + seconds(45);
  limits.on_response(resource::graphql, headers(5000, 0, reset, resource::graphql), primary(reset), t0);
  EXPECT_EQ(limits.bucket(resource::graphql, t0 + seconds(50)).returned_at, reset);
  EXPECT_EQ(limits.bucket(resource::core, t0 + seconds(50)).returned_at, t0 + seconds(30));
  // A broken credential has not returned.
  limits.on_response(resource::core, rate_limit_headers{}, unauthorised(), t0 + seconds(50));
  EXPECT_FALSE(limits.bucket(resource::core, t0 + seconds(51)).returned_at);
}

TEST(RateLimitState, NamesForTheMetric) {
  EXPECT_EQ(to_string(credential_state::ok), "ok");
  EXPECT_EQ(to_string(credential_state::exhausted), "exhausted");
  EXPECT_EQ(to_string(credential_state::cooling), "cooling");
  EXPECT_EQ(to_string(credential_state::broken), "broken");
}

}  // namespace
}  // namespace github_proxy::credentials
