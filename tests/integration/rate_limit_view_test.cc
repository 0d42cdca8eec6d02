// Rate limits as the client sees them (docs/contract.md §5 "Rate limits as the
// client sees them"; issue 16): the real daemon with three credentials of
// different headroom in front of the fake GitHub. X-RateLimit-* and the
// proxy's own GET /rate_limit describe the client's limit — the pool's
// credits for the resource, capped by the client's upstream_budget — and
// agree with each other and with the per-credential gauges of /metrics.
//
// Every request that must spend a credit asks for a path never asked before
// (pool_support::fresh_path); a repeated one is a free 304 through the cache.
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/harness.h"
#include "support/pool_helpers.h"

namespace ghp_test {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
using namespace pool_support;

const std::string ci_token = "ghpx_view_ci_token";
const std::string budget_token = "ghpx_view_budget_token";
const std::string scoped_token = "ghpx_view_scoped_token";
const std::string secret_a = "view-secret-token-a";
const std::string secret_b = "view-secret-token-b";
const std::string secret_c = "view-secret-token-c";

long header_number(const http_response& res, const std::string& name) {
  const auto it = res.find(name);
  if (it == res.end()) return -1;
  return std::stol(std::string(it->value()));
}

struct numbers {
  long limit = -1, remaining = -1, used = -1, reset = -1;
  bool operator==(const numbers&) const = default;
};

std::ostream& operator<<(std::ostream& os, const numbers& n) {
  return os << "{limit " << n.limit << ", remaining " << n.remaining << ", used " << n.used << ", reset "
            << n.reset << "}";
}

numbers of_headers(const http_response& res) {
  return {header_number(res, "X-RateLimit-Limit"), header_number(res, "X-RateLimit-Remaining"),
          header_number(res, "X-RateLimit-Used"), header_number(res, "X-RateLimit-Reset")};
}

numbers of_bucket(const json::value& bucket) {
  const auto& o = bucket.as_object();
  return {o.at("limit").to_number<long>(), o.at("remaining").to_number<long>(), o.at("used").to_number<long>(),
          o.at("reset").to_number<long>()};
}

class RateLimitView : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = std::make_unique<fake_github>(dir_, fake_github::options{});
    // Different headroom: a has plenty, b little, c none until its reset.
    reset_a_ = set_limit(*fake_, secret_a, "core", 5000, 4000, 3000);
    reset_b_ = set_limit(*fake_, secret_b, "core", 5000, 20, 600);
    reset_c_ = set_limit(*fake_, secret_c, "core", 5000, 0, 1800);
  }

  std::unique_ptr<pool_daemon> start_daemon(std::string pool_yaml = "pool:\n  reserve: 10\n",
                                            std::string cache_yaml = "cache:\n  backend: memory\n") {
    daemon_options opts;
    opts.cache_yaml = std::move(cache_yaml);
    opts.upstream_url = fake_->url();
    opts.credentials = {token_credential("tok-a", secret_a), token_credential("tok-b", secret_b),
                        token_credential("tok-c", secret_c)};
    opts.clients = {{"ci", ci_token, ""},
                    {"budgeted", budget_token, "5/h"},
                    {"scoped", scoped_token, "", "/repos/octo-org/repo-1(/.*)?"}};
    opts.pool_yaml = std::move(pool_yaml);
    return std::make_unique<pool_daemon>(dir_, std::move(opts));
  }

  static http_response get(const pool_daemon& d, const std::string& path, const std::string& token,
                           std::vector<std::pair<std::string, std::string>> extra = {}) {
    extra.push_back(auth_of(token));
    return request(d.where(), "GET", path, extra);
  }

  // The proxy hears from every credential: distinct paths, spread by most
  // headroom (an untried credential counts as a fresh 5000), and c's 403
  // moves its request to another credential.
  void warm_up(const pool_daemon& d) {
    for (int i = 0; i < 4; ++i) ASSERT_EQ(get(d, fresh_path("warm", i), ci_token).result_int(), 200);
    ASSERT_TRUE(d.state_becomes("tok-c", "exhausted"));
  }

  temp_dir dir_;
  std::unique_ptr<fake_github> fake_;
  long reset_a_ = 0, reset_b_ = 0, reset_c_ = 0;
};

