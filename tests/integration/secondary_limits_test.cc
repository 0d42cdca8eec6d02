// GitHub's secondary limits (docs/contract.md §7 "Secondary limits", §6
// "Fresh under pressure"; issue 17): the real daemon in front of the fake
// GitHub, which enforces the documented limits per token at small numbers
// (20 REST points a minute instead of 900), so that a load of a few seconds
// is three times what one credential may spend in a minute. The proxy keeps
// every credential under its share of them (90 %: 18 points), answers hot
// keys from entries GitHub's max-age still covers when no credential has
// room, refuses the rest with GitHub's own secondary-limit answer, and two
// replicas on one Redis count one window.
#include <atomic>
#include <mutex>
#include <thread>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/harness.h"
#include "support/pool_helpers.h"
#include "support/redis_server.h"

namespace ghp_test {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
using namespace pool_support;

const std::string ci_token = "ghpx_secondary_ci_token";
const std::string secret_a = "secondary-secret-token-a";
const std::string secret_b = "secondary-secret-token-b";

// GitHub's REST points a minute, scaled down for the fake and the proxy alike.
constexpr int points_per_minute = 20;
constexpr int share = points_per_minute * 9 / 10;  // the proxy's 90 %

const std::string pool_yaml = "pool:\n  secondary_limits:\n    rest_points_per_minute: " +
                              std::to_string(points_per_minute) + "\n    pacing_wait: 0s\n";

long secondary_limited(fake_github& fake) { return fake.counters().at("secondary_limited").to_number<long>(); }

long rest_points_of(fake_github& fake, const std::string& token) {
  return fake.counters().at("tokens").at(token).at("secondary_points").at("rest").to_number<long>();
}

std::string header(const http_response& res, http::field f) { return std::string(res[f]); }
std::string header(const http_response& res, const std::string& name) { return std::string(res[name]); }

struct answers {
  std::mutex mutex;
  std::map<unsigned, int> statuses;
  int fresh = 0;
  std::vector<std::string> unexpected;
};

// `requests` GETs spread over `keys` hot paths from `threads` keep-alive
// connections.
void hot_load(const target& where, int requests, int keys, int threads, answers& out) {
  std::atomic<int> next{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      std::optional<http_connection> connection;
      for (int i = next++; i < requests; i = next++) {
        const auto path = "/repos/octo-org/repo-" + std::to_string(1 + i % keys);
        if (!connection) connection.emplace(where);
        http_request req{http::verb::get, path, 11};
        req.set(http::field::authorization, "token " + ci_token);
        const auto res = connection->send(std::move(req));
        if (!res.keep_alive()) connection.reset();
        const std::lock_guard lock(out.mutex);
        ++out.statuses[res.result_int()];
        const auto status = header(res, "Cache-Status");
        if (status.find("detail=fresh-under-pressure") != std::string::npos) ++out.fresh;
        if (res.result_int() != 200) out.unexpected.push_back(std::to_string(res.result_int()) + " " + res.body());
      }
    });
  }
  for (auto& w : workers) w.join();
}

class SecondaryLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_github::options opts;
    opts.extra_args = {"--secondary-rest-points", std::to_string(points_per_minute)};
    fake_ = std::make_unique<fake_github>(dir_, opts);
  }

  std::unique_ptr<pool_daemon> start_daemon(std::vector<credential_spec> credentials, std::string cache_yaml,
                                            std::string pool = pool_yaml) {
    daemon_options opts;
    opts.upstream_url = fake_->url();
    opts.credentials = std::move(credentials);
    opts.clients = {{"ci", ci_token, ""}};
    opts.cache_yaml = std::move(cache_yaml);
    opts.pool_yaml = std::move(pool);
    return std::make_unique<pool_daemon>(dir_, std::move(opts));
  }

  temp_dir dir_;
  std::unique_ptr<fake_github> fake_;
};

