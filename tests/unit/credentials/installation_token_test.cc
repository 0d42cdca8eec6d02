#include "github_proxy/credentials/installation_token.h"

#include <gtest/gtest.h>

#include "github_proxy/credentials/errors.h"

namespace github_proxy::credentials {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using access = installation_token::access;

const time_point t0 = from_epoch_seconds(1'732'492'802);  // 2024-11-25T00:00:02Z

issued_token hour_token(time_point now, std::string value = "ghs_16C7e42F292c6912E7710c838347Ae178B4a") {
  return issued_token{std::move(value), now + minutes(60)};
}

TEST(InstallationToken, ParsesTheRecorded201) {
  const auto body =
      R"({"token":"ghs_16C7e42F292c6912E7710c838347Ae178B4a","expires_at":"2024-11-25T01:00:02Z",)"
      R"("permissions":{"metadata":"read"},"repository_selection":"selected"})";
  const auto parsed = parse_installation_token(201, body);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->token, "ghs_16C7e42F292c6912E7710c838347Ae178B4a");
  EXPECT_EQ(parsed->expires_at, t0 + minutes(60));
  // Fractional seconds and a +00:00 offset are RFC 3339 too.
  const auto fraction = parse_installation_token(201, R"({"token":"ghs_x","expires_at":"2024-11-25T01:00:02.250Z"})");
  ASSERT_TRUE(fraction);
  EXPECT_EQ(fraction->expires_at, t0 + minutes(60));
  const auto offset = parse_installation_token(201, R"({"token":"ghs_x","expires_at":"2024-11-25T01:00:02+00:00"})");
  ASSERT_TRUE(offset);
  EXPECT_EQ(offset->expires_at, t0 + minutes(60));
}

TEST(InstallationToken, RejectsOtherStatusesAndMalformedBodies) {
  const auto rejected = parse_installation_token(
      401, R"({"message":"A JSON web token could not be decoded","documentation_url":"https://docs.github.com/rest"})");
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error(), make_error_code(credential_error::token_rejected));
  const char* malformed[] = {
      "",
      "not json",
      R"(["ghs_x"])",
      R"({"expires_at":"2024-11-25T01:00:02Z"})",
      R"({"token":"","expires_at":"2024-11-25T01:00:02Z"})",
      R"({"token":42,"expires_at":"2024-11-25T01:00:02Z"})",
      R"({"token":"ghs_SECRET with space","expires_at":"2024-11-25T01:00:02Z"})",
      R"({"token":"ghs_SECRET\r\nX-Injected: 1","expires_at":"2024-11-25T01:00:02Z"})",
      R"({"token":"ghs_SECRET"})",
      R"({"token":"ghs_SECRET","expires_at":"tomorrow"})",
      R"({"token":"ghs_SECRET","expires_at":"2024-11-25 01:00:02"})",
  };
  for (const char* body : malformed) {
    const auto r = parse_installation_token(201, body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error(), make_error_code(credential_error::token_response_malformed)) << body;
    EXPECT_EQ(r.error().message().find("SECRET"), std::string::npos);
  }
  std::string huge = R"({"token":"ghs_x","expires_at":"2024-11-25T01:00:02Z","pad":")";
  huge.append(1024 * 1024, 'x');
  huge.append(R"("})");
  EXPECT_FALSE(parse_installation_token(201, huge));
}

TEST(InstallationToken, NoneToRenewingToValid) {
  installation_token token;
  EXPECT_EQ(token.state(t0), token_state::none);
  EXPECT_EQ(token.check(t0), access::wait);  // nothing yet, but a renewal may start
  EXPECT_FALSE(token.current(t0));
  EXPECT_TRUE(token.renewal_due(t0));
  ASSERT_TRUE(token.try_begin_renewal(t0));
  EXPECT_EQ(token.state(t0), token_state::renewing);
  EXPECT_EQ(token.check(t0), access::wait);
  // Only one renewal in flight.
  EXPECT_FALSE(token.renewal_due(t0));
  EXPECT_FALSE(token.try_begin_renewal(t0));
  token.renewal_succeeded(hour_token(t0), t0);
  EXPECT_EQ(token.state(t0), token_state::valid);
  EXPECT_EQ(token.check(t0), access::use);
  const auto lease = token.current(t0);
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->token, "ghs_16C7e42F292c6912E7710c838347Ae178B4a");
  EXPECT_EQ(lease->issued_at, t0);
  EXPECT_FALSE(token.renewal_due(t0));
  EXPECT_FALSE(token.renewal_in_flight());
}

TEST(InstallationToken, RenewsAtEightyPercentOrFiveMinutesBeforeExpiry) {
  installation_token token;
  ASSERT_TRUE(token.try_begin_renewal(t0));
  token.renewal_succeeded(hour_token(t0), t0);
  // A one-hour token: 80 % (48 min) comes before expiry − 5 min (55 min).
  EXPECT_EQ(token.renew_at(), t0 + minutes(48));
  EXPECT_EQ(token.state(t0 + minutes(48) - seconds(1)), token_state::valid);
  EXPECT_FALSE(token.renewal_due(t0 + minutes(48) - seconds(1)));
  EXPECT_EQ(token.state(t0 + minutes(48)), token_state::expiring_soon);
  EXPECT_TRUE(token.renewal_due(t0 + minutes(48)));
  // A short-lived token: expiry − 5 min comes first.
  installation_token short_lived;
  ASSERT_TRUE(short_lived.try_begin_renewal(t0));
  short_lived.renewal_succeeded(issued_token{"ghs_short", t0 + minutes(10)}, t0);
  EXPECT_EQ(short_lived.renew_at(), t0 + minutes(5));
}