// The issue's "done when": one response's headers, /rate_limit and the
// metrics say the same, and they are the pool's sum, not a credential's.
TEST_F(RateLimitView, HeadersRateLimitAndMetricsAgreeOnThePoolsCredits) {
  auto proxy = start_daemon();
  warm_up(*proxy);
  const long upstream_before = total_requests(*fake_);

  const auto res = get(*proxy, fresh_path("agree", 1), ci_token);
  ASSERT_EQ(res.result_int(), 200) << res.body();
  const auto headers = of_headers(res);
  EXPECT_EQ(res["X-RateLimit-Resource"], "core");

  const auto limits = get(*proxy, "/rate_limit", ci_token);
  ASSERT_EQ(limits.result_int(), 200) << limits.body();
  const auto body = json::parse(limits.body());
  const auto core = of_bucket(body.at("resources").at("core"));
  EXPECT_EQ(core, of_bucket(body.at("rate"))) << "`rate` mirrors resources.core";
  EXPECT_EQ(of_headers(limits), core);
  EXPECT_EQ(headers, core) << "nothing was spent between the two";

  // The gauges, per credential: c is exhausted (its credits are not there
  // now, its limit counts: it comes back at its reset); a reserve of 10 is
  // kept of each.
  const double remaining_a = proxy->metric("github_proxy_rate_limit_remaining", {{"credential", "tok-a"}, {"resource", "core"}});
  const double remaining_b = proxy->metric("github_proxy_rate_limit_remaining", {{"credential", "tok-b"}, {"resource", "core"}});
  const double limit_sum = proxy->metric("github_proxy_rate_limit_limit", {{"resource", "core"}});
  EXPECT_EQ(limit_sum, 15000);
  EXPECT_EQ(core.limit, limit_sum - 3 * 10);
  EXPECT_EQ(core.remaining, (remaining_a - 10) + (remaining_b - 10));
  EXPECT_EQ(core.used, core.limit - core.remaining);
  // The next credits come back with b's window, the earliest of a and b.
  EXPECT_EQ(core.reset, reset_b_);
  // Answered by the proxy: GitHub never saw the /rate_limit.
  EXPECT_EQ(total_requests(*fake_), upstream_before + 1);
  // GitHub's own numbers behind the gauges (a /rate_limit to the fake
  // itself, which charges nothing).
  for (const auto& [secret, gauge] : {std::pair{secret_a, remaining_a}, std::pair{secret_b, remaining_b}}) {
    const auto own = request(fake_->where(), "GET", "/rate_limit", {auth_of(secret)});
    EXPECT_EQ(json::parse(own.body()).at("resources").at("core").at("remaining").to_number<double>(), gauge);
  }
  // Every bucket of GitHub's body is there.
  for (const auto* name : {"core", "search", "graphql", "integration_manifest", "source_import",
                           "code_scanning_upload", "actions_runner_registration", "scim", "dependency_snapshots",
                           "code_search", "dependency_sbom", "audit_log"}) {
    EXPECT_TRUE(body.at("resources").as_object().contains(name)) << name;
  }
  EXPECT_EQ(limits["Cache-Control"], "no-cache");
  EXPECT_EQ(limits[http::field::content_type], "application/json; charset=utf-8");
}