// Three times one credential's points, two credentials, four hot keys: GitHub
// never answers a secondary limit, every client request is answered, and
// what the credentials could not send is answered from entries GitHub
// confirmed within its max-age (60 s: the load lasts seconds).
TEST_F(SecondaryLimits, ThreeTimesOneCredentialsPointsOnHotKeysIsAnsweredWithoutTrippingGitHub) {
  auto daemon = start_daemon({token_credential("tok-a", secret_a), token_credential("tok-b", secret_b)},
                             "cache:\n  backend: memory\n");
  constexpr int requests = 3 * points_per_minute;
  answers got;
  const auto started = std::chrono::steady_clock::now();
  hot_load(daemon->where(), requests, 4, 4, got);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_LT(took, std::chrono::seconds(60)) << "GitHub's max-age bounds the answers only within the minute";

  EXPECT_EQ(got.statuses[200], requests) << "every client request is answered: "
                                         << (got.unexpected.empty() ? "" : got.unexpected.front());
  EXPECT_EQ(secondary_limited(*fake_), 0) << "GitHub (the fake) answered a secondary limit";
  // Each credential spent at most its share; both together at most twice it.
  const long points_a = rest_points_of(*fake_, secret_a);
  const long points_b = rest_points_of(*fake_, secret_b);
  EXPECT_LE(points_a, share);
  EXPECT_LE(points_b, share);
  EXPECT_EQ(total_requests(*fake_), points_a + points_b);
  // Pressure was reached, and every request the credentials did not send
  // was answered from an entry: fresh under pressure, or coalesced with a
  // request in flight for the same key.
  EXPECT_GT(got.fresh, 0);
  const double fresh = daemon->metric_at_least("github_proxy_requests_total", {{"cache", "fresh"}}, got.fresh);
  EXPECT_EQ(fresh, got.fresh);
  const double coalesced = daemon->metric("github_proxy_requests_total", {{"cache", "coalesced"}});
  const double upstream = daemon->metric("github_proxy_requests_total", {{"cache", "hit"}}) +
                          daemon->metric("github_proxy_requests_total", {{"cache", "miss"}});
  EXPECT_EQ(upstream, points_a + points_b);
  EXPECT_EQ(fresh + coalesced + upstream, requests);
  // The metrics show the points per credential, under the limit, as the fake counts them.
  for (const auto& [name, secret] : {std::pair{"tok-a", secret_a}, std::pair{"tok-b", secret_b}}) {
    const labels which{{"credential", name}, {"kind", "rest_points"}};
    const double used = daemon->metric("github_proxy_secondary_points_used", which);
    EXPECT_EQ(used, static_cast<double>(rest_points_of(*fake_, secret))) << name;
    EXPECT_LE(used, share) << name;
    EXPECT_EQ(daemon->metric("github_proxy_secondary_points_limit", which), points_per_minute) << name;
  }
}

// With fresh_under_pressure off the proxy always revalidates: what the
// credentials cannot send is refused in GitHub's own secondary-limit shape
// (octokit and go-github back off on it), still without tripping GitHub.
TEST_F(SecondaryLimits, StrictRevalidationRefusesWithGitHubsSecondaryLimitAnswer) {
  auto daemon = start_daemon({token_credential("tok-a", secret_a)},
                             "cache:\n  backend: memory\n  fresh_under_pressure: false\n");
  for (int i = 0; i < share; ++i) {
    ASSERT_EQ(request(daemon->where(), "GET", "/repos/octo-org/repo-1", {auth_of(ci_token)}).result_int(), 200) << i;
  }
  const auto refused = request(daemon->where(), "GET", "/repos/octo-org/repo-1", {auth_of(ci_token)});
  ASSERT_EQ(refused.result_int(), 429) << refused.body();
  const auto retry_after = std::stol(header(refused, http::field::retry_after));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 60);
  const auto body = json::parse(refused.body()).as_object();
  EXPECT_NE(std::string(body.at("message").as_string()).find("secondary rate limit"), std::string::npos);
  EXPECT_TRUE(std::string(body.at("documentation_url").as_string()).ends_with("secondary-rate-limits"));
  // The primary view is untouched: the credits are there, only not this minute.
  EXPECT_GT(std::stol(header(refused, "X-RateLimit-Remaining")), 0);
  EXPECT_EQ(header(refused, "Cache-Status").find("hit"), std::string::npos);
  EXPECT_EQ(secondary_limited(*fake_), 0);
  EXPECT_EQ(rest_points_of(*fake_, secret_a), share);
}

