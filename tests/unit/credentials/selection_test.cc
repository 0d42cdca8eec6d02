#include "github_proxy/credentials/selection.h"

#include <gtest/gtest.h>

#include <vector>

namespace github_proxy::credentials {
namespace {

using std::chrono::seconds;

const time_point t0 = from_epoch_seconds(1'700'000'000);

candidate with(std::int64_t remaining, std::uint32_t in_flight = 0, std::uint64_t last_selected = 0) {
  candidate c;
  c.remaining = remaining;
  c.in_flight_resource = in_flight;
  c.in_flight_total = in_flight;
  c.last_selected = last_selected;
  c.reset = t0 + seconds(1800);
  return c;
}

candidate parked(credential_state state, std::optional<time_point> available_at) {
  candidate c = with(0);
  c.state = state;
  c.available_at = available_at;
  return c;
}

selection pick(const std::vector<candidate>& cs, selection_policy policy = {},
               std::optional<std::size_t> preferred = std::nullopt) {
  return select_credential(cs, policy, preferred, t0);
}

TEST(Selection, MostHeadroomWinsCountingRequestsInFlight) {
  const std::vector<candidate> cs = {with(4000), with(4500), with(4600, 200)};
  const auto s = pick(cs, {0, 1000});
  EXPECT_EQ(s.outcome, selection_outcome::selected);
  EXPECT_EQ(s.index, 1u);  // 4600 − 200 in flight = 4400 < 4500
}

TEST(Selection, TiesGoToTheCredentialSelectedLongestAgo) {
  const std::vector<candidate> cs = {with(5000, 0, 7), with(5000, 0, 3), with(5000, 0, 9)};
  EXPECT_EQ(pick(cs).index, 1u);
}

TEST(Selection, TiesSpreadRoundRobinWhenThePoolStampsSelections) {
  // Three equal, unobserved credentials: the pool stamps each selection and
  // counts it in flight; over 9 requests each gets 3.
  std::vector<candidate> cs = {with(5000), with(5000), with(5000)};
  std::uint64_t stamp = 0;
  std::vector<int> count(3, 0);
  for (int i = 0; i < 9; ++i) {
    const auto s = pick(cs);
    ASSERT_EQ(s.outcome, selection_outcome::selected);
    ++count[s.index];
    cs[s.index].last_selected = ++stamp;
    ++cs[s.index].in_flight_resource;
    ++cs[s.index].in_flight_total;
  }
  EXPECT_EQ(count, (std::vector<int>{3, 3, 3}));
}

TEST(Selection, ParkedCredentialsAreSkipped) {
  const std::vector<candidate> cs = {parked(credential_state::exhausted, t0 + seconds(600)),
                                     parked(credential_state::cooling, t0 + seconds(60)),
                                     parked(credential_state::broken, std::nullopt), with(3)};
  const auto s = pick(cs);
  EXPECT_EQ(s.outcome, selection_outcome::selected);
  EXPECT_EQ(s.index, 3u);
}

TEST(Selection, AllParkedGivesTheEarliestReturn) {
  const std::vector<candidate> cs = {parked(credential_state::exhausted, t0 + seconds(600)),
                                     parked(credential_state::cooling, t0 + seconds(90)),
                                     parked(credential_state::broken, std::nullopt),
                                     parked(credential_state::exhausted, t0 - seconds(1))};  // stale: ignored
  const auto s = pick(cs);
  EXPECT_EQ(s.outcome, selection_outcome::exhausted);
  EXPECT_EQ(s.retry_at, t0 + seconds(90));
}

TEST(Selection, AllBrokenHasNoRetryTime) {
  const std::vector<candidate> cs = {parked(credential_state::broken, std::nullopt),
                                     parked(credential_state::broken, std::nullopt)};
  const auto s = pick(cs);
  EXPECT_EQ(s.outcome, selection_outcome::exhausted);
  EXPECT_FALSE(s.retry_at);
  EXPECT_EQ(pick({}).outcome, selection_outcome::exhausted);  // an empty pool
}

TEST(Selection, TheReserveIsKept) {
  const selection_policy policy{100, 100};
  // 100 left = at the reserve: not used; 101 is.
  std::vector<candidate> cs = {with(100), with(101)};
  EXPECT_EQ(pick(cs, policy).index, 1u);
  // Every credential at its reserve: refused, retried at the earliest reset.
  cs = {with(100), with(50)};
  cs[1].reset = t0 + seconds(300);
  const auto s = pick(cs, policy);
  EXPECT_EQ(s.outcome, selection_outcome::exhausted);
  EXPECT_EQ(s.retry_at, t0 + seconds(300));
  // Reserve 0 spends the last credit.
  EXPECT_EQ(pick({with(1)}, {0, 100}).outcome, selection_outcome::selected);
  EXPECT_EQ(pick({with(0)}, {0, 100}).outcome, selection_outcome::exhausted);
}

TEST(Selection, CreditsHeldByRequestsInFlightMeanBusyNotExhausted) {
  // remaining 5 with 5 in flight: some may come back as free 304s.
  const auto s = pick({with(5, 5)});
  EXPECT_EQ(s.outcome, selection_outcome::busy);
}

TEST(Selection, ConcurrencyCapMakesACredentialBusy) {
  const selection_policy policy{0, 2};
  std::vector<candidate> cs = {with(5000, 2), with(10)};
  EXPECT_EQ(pick(cs, policy).index, 1u);  // the cap beats more headroom
  cs = {with(5000, 2), with(4000, 2)};
  EXPECT_EQ(pick(cs, policy).outcome, selection_outcome::busy);
  // The cap counts requests of every resource.
  candidate mixed = with(5000, 0);
  mixed.in_flight_total = 2;
  EXPECT_EQ(pick({mixed}, policy).outcome, selection_outcome::busy);
  // Default cap: GitHub's 100 concurrent requests.
  EXPECT_EQ(pick({with(5000, 99)}).outcome, selection_outcome::selected);
  EXPECT_EQ(pick({with(5000, 100)}).outcome, selection_outcome::busy);
}

TEST(Selection, BusyOutranksExhausted) {
  const std::vector<candidate> cs = {parked(credential_state::exhausted, t0 + seconds(60)), with(5000, 100)};
  const auto s = pick(cs);
  EXPECT_EQ(s.outcome, selection_outcome::busy);
}

TEST(Selection, PreferredCredentialWinsWhileItHasHeadroom) {
  const std::vector<candidate> cs = {with(5000), with(200), with(4000)};
  EXPECT_EQ(pick(cs, {}, 1).index, 1u);
  EXPECT_EQ(pick(cs, {100, 100}, 1).index, 1u);
  // At the reserve, parked or busy: the usual choice.
  EXPECT_EQ(pick(cs, {200, 100}, 1).index, 0u);
  std::vector<candidate> parked_pref = cs;
  parked_pref[1] = parked(credential_state::cooling, t0 + seconds(60));
  EXPECT_EQ(pick(parked_pref, {}, 1).index, 0u);
  std::vector<candidate> busy_pref = cs;
  busy_pref[1].in_flight_total = 100;
  EXPECT_EQ(pick(busy_pref, {}, 1).index, 0u);
  // Out of range: ignored.
  EXPECT_EQ(pick(cs, {}, 7).index, 0u);
}

// --- ramp-up after a return ------------------------------------------------

candidate returned(std::int64_t remaining, time_point at, std::uint32_t in_flight = 0) {
  candidate c = with(remaining, in_flight);
  c.returned_at = at;
  return c;
}

TEST(Selection, ConcurrencyCapGrowsLinearlyAfterAReturn) {
  const selection_policy policy{0, 100, seconds(10), 2};
  const auto back = t0;
  const auto cap_at = [&](seconds after) { return concurrency_cap(returned(5000, back), policy, back + after); };
  EXPECT_EQ(cap_at(seconds(0)), 2u);
  EXPECT_EQ(cap_at(seconds(1)), 2u + 98u * 1 / 10);
  EXPECT_EQ(cap_at(seconds(5)), 2u + 98u * 5 / 10);
  EXPECT_EQ(cap_at(seconds(9)), 2u + 98u * 9 / 10);
  EXPECT_EQ(cap_at(seconds(10)), 100u);
  EXPECT_EQ(cap_at(seconds(3600)), 100u);
  // Never returned, or the ramp is off: the full cap.
  EXPECT_EQ(concurrency_cap(with(5000), policy, t0), 100u);
  EXPECT_EQ(concurrency_cap(returned(5000, back), {0, 100, seconds(0), 2}, back), 100u);
  // A start above max_concurrent, or 0, stays within 1 … max_concurrent.
  EXPECT_EQ(concurrency_cap(returned(5000, back), {0, 3, seconds(10), 50}, back), 3u);
  EXPECT_EQ(concurrency_cap(returned(5000, back), {0, 100, seconds(10), 0}, back), 1u);
}

// Three credentials whose windows reset at the same moment: a waiting burst
// is spread at the ramp's pace instead of being sent at once (on a manual
// clock: the instant is an argument).
TEST(Selection, CredentialsReturningTogetherRampUp) {
  const selection_policy policy{0, 100, seconds(10), 2};
  std::vector<candidate> cs = {returned(5000, t0), returned(5000, t0), returned(5000, t0)};
  const auto burst = [&](time_point now) {
    int sent = 0;
    for (;;) {
      const auto s = select_credential(cs, policy, std::nullopt, now);
      if (s.outcome != selection_outcome::selected) {
        EXPECT_EQ(s.outcome, selection_outcome::busy);  // waits for a completion, not a 429
        return sent;
      }
      ++cs[s.index].in_flight_resource;
      ++cs[s.index].in_flight_total;
      ++sent;
    }
  };
  EXPECT_EQ(burst(t0), 3 * 2);
  EXPECT_EQ(burst(t0 + seconds(5)), 3 * (51 - 2));
  EXPECT_EQ(burst(t0 + seconds(10)), 3 * (100 - 51));
  // The cap counts the resource's requests: other resources do not block it.
  candidate other_busy = returned(5000, t0);
  other_busy.in_flight_total = 40;
  EXPECT_EQ(pick({other_busy}).outcome, selection_outcome::selected);
}

// --- free revalidations ---------------------------------------------------------

TEST(Selection, FreeRevalidationUsesASpentBucketOnlyAsALastResort) {
  const selection_policy free{0, 100};
  // The cache entry's credential (0) is spent; 1 has headroom: 1 sends it.
  const auto spent = for_free_revalidation(parked(credential_state::exhausted, t0 + seconds(600)));
  EXPECT_TRUE(spent.last_resort);
  EXPECT_EQ(spent.state, credential_state::ok);
  std::vector<candidate> cs = {spent, for_free_revalidation(with(40))};
  EXPECT_FALSE(cs[1].last_resort);
  auto s = pick(cs, free, 0);
  EXPECT_EQ(s.outcome, selection_outcome::selected);
  EXPECT_EQ(s.index, 1u);
  // Both spent: the preferred one, whose ETag GitHub will match.
  cs = {spent, spent};
  cs[0].last_selected = 9;
  cs[1].last_selected = 1;
  s = pick(cs, free, 0);
  EXPECT_EQ(s.outcome, selection_outcome::selected);
  EXPECT_EQ(s.index, 0u);
  // No preference: the one selected longest ago.
  EXPECT_EQ(pick(cs, free).index, 1u);
  // A credential with headroom but at its concurrency cap is waited for.
  candidate capped = for_free_revalidation(with(4000, 100));
  s = pick({spent, capped}, free, 0);
  EXPECT_EQ(s.outcome, selection_outcome::busy);
  // Cooling and broken credentials stay skipped.
  const auto cooling = for_free_revalidation(parked(credential_state::cooling, t0 + seconds(60)));
  const auto broken = for_free_revalidation(parked(credential_state::broken, std::nullopt));
  EXPECT_EQ(pick({cooling, broken}, free).outcome, selection_outcome::exhausted);
}

TEST(Selection, FreeRevalidationIgnoresTheReserve) {
  // Selected with reserve 0: a bucket down to its reserve still has headroom
  // for a request that spends nothing, and beats a spent preferred one.
  const auto at_reserve = for_free_revalidation(with(50));
  EXPECT_FALSE(at_reserve.last_resort);
  const auto spent = for_free_revalidation(with(0));
  EXPECT_TRUE(spent.last_resort);
  EXPECT_EQ(pick({spent, at_reserve}, {0, 100}, 0).index, 1u);
  // Credits all held by requests in flight: a last resort too.
  const auto held = for_free_revalidation(with(3, 3));
  EXPECT_TRUE(held.last_resort);
  EXPECT_EQ(held.remaining, 4);
  EXPECT_EQ(pick({held}, {0, 100}).outcome, selection_outcome::selected);
}

TEST(Selection, CandidatesFromTheStateMachine) {
  credential_limits a;
  credential_limits b;
  rate_limit_headers h;
  h.limit = 5000;
  h.remaining = 10;
  h.reset = t0 + seconds(600);
  b.on_response(resource::core, h, verdict{}, t0);
  a.begin(resource::core);
  const std::vector<candidate> cs = {make_candidate(a, resource::core, t0, 1),
                                     make_candidate(b, resource::core, t0, 2)};
  EXPECT_EQ(cs[0].remaining, 5000);  // unobserved: the default guess
  EXPECT_EQ(cs[0].in_flight_resource, 1u);
  EXPECT_EQ(cs[0].in_flight_total, 1u);
  EXPECT_EQ(cs[1].remaining, 10);
  EXPECT_EQ(cs[1].reset, t0 + seconds(600));
  EXPECT_EQ(pick(cs).index, 0u);
  // b at its reserve: retry at its reset when a is parked too.
  verdict primary;
  primary.kind = verdict_kind::primary_limit;
  primary.reset = t0 + seconds(1200);
  a.on_response(resource::core, rate_limit_headers{}, primary, t0);
  const std::vector<candidate> later = {make_candidate(a, resource::core, t0, 1),
                                        make_candidate(b, resource::core, t0, 2)};
  const auto s = select_credential(later, {10, 100}, std::nullopt, t0);
  EXPECT_EQ(s.outcome, selection_outcome::exhausted);
  EXPECT_EQ(s.retry_at, t0 + seconds(600));
}

}  // namespace
}  // namespace github_proxy::credentials