// A budgeted client is told its budget while the budget has less left than
// the pool: remaining goes down with each credit, not with free 304s, and
// reaches 0 exactly when the proxy refuses; the 429 says when to come back.
TEST_F(RateLimitView, ABudgetedClientSeesItsBudgetAndThe429SaysWhenItComesBack) {
  auto proxy = start_daemon();
  warm_up(*proxy);
  for (int i = 0; i < 5; ++i) {
    const auto res = get(*proxy, fresh_path("budget", i), budget_token);
    ASSERT_EQ(res.result_int(), 200) << i << ": " << res.body();
    EXPECT_EQ(header_number(res, "X-RateLimit-Limit"), 5) << i;
    EXPECT_EQ(header_number(res, "X-RateLimit-Remaining"), 4 - i) << i;
    EXPECT_EQ(header_number(res, "X-RateLimit-Used"), i + 1) << i;
    if (i == 1) {
      // A repeat is revalidated for free: nothing spent, the same numbers.
      const auto again = get(*proxy, fresh_path("budget", 0), budget_token);
      EXPECT_EQ(again.result_int(), 200);
      EXPECT_EQ(again["Cache-Status"].substr(0, 17), "github-proxy; hit") << again["Cache-Status"];
      EXPECT_EQ(header_number(again, "X-RateLimit-Remaining"), 3);
    }
  }
  const auto limits = get(*proxy, "/api/v3/rate_limit", budget_token);
  ASSERT_EQ(limits.result_int(), 200);
  const auto core = of_bucket(json::parse(limits.body()).at("resources").at("core"));
  EXPECT_EQ(core.limit, 5);
  EXPECT_EQ(core.remaining, 0);
  EXPECT_EQ(proxy->metric("github_proxy_client_upstream_credits_total", {{"client", "budgeted"}}), 5)
      << "the budget's used is what /metrics charged the client; /rate_limit costs nothing";

  const auto refused = get(*proxy, fresh_path("budget", 9), budget_token);
  ASSERT_EQ(refused.result_int(), 429) << refused.body();
  EXPECT_EQ(header_number(refused, "X-RateLimit-Remaining"), 0);
  EXPECT_EQ(header_number(refused, "X-RateLimit-Limit"), 5);
  const long retry_after = header_number(refused, "Retry-After");
  const long reset = header_number(refused, "X-RateLimit-Reset");
  const long now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_GE(retry_after, 1);
  EXPECT_NEAR(static_cast<double>(reset - now), static_cast<double>(retry_after), 1.0);

  // The other client still sees the pool's credits.
  const auto other = get(*proxy, fresh_path("budget-other", 1), ci_token);
  EXPECT_EQ(other.result_int(), 200);
  EXPECT_GT(header_number(other, "X-RateLimit-Remaining"), 5);
}

// An answer too large to hold is relayed as it comes: its head already
// counts the credit it costs, so remaining reaches 0 with the credit that
// empties the budget, not one request later.
TEST_F(RateLimitView, AStreamedAnswerCountsItsOwnCreditInItsHead) {
  auto proxy = start_daemon("pool:\n  reserve: 10\n", "cache:\n  backend: memory\n  max_object_bytes: 1KiB\n");
  for (int i = 0; i < 5; ++i) {
    const auto path = "/repos/octo-org/repo-1/contents/streamed-" + std::to_string(i) + "/large-4096.bin";
    const auto res = get(*proxy, path, budget_token, {{"Accept", "application/vnd.github.raw"}});
    ASSERT_EQ(res.result_int(), 200) << i << ": " << res.body().substr(0, 200);
    ASSERT_EQ(res.body().size(), 4096u) << "relayed whole";
    EXPECT_EQ(header_number(res, "X-RateLimit-Remaining"), 4 - i) << i;
    EXPECT_EQ(header_number(res, "X-RateLimit-Used"), i + 1) << i;
  }
  EXPECT_EQ(get(*proxy, fresh_path("streamed-after", 1), budget_token).result_int(), 429);
}

// GitHub refuses the two credentials asked for a rate limit the proxy did
// not know of, while a third still has credits: the client is not told the
// pool's remaining (clients read a 403/429 with remaining > 0 as something
// else than a rate limit) nor the refused credentials' reset (it would wait
// for nothing), but to retry in a second — and the retry is served.
TEST_F(RateLimitView, ARefusalWhileOtherCredentialsHaveCreditsSaysRetryAtOnce) {
  set_limit(*fake_, secret_a, "core", 5000, 0, 2400);
  set_limit(*fake_, secret_b, "core", 5000, 0, 2400);
  set_limit(*fake_, secret_c, "core", 5000, 3000, 1800);
  auto proxy = start_daemon("");
  // Credentials nobody heard from tie; selection asks them in config order,
  // so a and b refuse the first request (selection.h: ties go to the one
  // selected longest ago).
  http_response res;
  int refused = 0;
  for (int i = 0; i < 3; ++i) {
    res = request(proxy->where(), "POST", "/repos/octo-org/repo-1/issues",
                  {auth_of(ci_token), {"Content-Type", "application/json"}}, R"({"title":"t"})");
    if (res.result_int() == 201) break;
    ++refused;
    EXPECT_TRUE(res.result_int() == 403 || res.result_int() == 429) << res.result_int() << ": " << res.body();
    EXPECT_EQ(header_number(res, "X-RateLimit-Remaining"), 0);
    EXPECT_EQ(header_number(res, "Retry-After"), 1);
    const long now = fake_now(*fake_);
    EXPECT_NEAR(static_cast<double>(header_number(res, "X-RateLimit-Reset")), static_cast<double>(now + 1), 2.0);
  }
  EXPECT_EQ(res.result_int(), 201) << "c serves the retry";
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(header_number(res, "X-RateLimit-Limit"), 15000);
  EXPECT_EQ(header_number(res, "X-RateLimit-Remaining"), 2999);
}