// Writes cost 5 points and count as content creation; they are paced by
// both and never answered from the cache.
TEST_F(SecondaryLimits, WritesArePacedByTheirPointsAndContentCreation) {
  auto daemon = start_daemon({token_credential("tok-a", secret_a)}, "cache:\n  backend: memory\n",
                             pool_yaml + "    content_per_minute: 3\n");  // 90 %: 2 a minute
  // A read of the path fills the cache; the writes must not be answered from it.
  ASSERT_EQ(request(daemon->where(), "GET", "/repos/octo-org/repo-1/issues", {auth_of(ci_token)}).result_int(), 200);
  const auto post = [&] {
    return request(daemon->where(), "POST", "/repos/octo-org/repo-1/issues",
                   {auth_of(ci_token), {"Content-Type", "application/json"}}, R"({"title":"paced"})");
  };
  for (int i = 0; i < 2; ++i) {
    const auto created = post();
    ASSERT_EQ(created.result_int(), 201) << created.body();
    EXPECT_EQ(header(created, "Cache-Status").find("hit"), std::string::npos);
  }
  // 1 + 2 × 5 = 11 points: a third write would fit the points (16 ≤ 18),
  // not the content creation (3 > 2 a minute).
  const auto third = post();
  ASSERT_EQ(third.result_int(), 429) << third.body();
  EXPECT_EQ(header(third, "Cache-Status").find("hit"), std::string::npos);
  EXPECT_FALSE(header(third, http::field::retry_after).empty());
  // Reads still have points: 11 + 5 would not fit 18 for another write, but
  // a read of 1 does.
  EXPECT_EQ(request(daemon->where(), "GET", "/repos/octo-org/repo-2", {auth_of(ci_token)}).result_int(), 200);
  EXPECT_EQ(secondary_limited(*fake_), 0);
  EXPECT_EQ(rest_points_of(*fake_, secret_a), 12);
  EXPECT_EQ(daemon->metric("github_proxy_secondary_points_used",
                           {{"credential", "tok-a"}, {"kind", "content_per_minute"}}),
            2);
}

// The confirm window answers without asking GitHub, but never across a
// write to the path that this proxy relayed (RFC 9111 §4.4): a job reads
// back what it just changed.
TEST_F(SecondaryLimits, AWriteEndsTheConfirmWindowOfItsPath) {
  auto daemon = start_daemon({token_credential("tok-a", secret_a)},
                             "cache:\n  backend: memory\n  confirm_window: 30s\n");
  const std::string path = "/repos/octo-org/repo-1/issues/1";
  const auto get = [&] { return request(daemon->where(), "GET", path, {auth_of(ci_token)}); };
  ASSERT_EQ(get().result_int(), 200);
  auto again = get();
  ASSERT_EQ(again.result_int(), 200);
  EXPECT_EQ(header(again, "Cache-Status"), "github-proxy; hit; detail=confirm-window");
  const long sent = total_requests(*fake_);
  EXPECT_EQ(sent, 1) << "the confirm window asked GitHub nothing";

  const auto patched = request(daemon->where(), "PATCH", path,
                               {auth_of(ci_token), {"Content-Type", "application/json"}}, R"({"state":"closed"})");
  ASSERT_LT(patched.result_int(), 300) << patched.body();
  auto after = get();
  ASSERT_EQ(after.result_int(), 200);
  EXPECT_EQ(header(after, "Cache-Status").find("confirm-window"), std::string::npos)
      << "answered from before the write: " << header(after, "Cache-Status");
  EXPECT_EQ(total_requests(*fake_), sent + 2) << "the write, then the revalidation: " << header(after, "Cache-Status");
  // Confirmed after the write: the window answers again.
  EXPECT_EQ(header(get(), "Cache-Status"), "github-proxy; hit; detail=confirm-window");
  EXPECT_EQ(daemon->metric_at_least("github_proxy_requests_total", {{"cache", "fresh"}}, 2), 2);
}

// A read in flight while a write lands may carry GitHub's answer from the
// state before it, arriving after the write's mark: it confirms the entry
// as of when it was sent, so the confirm window does not answer the
// pre-write body afterwards (docs/contract.md §6 "Writes end it").
TEST_F(SecondaryLimits, AReadInFlightAcrossAWriteDoesNotConfirmTheEntryAfterIt) {
  auto daemon = start_daemon({token_credential("tok-a", secret_a)},
                             "cache:\n  backend: memory\n  confirm_window: 30s\n");
  const std::string path = "/repos/octo-org/repo-2/issues/1";
  const auto get = [&] { return request(daemon->where(), "GET", path, {auth_of(ci_token)}); };
  const auto patch = [&] {
    return request(daemon->where(), "PATCH", path, {auth_of(ci_token), {"Content-Type", "application/json"}},
                   R"({"state":"closed"})");
  };
  const auto before = get();
  ASSERT_EQ(before.result_int(), 200);
  ASSERT_LT(patch().result_int(), 300);

  // The revalidation after that write: GitHub works out its 304 now and
  // the answer is held on its way while a second write lands.
  fake_->control("POST", "/_fake/faults",
                 R"({"path_prefix":")" + path + R"(","method":"GET","count":1,"gate":"held","gate_after_answer":true})");
  std::optional<http_response> in_flight;
  std::thread reader([&] { in_flight = get(); });
  ASSERT_TRUE(poll_until([&] { return fake_->held_at("held") == 1; }, std::chrono::seconds(5)));
  ASSERT_LT(patch().result_int(), 300);
  fake_->control("POST", "/_fake/change", R"({"path":")" + path + R"("})");
  EXPECT_EQ(fake_->release("held"), 1);
  reader.join();
  ASSERT_TRUE(in_flight);
  ASSERT_EQ(in_flight->result_int(), 200);
  EXPECT_EQ(in_flight->body(), before.body()) << "GitHub's answer from before the second write";

  const long sent = total_requests(*fake_);
  const auto after = get();
  ASSERT_EQ(after.result_int(), 200);
  EXPECT_EQ(header(after, "Cache-Status").find("confirm-window"), std::string::npos)
      << "the pre-write body answered as confirmed after the write: " << header(after, "Cache-Status");
  EXPECT_EQ(total_requests(*fake_), sent + 1) << "revalidated";
  EXPECT_NE(after.body(), before.body()) << "GitHub's body after the change";
}