TEST(InstallationToken, ExpiringSoonStaysUsableWhileRenewing) {
  installation_token token;
  ASSERT_TRUE(token.try_begin_renewal(t0));
  token.renewal_succeeded(hour_token(t0, "ghs_first"), t0);
  const auto later = t0 + minutes(50);
  ASSERT_TRUE(token.try_begin_renewal(later));
  EXPECT_EQ(token.state(later), token_state::expiring_soon);
  EXPECT_EQ(token.check(later), access::use);
  EXPECT_EQ(token.current(later)->token, "ghs_first");
  const auto first_generation = token.current(later)->generation;
  token.renewal_succeeded(hour_token(later, "ghs_second"), later);
  EXPECT_EQ(token.state(later), token_state::valid);
  EXPECT_EQ(token.current(later)->token, "ghs_second");
  EXPECT_NE(token.current(later)->generation, first_generation);
}

TEST(InstallationToken, NotHandedOutWithinTheExpiryMargin) {
  installation_token token;
  ASSERT_TRUE(token.try_begin_renewal(t0));
  token.renewal_succeeded(hour_token(t0), t0);
  const auto expiry = t0 + minutes(60);
  EXPECT_TRUE(token.current(expiry - seconds(31)));
  EXPECT_FALSE(token.current(expiry - seconds(30)));
  EXPECT_EQ(token.check(expiry - seconds(30)), access::wait);  // renewal can start
  EXPECT_EQ(token.state(expiry), token_state::none);
}

TEST(InstallationToken, FailedRenewalBacksOffExponentially) {
  installation_token token;
  time_point now = t0;
  const seconds waits[] = {seconds(5), seconds(10), seconds(20), seconds(40), seconds(80), seconds(160),
                           seconds(300), seconds(300)};
  for (const auto wait : waits) {
    ASSERT_TRUE(token.try_begin_renewal(now));
    token.renewal_failed(now);
    EXPECT_EQ(token.state(now), token_state::failed);
    EXPECT_EQ(token.check(now), access::unavailable);
    EXPECT_EQ(token.next_attempt_at(), now + wait);
    EXPECT_FALSE(token.renewal_due(now + wait - seconds(1)));
    EXPECT_FALSE(token.try_begin_renewal(now + wait - seconds(1)));
    now += wait;
    EXPECT_EQ(token.check(now), access::wait);
    EXPECT_TRUE(token.renewal_due(now));
  }
  // Success ends the streak.
  ASSERT_TRUE(token.try_begin_renewal(now));
  token.renewal_succeeded(hour_token(now), now);
  EXPECT_EQ(token.state(now), token_state::valid);
  EXPECT_FALSE(token.next_attempt_at());
  const auto later = now + minutes(60);  // expired
  ASSERT_TRUE(token.try_begin_renewal(later));
  token.renewal_failed(later);
  EXPECT_EQ(token.next_attempt_at(), later + seconds(5));
}

TEST(InstallationToken, FailedProactiveRenewalKeepsTheOldToken) {
  installation_token token;
  ASSERT_TRUE(token.try_begin_renewal(t0));
  token.renewal_succeeded(hour_token(t0), t0);
  const auto later = t0 + minutes(49);
  ASSERT_TRUE(token.try_begin_renewal(later));
  token.renewal_failed(later);
  EXPECT_EQ(token.state(later), token_state::expiring_soon);
  EXPECT_EQ(token.check(later), access::use);
  EXPECT_FALSE(token.renewal_due(later + seconds(4)));
  EXPECT_TRUE(token.renewal_due(later + seconds(5)));
}

TEST(InstallationToken, InvalidateDropsOnlyTheTokenThatFailed) {
  installation_token token;
  ASSERT_TRUE(token.try_begin_renewal(t0));
  token.renewal_succeeded(hour_token(t0, "ghs_old"), t0);
  const auto old_generation = token.current(t0)->generation;
  ASSERT_TRUE(token.try_begin_renewal(t0 + minutes(48)));
  token.renewal_succeeded(hour_token(t0 + minutes(48), "ghs_new"), t0 + minutes(48));
  const auto now = t0 + minutes(48);
  token.invalidate(old_generation);  // a late 401 for the replaced token
  EXPECT_EQ(token.current(now)->token, "ghs_new");
  token.invalidate(token.current(now)->generation);
  EXPECT_FALSE(token.current(now));
  EXPECT_EQ(token.state(now), token_state::none);
  EXPECT_EQ(token.check(now), access::wait);
  EXPECT_TRUE(token.renewal_due(now));
  EXPECT_FALSE(token.renew_at());
}

TEST(InstallationToken, StateNames) {
  EXPECT_EQ(to_string(token_state::none), "none");
  EXPECT_EQ(to_string(token_state::renewing), "renewing");
  EXPECT_EQ(to_string(token_state::valid), "valid");
  EXPECT_EQ(to_string(token_state::expiring_soon), "expiring_soon");
  EXPECT_EQ(to_string(token_state::failed), "failed");
}

}  // namespace
}  // namespace github_proxy::credentials