// Every credential spent: the proxy's 429 carries the view, whose reset is
// the first credential's return, and Retry-After waits exactly until then.
TEST_F(RateLimitView, APoolWithNothingLeftAnswers429UntilTheFirstCredentialReturns) {
  set_limit(*fake_, secret_a, "core", 5000, 0, 2400);
  set_limit(*fake_, secret_b, "core", 5000, 0, 900);
  auto proxy = start_daemon("");
  // GitHub's own 403s teach the proxy; then it answers itself.
  http_response last;
  for (int i = 0; i < 4; ++i) last = get(*proxy, fresh_path("spent", i), ci_token);
  ASSERT_EQ(last.result_int(), 429) << last.body();
  EXPECT_EQ(header_number(last, "X-RateLimit-Remaining"), 0);
  EXPECT_EQ(header_number(last, "X-RateLimit-Limit"), 15000);
  EXPECT_EQ(header_number(last, "X-RateLimit-Used"), 15000);
  const long reset = header_number(last, "X-RateLimit-Reset");
  const long now = fake_now(*fake_);
  EXPECT_NEAR(static_cast<double>(reset), static_cast<double>(now + 900), 2.0) << "b's reset, the earliest";
  EXPECT_NEAR(static_cast<double>(header_number(last, "Retry-After")), static_cast<double>(reset - now), 2.0);
}

// A client whose scopes allow nothing but one repository may still read its
// /rate_limit (GitHub answers it to any token); the API version 2026-03-10
// dropped the top-level `rate`; HEAD has the GET's head.
TEST_F(RateLimitView, RateLimitIsAnsweredToAnyClientInTheVersionItAsksFor) {
  auto proxy = start_daemon();
  const auto current = get(*proxy, "/rate_limit", ci_token, {{"X-GitHub-Api-Version", "2026-03-10"}});
  ASSERT_EQ(current.result_int(), 200);
  const auto body = json::parse(current.body()).as_object();
  EXPECT_FALSE(body.contains("rate"));
  EXPECT_EQ(current["X-GitHub-Api-Version-Selected"], "2026-03-10");
  // Nobody heard from the credentials yet: three fresh windows, a full hour.
  const auto core = of_bucket(body.at("resources").at("core"));
  EXPECT_EQ(core.limit, 3 * 5000 - 30);
  EXPECT_EQ(core.remaining, core.limit);
  const auto search = of_bucket(body.at("resources").at("search"));
  EXPECT_EQ(search.limit, 3 * 30 - 30);
  EXPECT_EQ(total_requests(*fake_), 0);

  const auto head = request(proxy->where(), "HEAD", "/rate_limit", {auth_of(ci_token)});
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head["X-RateLimit-Limit"], current["X-RateLimit-Limit"]);

  const auto scoped = get(*proxy, "/rate_limit", scoped_token);
  EXPECT_EQ(scoped.result_int(), 200) << scoped.body();
  EXPECT_EQ(scoped["X-RateLimit-Limit"], current["X-RateLimit-Limit"]);
  EXPECT_EQ(get(*proxy, "/repos/octo-org/repo-2", scoped_token).result_int(), 403) << "its scopes still hold";

  const auto anonymous = request(proxy->where(), "GET", "/rate_limit", {});
  EXPECT_EQ(anonymous.result_int(), 401);
}

// pool.rate_limit_headers: github — the old behaviour: the serving
// credential's own fields, and /rate_limit goes to GitHub.
TEST_F(RateLimitView, TheGithubSwitchPassesEachCredentialsOwnFields) {
  auto proxy = start_daemon("pool:\n  rate_limit_headers: github\n");
  warm_up(*proxy);
  const auto res = get(*proxy, fresh_path("github-mode", 1), ci_token);
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(header_number(res, "X-RateLimit-Limit"), 5000);
  const long before = total_requests(*fake_);
  const auto limits = get(*proxy, "/rate_limit", ci_token);
  EXPECT_EQ(limits.result_int(), 200);
  EXPECT_EQ(total_requests(*fake_), before + 1) << "forwarded to GitHub";
}

}  // namespace
}  // namespace ghp_test