// Two replicas on one Redis, one credential: what one spends, the other
// counts (within the exchange's second), so together they stay under the
// credential's share.
TEST_F(SecondaryLimits, TwoReplicasOnOneRedisShareThePointsWindow) {
  ASSERT_TRUE(redis_server::available()) << redis_server::not_installed;
  redis_server redis;
  const std::string cache_yaml = "cache:\n  backend: redis\n  redis:\n    url: " + redis.url() + "\n";
  auto replica_a = start_daemon({token_credential("tok", secret_a)}, cache_yaml);
  auto replica_b = start_daemon({token_credential("tok", secret_a)}, cache_yaml);

  constexpr int by_a = 10;
  for (int i = 0; i < by_a; ++i) {
    ASSERT_EQ(request(replica_a->where(), "GET", fresh_path("a", i), {auth_of(ci_token)}).result_int(), 200) << i;
  }
  const labels rest{{"credential", "tok"}, {"kind", "rest_points"}};
  EXPECT_EQ(replica_b->metric_at_least("github_proxy_secondary_points_used", rest, by_a), by_a)
      << "replica b learns replica a's points through Redis";
  int served_by_b = 0;
  for (int i = 0; i < share; ++i) {
    const auto res = request(replica_b->where(), "GET", fresh_path("b", i), {auth_of(ci_token)});
    if (res.result_int() != 200) {
      EXPECT_EQ(res.result_int(), 429) << res.body();
      break;
    }
    ++served_by_b;
  }
  EXPECT_EQ(served_by_b, share - by_a);
  EXPECT_EQ(secondary_limited(*fake_), 0);
  EXPECT_EQ(rest_points_of(*fake_, secret_a), share);
}

// GitHub itself answers a secondary limit to a revalidation (its count is
// ahead of the proxy's: here the proxy does not count at all) while the
// other credential cools after one: the entry GitHub's max-age covers is
// the answer, not a primary-limit 429 with the hourly reset.
TEST(SecondaryLimitsFromGitHub, ARevalidationRefusedByGitHubIsAnsweredFromTheFreshEntry) {
  temp_dir dir;
  fake_github::options fake_opts;
  fake_opts.extra_args = {"--secondary-rest-points", "3"};
  fake_github fake(dir, fake_opts);
  daemon_options opts;
  opts.upstream_url = fake.url();
  opts.credentials = {token_credential("tok-a", secret_a), token_credential("tok-b", secret_b)};
  opts.clients = {{"ci", ci_token, ""}};
  opts.pool_yaml = "pool:\n  secondary_limits:\n    rest_points_per_minute: 0\n";
  pool_daemon daemon(dir, opts);

  ASSERT_EQ(request(daemon.where(), "GET", "/repos/octo-org/repo-50", {auth_of(ci_token)}).result_int(), 200);
  fake.control("POST", "/_fake/faults", R"({"path_prefix":"/repos/octo-org/repo-50","count":1,"gate":"held"})");
  std::optional<http_response> held;
  std::thread revalidation([&] {
    held = request(daemon.where(), "GET", "/repos/octo-org/repo-50", {auth_of(ci_token)});
  });
  ASSERT_TRUE(poll_until([&] { return fake.held_at("held") == 1; }, std::chrono::seconds(5)));
  // Both tokens spend GitHub's 3 points and are refused once.
  for (int i = 1; i <= 7; ++i) request(daemon.where(), "GET", "/repos/octo-org/repo-" + std::to_string(i), {auth_of(ci_token)});
  EXPECT_EQ(fake.release("held"), 1);
  revalidation.join();
  ASSERT_TRUE(held);
  EXPECT_EQ(held->result_int(), 200) << held->body();
  EXPECT_NE(header(*held, "Cache-Status").find("detail=fresh-under-pressure"), std::string::npos)
      << header(*held, "Cache-Status");
  EXPECT_GT(secondary_limited(fake), 0) << "GitHub did answer secondary limits here";
}

}  // namespace
}  // namespace ghp_test
