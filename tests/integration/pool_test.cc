// The credential pool seen from outside (docs/contract.md §5 "Budgets" and "Errors", §7,
// §8; issue 6): the real daemon with several credentials in front of the
// fake GitHub, whose per-token limits, faults, Apps and clock drive it.
//
// Every request that must spend a credit asks for a path never asked before
// (pool_support::fresh_path): a repeated GET would be a free 304 through the
// cache. Time moves with the fake's clock (POST /_fake/clock), which the
// proxy learns from GitHub's `Date` header; nothing here sleeps to let time
// pass, it only polls (bounded) for something that must happen.
#include <algorithm>
#include <atomic>
#include <map>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/harness.h"
#include "support/pool_helpers.h"
#include "support/redis_server.h"
#include "support/test_pki.h"

namespace ghp_test {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
using namespace pool_support;
using namespace std::chrono_literals;

const std::string ci_token = "ghpx_pool_ci_token";

const std::string secret_a = "pool-secret-token-a";
const std::string secret_b = "pool-secret-token-b";
const std::string secret_c = "pool-secret-token-c";

// docs/contract.md §5: every error body is GitHub-shaped JSON.
void expect_github_error(const http_response& res, unsigned status, const std::string& what) {
  EXPECT_EQ(res.result_int(), status) << what << ": " << res.body();
  EXPECT_EQ(res[http::field::content_type], "application/json; charset=utf-8") << what;
  json::error_code ec;
  const auto body = json::parse(res.body(), ec);
  ASSERT_FALSE(ec) << what << ": not JSON: " << res.body();
  ASSERT_TRUE(body.is_object()) << what;
  const auto& o = body.as_object();
  ASSERT_TRUE(o.contains("message")) << what << ": " << res.body();
  EXPECT_FALSE(o.at("message").as_string().empty()) << what;
  ASSERT_TRUE(o.contains("documentation_url")) << what << ": " << res.body();
  EXPECT_TRUE(o.at("documentation_url").as_string().starts_with("https://docs.github.com/")) << what;
  ASSERT_TRUE(o.contains("status")) << what << ": " << res.body();
  EXPECT_EQ(o.at("status").as_string(), std::to_string(status)) << what;
}

long header_number(const http_response& res, const std::string& name) {
  const auto it = res.find(name);
  if (it == res.end()) return -1;
  try {
    return std::stol(std::string(it->value()));
  } catch (const std::exception&) {
    return -2;
  }
}

class Pool : public ::testing::Test {
 protected:
  void start_fake(std::vector<std::string> args = {}) {
    fake_github::options opts;
    opts.extra_args = std::move(args);
    fake_ = std::make_unique<fake_github>(dir_, opts);
  }

  std::unique_ptr<pool_daemon> start_daemon(std::vector<credential_spec> credentials,
                                            std::vector<pool_client> clients = {{"ci", ci_token, ""}},
                                            std::string cache_yaml = "cache:\n  backend: memory\n") {
    daemon_options opts;
    opts.upstream_url = fake_->url();
    opts.credentials = std::move(credentials);
    opts.clients = std::move(clients);
    opts.cache_yaml = std::move(cache_yaml);
    return std::make_unique<pool_daemon>(dir_, std::move(opts));
  }

  static std::vector<credential_spec> three_tokens() {
    return {token_credential("tok-a", secret_a), token_credential("tok-b", secret_b),
            token_credential("tok-c", secret_c)};
  }

  http_response get(const pool_daemon& d, const std::string& path, const std::string& token = ci_token) {
    return request(d.where(), "GET", path, {auth_of(token)});
  }

  // Which credential the fake saw a request with, from its Authorization.
  static std::string credential_of(const std::string& authorization) {
    if (authorization.ends_with(" " + secret_a)) return "tok-a";
    if (authorization.ends_with(" " + secret_b)) return "tok-b";
    if (authorization.ends_with(" " + secret_c)) return "tok-c";
    return authorization;
  }

  // The logged upstream requests for `target` (oldest first).
  std::vector<json::object> logged(const std::string& target) {
    std::vector<json::object> out;
    const auto all = fake_->requests(1000);
    for (const auto& r : all.as_array()) {
      if (r.as_object().at("target").as_string() == target) out.push_back(r.as_object());
    }
    return out;
  }

  bool readyz(const pool_daemon& d) { return request(d.admin(), "GET", "/readyz").result_int() == 200; }

  temp_dir dir_;
  std::unique_ptr<fake_github> fake_;
};

// ---- 1. spread ----------------------------------------------------------------

// Three tokens of 20 core credits each serve 50 credit-spending requests from
// four threads: nothing reaches the client as 403/429, every token is used,
// and the proxy's view (upstream counter, rate-limit gauges) matches GitHub's.
TEST_F(Pool, LoadIsServedAndSpreadOverThreeSmallTokens) {
  start_fake();
  for (const auto& secret : {secret_a, secret_b, secret_c}) set_limit(*fake_, secret, "core", 20, 20);
  auto proxy = start_daemon(three_tokens());
  EXPECT_TRUE(readyz(*proxy));

  const auto load = run_load(proxy->where(), ci_token, "spread", 50, 4);
  EXPECT_EQ(load.count(200), 50) << describe(load);

  const auto counters = fake_->counters();
  long credits = 0;
  ASSERT_GE(proxy->metric_at_least("github_proxy_requests_total", {{"client", "ci"}}, 50), 50);
  const auto log = proxy->log();
  for (const auto& [name, secret] : std::vector<std::pair<std::string, std::string>>{
           {"tok-a", secret_a}, {"tok-b", secret_b}, {"tok-c", secret_c}}) {
    const auto c = counters_of(counters, secret);
    EXPECT_GT(c.requests, 0) << name << " was never used";
    EXPECT_EQ(c.status("403"), 0) << name << " was sent a request past its limit";
    EXPECT_EQ(c.status("429"), 0) << name;
    credits += c.credits;
    const double upstream = proxy->metric("github_proxy_upstream_requests_total",
                                          {{"credential", name}, {"resource", "core"}, {"code", "200"}});
    EXPECT_GT(upstream, 0) << name;
    EXPECT_EQ(upstream, static_cast<double>(c.requests)) << name << ": the proxy's count vs the fake's";
    const labels bucket{{"credential", name}, {"resource", "core"}};
    EXPECT_EQ(proxy->metric("github_proxy_rate_limit_limit", bucket), 20) << name;
    EXPECT_EQ(proxy->metric("github_proxy_rate_limit_remaining", bucket), 20 - c.credits) << name;
    EXPECT_EQ(proxy->metric("github_proxy_rate_limit_used", bucket), c.credits) << name;
    EXPECT_GT(proxy->metric("github_proxy_rate_limit_reset_timestamp_seconds", bucket), 0) << name;
    EXPECT_EQ(proxy->metric("github_proxy_credential_state", {{"credential", name}, {"state", "ok"}}), 1) << name;
    EXPECT_NE(log.find("credential=" + name + " "), std::string::npos) << "no access line names " << name;
  }
  EXPECT_EQ(credits, 50);
  EXPECT_EQ(proxy->metric("github_proxy_client_upstream_credits_total", {{"client", "ci"}}), 50);
  EXPECT_TRUE(readyz(*proxy));
}

// ---- 2. one token exhausted mid-load ------------------------------------------

// Token A's bucket is emptied behind the proxy's back while the load runs (as
// another user of the same account would): the request that meets GitHub's
// 403 is retried on another credential, the client only sees 200s, and A is
// parked as exhausted.
TEST_F(Pool, TokenExhaustedMidLoadIsRetriedOnAnother) {
  start_fake();
  auto proxy = start_daemon({token_credential("tok-a", secret_a), token_credential("tok-b", secret_b)});

  std::atomic<bool> emptied{false};
  long reset_a = 0;
  std::mutex control;
  const auto load = run_load(proxy->where(), ci_token, "midload", 60, 4, [&](int answered) {
    if (answered >= 12 && !emptied.exchange(true)) {
      const std::lock_guard lock(control);
      // Spent within the window the proxy already saw: same reset.
      const auto rate = request(fake_->where(), "GET", "/rate_limit", {auth_of(secret_a)});
      const long reset = json::parse(rate.body()).at("resources").at("core").at("reset").to_number<long>();
      reset_a = set_limit(*fake_, secret_a, "core", 5000, 0, reset - fake_now(*fake_));
    }
  });
  ASSERT_TRUE(emptied);
  EXPECT_EQ(load.count(200), 60) << describe(load);

  const auto a = counters_of(*fake_, secret_a);
  const auto b = counters_of(*fake_, secret_b);
  EXPECT_GE(a.status("403"), 1) << "GitHub never refused token A: the test did not exercise the retry";
  EXPECT_EQ(b.status("403"), 0);
  EXPECT_EQ(b.credits + a.credits, 60) << "every request spent exactly one credit once";
  // Each 403 was retried on B, and A was left alone afterwards.
  const auto logged_a = fake_->requests(1000);
  int after_first_403 = 0;
  bool seen = false;
  std::map<std::string, std::vector<std::string>> attempts;  // target → "tok-x:status", in order
  for (const auto& r : logged_a.as_array()) {
    const auto& o = r.as_object();
    const auto who = credential_of(logged_header(o, "Authorization"));
    const int status = o.at("status").to_number<int>();
    if (o.at("target").as_string().starts_with("/repos/")) {
      attempts[std::string(o.at("target").as_string())].push_back(who + ":" + std::to_string(status));
    }
    if (who != "tok-a") continue;
    if (seen) ++after_first_403;
    if (status == 403) seen = true;
  }
  for (const auto& [target, tries] : attempts) {
    if (tries.size() == 1) continue;
    EXPECT_EQ(tries, (std::vector<std::string>{"tok-a:403", "tok-b:200"})) << target;
  }
  EXPECT_LE(after_first_403, 3) << "token A was still chosen after GitHub said it was spent "
                                   "(only requests already in flight may follow)";

  ASSERT_GE(proxy->metric_at_least("github_proxy_requests_total", {{"client", "ci"}}, 60), 60);
  EXPECT_EQ(proxy->metric("github_proxy_upstream_requests_total", {{"credential", "tok-a"}, {"code", "403"}}),
            a.status("403"));
  EXPECT_TRUE(proxy->state_becomes("tok-a", "exhausted")) << "token A is not shown as exhausted";
  EXPECT_EQ(proxy->metric("github_proxy_credential_state", {{"credential", "tok-b"}, {"state", "ok"}}), 1);
  const labels bucket_a{{"credential", "tok-a"}, {"resource", "core"}};
  EXPECT_EQ(proxy->metric("github_proxy_rate_limit_remaining", bucket_a), 0);
  EXPECT_EQ(proxy->metric("github_proxy_rate_limit_reset_timestamp_seconds", bucket_a), reset_a);
  EXPECT_EQ(proxy->metric("github_proxy_client_upstream_credits_total", {{"client", "ci"}}), 60)
      << "the refused attempt must not be charged to the client";
}

// ---- 3. every token exhausted ---------------------------------------------------

// Three tokens of 3 credits: nine requests spend them all, the tenth gets the
// proxy's own 429 without anything going upstream. A resource cached before
// gets a rate-limit answer too (serve_stale off; the fake, like GitHub for
// all we know, refuses a conditional request when no credit is left), and
// its entry survives to be revalidated once GitHub has credits again.
TEST_F(Pool, EveryTokenExhaustedIs429WithTheEarliestReset) {
  start_fake();
  std::vector<long> resets;
  resets.push_back(set_limit(*fake_, secret_a, "core", 3, 3, 1800));
  resets.push_back(set_limit(*fake_, secret_b, "core", 3, 3, 1200));
  resets.push_back(set_limit(*fake_, secret_c, "core", 3, 3, 2400));
  const long earliest = *std::min_element(resets.begin(), resets.end());
  auto proxy = start_daemon(three_tokens());

  const std::string cached_path = "/repos/octo-org/repo-5";
  const auto first = get(*proxy, cached_path);
  ASSERT_EQ(first.result_int(), 200) << first.body();
  EXPECT_EQ(first["Cache-Status"], "github-proxy; fwd=miss; stored");
  for (int i = 0; i < 8; ++i) {
    const auto res = get(*proxy, fresh_path("exhaust", i));
    ASSERT_EQ(res.result_int(), 200) << i << ": " << res.body();
  }
  const long upstream_before = total_requests(*fake_);
  EXPECT_EQ(upstream_before, 9);

  for (const std::string& path : {fresh_path("exhaust", 100), std::string("/repos/octo-org/repo-6")}) {
    const auto res = get(*proxy, path);
    expect_github_error(res, 429, path);
    const long retry_after = header_number(res, "Retry-After");
    const long now = fake_now(*fake_);
    EXPECT_GE(retry_after, 1) << path;
    EXPECT_LE(std::abs(retry_after - (earliest - now)), 2) << path << ": Retry-After " << retry_after
                                                           << ", earliest reset in " << earliest - now;
    EXPECT_EQ(res["X-RateLimit-Remaining"], "0") << path;
    EXPECT_LE(std::abs(header_number(res, "X-RateLimit-Reset") - earliest), 2)
        << path << ": X-RateLimit-Reset " << res["X-RateLimit-Reset"] << ", earliest reset " << earliest;
  }
  // POSTs bypass the cache but not the pool.
  const auto post = request(proxy->where(), "POST", "/repos/octo-org/repo-1/issues", {auth_of(ci_token)},
                            R"({"title":"t"})");
  expect_github_error(post, 429, "POST");
  EXPECT_EQ(total_requests(*fake_), upstream_before) << "a refused request went upstream";

  // The cached resource. Whether GitHub answers a conditional request with
  // a free 304 when no credit is left is not documented (docs/github-api.md §1.2); the
  // fake answers it with the primary-limit 403, like any request. The client
  // must get a rate-limit answer (docs/contract.md §5: the proxy's 429; GitHub's own 403
  // with X-RateLimit-Remaining: 0 is reported, not accepted), and a refused
  // revalidation says nothing about the resource: the entry must survive.
  const auto again = get(*proxy, cached_path);
  expect_github_error(again, 429, "cached " + cached_path + " with every credential exhausted");
  EXPECT_EQ(again["X-RateLimit-Remaining"], "0");
  EXPECT_LE(total_requests(*fake_) - upstream_before, 2) << "one attempt and one retry at most";

  // GitHub's buckets fill again: a new window, whose reset is later than
  // every reset the proxy has seen (3600 s from now > 2400 s from the
  // start). A refilled bucket with its old reset would be a window that
  // regains credits, which GitHub never shows and the proxy ignores
  // (remaining only falls within a window, rate_limit_state.h). This used to
  // be 1800 s, tok-a's first window: the 304 then brought tok-a's old reset
  // or a later one depending on whether the fake's clock had ticked a second
  // since the start, and tok-a stayed exhausted or became ok (issue 20).
  // The entry is still there and is revalidated for free. The proxy still
  // believes every bucket is spent, so only a free revalidation may be sent.
  std::vector<long> refilled;
  for (const auto& secret : {secret_a, secret_b, secret_c}) {
    refilled.push_back(set_limit(*fake_, secret, "core", 3, 3, 3600));
  }
  const auto later = get(*proxy, cached_path);
  EXPECT_EQ(later.result_int(), 200) << later.body();
  EXPECT_EQ(later["Cache-Status"], "github-proxy; hit; detail=revalidated")
      << "the cached entry did not survive the refused revalidation";
  EXPECT_EQ(later.body(), first.body());
  EXPECT_EQ(total_status(*fake_, "304"), 1);

  // The revalidation went with the credential that fetched the entry
  // (docs/contract.md §7 "Selection": it wins while usable, even spent).
  const auto sent = logged(cached_path);
  ASSERT_GE(sent.size(), 2u);
  ASSERT_EQ(sent.back().at("status").to_number<int>(), 304);
  const auto fetcher = credential_of(logged_header(sent.front(), "Authorization"));
  const auto carrier = credential_of(logged_header(sent.back(), "Authorization"));
  EXPECT_EQ(carrier, fetcher) << "the revalidation was not sent with the credential that fetched the entry";

  // The proxy records the X-RateLimit-* of every answer, the 304 included
  // (docs/contract.md §7 "Rate limits"; a 304 carries all five,
  // docs/github-api.md §1.5): the carrier shows GitHub's new window and is
  // usable again. The others have had no answer since they were spent: they
  // stay exhausted with the window GitHub last told of.
  const std::vector<std::string> names{"tok-a", "tok-b", "tok-c"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& name = names[i];
    const labels bucket{{"credential", name}, {"resource", "core"}};
    const auto state = [&](const std::string& s) {
      return proxy->metric("github_proxy_credential_state", {{"credential", name}, {"state", s}});
    };
    EXPECT_EQ(proxy->metric("github_proxy_rate_limit_limit", bucket), 3) << name;
    if (name == carrier) {
      EXPECT_EQ(state("ok"), 1) << name << " carried the 304 that reported a new window";
      EXPECT_EQ(proxy->metric("github_proxy_rate_limit_remaining", bucket), 3) << name;
      EXPECT_EQ(proxy->metric("github_proxy_rate_limit_reset_timestamp_seconds", bucket), refilled[i]) << name;
    } else {
      EXPECT_EQ(state("exhausted"), 1) << name;
      EXPECT_EQ(proxy->metric("github_proxy_rate_limit_remaining", bucket), 0) << name;
      EXPECT_EQ(proxy->metric("github_proxy_rate_limit_reset_timestamp_seconds", bucket), resets[i]) << name;
    }
  }
  // Exhausted is not broken: the proxy stays ready (docs/contract.md §8 /readyz).
  EXPECT_TRUE(readyz(*proxy));
  // Not asserted: whether GitHub's 403 to the refused revalidation is
  // charged to the client (github_proxy_client_upstream_credits_total).
}

// With `cache.serve_stale: on_upstream_error`, the cached body is served
// stale when every credential is exhausted (docs/contract.md §6).
TEST_F(Pool, EveryTokenExhaustedServesStaleWhenConfigured) {
  start_fake();
  set_limit(*fake_, secret_a, "core", 2, 2, 1800);
  auto proxy = start_daemon({token_credential("tok-a", secret_a)}, {{"ci", ci_token, ""}},
                            "cache:\n  backend: memory\n  serve_stale: on_upstream_error\n");
  const std::string cached_path = "/repos/octo-org/repo-5";
  const auto first = get(*proxy, cached_path);
  ASSERT_EQ(first.result_int(), 200) << first.body();
  ASSERT_EQ(get(*proxy, fresh_path("stale", 0)).result_int(), 200);
  expect_github_error(get(*proxy, fresh_path("stale", 1)), 429, "uncached");

  // Every credential is exhausted: the cached body, stale (docs/contract.md §6), whether
  // the proxy refused at once (fwd-status=429) or tried a revalidation that
  // GitHub refused (fwd-status=403).
  const auto stale = get(*proxy, cached_path);
  EXPECT_EQ(stale.result_int(), 200) << stale.body();
  EXPECT_EQ(stale.body(), first.body());
  const std::string status(stale["Cache-Status"]);
  EXPECT_TRUE(status.starts_with("github-proxy; fwd=stale; fwd-status=") && status.ends_with("; detail=stale"))
      << status;
  EXPECT_LE(total_requests(*fake_), 3);
}

// ---- 4. GitHub Apps ---------------------------------------------------------------

// An App alone serves a load while the fake's clock moves 800 s in four steps
// of 200 s with 600 s tokens: the first token expires during the load, the
// proxy renews ahead of expiry (renew_at = expires − 300 s), and no request
// fails. Each step waits for the load to move on (and, when a renewal is due,
// for it), as real time would.
TEST_F(Pool, AppTokenExpiringDuringLoadIsRenewed) {
  const auto key = generate_rsa_key(dir_.path(), "app");
  start_fake({"--app-key", "123=" + key.public_key, "--installation-token-ttl", "600"});
  auto proxy = start_daemon({app_credential("app", "123", "42", key.private_key)});

  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  load_result load;
  std::thread load_thread([&] {
    load = run_load(proxy->where(), ci_token, "app", 4000, 4, [&](int) { ++answered; }, &stop);
  });
  const auto progress = [&](int more) {
    const int goal = answered.load() + more;
    return poll_until([&] { return answered.load() >= goal; }, 10s);
  };
  const auto issued_reaches = [&](long n) {
    return poll_until([&] { return installation_tokens_issued(*fake_, "42") >= n; }, 10s, 20ms);
  };
  std::vector<std::string> trouble;
  if (!progress(20)) trouble.push_back("no progress before the first step");
  EXPECT_EQ(installation_tokens_issued(*fake_, "42"), 1);
  advance_clock(*fake_, 200);  // +200: token 1 still fresh
  if (!progress(20)) trouble.push_back("no progress after +200");
  advance_clock(*fake_, 200);  // +400: past token 1's renew_at (+300)
  if (!issued_reaches(2)) trouble.push_back("token 1 was not renewed at +400");
  if (!progress(20)) trouble.push_back("no progress after +400");
  advance_clock(*fake_, 200);  // +600: token 1 has expired
  if (!progress(20)) trouble.push_back("no progress after +600");
  advance_clock(*fake_, 200);  // +800: past token 2's renew_at (+700)
  if (!issued_reaches(3)) trouble.push_back("token 2 was not renewed at +800");
  if (!progress(20)) trouble.push_back("no progress after +800");
  stop = true;
  load_thread.join();

  EXPECT_TRUE(trouble.empty()) << ::testing::PrintToString(trouble);
  EXPECT_GE(load.total(), 100);
  EXPECT_EQ(load.count(200), load.total()) << describe(load);
  EXPECT_GE(installation_tokens_issued(*fake_, "42"), 3);
  EXPECT_EQ(installation_token_requests_rejected(*fake_), 0);
  EXPECT_EQ(total_status(*fake_, "401"), 0) << "a request was sent with an expired token";
  // The first token did expire while the load went on.
  const auto apps = fake_->control("GET", "/_fake/apps");
  int expired = 0;
  for (const auto& t : apps.at("tokens").as_array()) expired += t.at("expired").as_bool() ? 1 : 0;
  EXPECT_GE(expired, 1);
  EXPECT_EQ(proxy->metric("github_proxy_credential_state", {{"credential", "app"}, {"state", "ok"}}), 1);
  EXPECT_NE(proxy->log().find("credential=app "), std::string::npos);
}

// An App alone whose installation token GitHub rejects with 401 — revoked
// (20 s after it was issued, past the proxy's replication grace), then
// expired by a jump of the fake's clock that nothing announced: the request
// that meets the 401 must not fail while the App can be renewed (docs/contract.md §7:
// "a 401 marks it broken until its next renewal"; "the client sees GitHub's
// answer only when no credential is left").
TEST_F(Pool, AppTokenRejectedWith401IsRenewedAndTheRequestRetried) {
  const auto key = generate_rsa_key(dir_.path(), "app");
  start_fake({"--app-key", "123=" + key.public_key, "--installation-token-ttl", "600"});
  auto proxy = start_daemon({app_credential("app", "123", "42", key.private_key)});
  ASSERT_EQ(get(*proxy, fresh_path("r401", 0)).result_int(), 200);
  ASSERT_EQ(installation_tokens_issued(*fake_, "42"), 1);
  advance_clock(*fake_, 20);
  ASSERT_EQ(get(*proxy, fresh_path("r401", 1)).result_int(), 200);

  // Revoked.
  const auto apps = fake_->control("GET", "/_fake/apps");
  const std::string token(apps.at("tokens").as_array().at(0).at("token").as_string());
  fake_->control("POST", "/_fake/revoke", R"({"token":")" + token + R"("})");
  std::vector<unsigned> revoked;
  for (int i = 2; i <= 5; ++i) revoked.push_back(get(*proxy, fresh_path("r401", i)).result_int());
  EXPECT_EQ(revoked, std::vector<unsigned>(4, 200))
      << "after a revocation; the fake answered 401 " << total_status(*fake_, "401") << " time(s)";
  EXPECT_EQ(installation_tokens_issued(*fake_, "42"), 2);

  // Expired without warning.
  advance_clock(*fake_, 700);
  std::vector<unsigned> expired;
  for (int i = 6; i <= 9; ++i) expired.push_back(get(*proxy, fresh_path("r401", i)).result_int());
  EXPECT_EQ(expired, std::vector<unsigned>(4, 200))
      << "after expiry; the fake answered 401 " << total_status(*fake_, "401") << " time(s) in all";
  EXPECT_EQ(installation_tokens_issued(*fake_, "42"), 3);
}

// An App whose key is not the registered App's, next to a working token:
// the App never gets a token (the fake rejects its JWTs), every request is
// served by the token, the App is shown broken, and the proxy stays ready.
TEST_F(Pool, BrokenAppKeyNextToAWorkingTokenFailsNothing) {
  const auto registered = generate_rsa_key(dir_.path(), "registered");
  const auto wrong = generate_rsa_key(dir_.path(), "wrong");
  start_fake({"--app-key", "123=" + registered.public_key});
  auto proxy = start_daemon({app_credential("app-bad", "123", "42", wrong.private_key),
                             token_credential("tok-a", secret_a)});

  const auto load = run_load(proxy->where(), ci_token, "badapp", 30, 4);
  EXPECT_EQ(load.count(200), 30) << describe(load);
  EXPECT_EQ(counters_of(*fake_, secret_a).credits, 30);
  EXPECT_GE(installation_token_requests_rejected(*fake_), 1);
  EXPECT_EQ(installation_tokens_issued(*fake_, "42"), 0);
  EXPECT_TRUE(proxy->state_becomes("app-bad", "broken"));
  EXPECT_EQ(proxy->metric("github_proxy_upstream_requests_total", {{"credential", "app-bad"}}), 0);
  EXPECT_EQ(proxy->metric("github_proxy_upstream_requests_total", {{"credential", "tok-a"}}), 30);
  EXPECT_TRUE(readyz(*proxy));
}

// A token revoked during a load, next to another: its 401 is retried on the
// other one, nothing fails, and it is shown broken (docs/contract.md §7).
TEST_F(Pool, TokenRevokedMidLoadFailsNothing) {
  start_fake();
  auto proxy = start_daemon({token_credential("tok-a", secret_a), token_credential("tok-b", secret_b)});
  std::atomic<bool> revoked{false};
  const auto load = run_load(proxy->where(), ci_token, "revoke", 40, 4, [&](int answered) {
    if (answered >= 10 && !revoked.exchange(true)) {
      fake_->control("POST", "/_fake/revoke", R"({"token":")" + secret_a + R"("})");
    }
  });
  EXPECT_EQ(load.count(200), 40) << describe(load);
  EXPECT_GE(counters_of(*fake_, secret_a).status("401"), 1) << "the revoked token was never tried";
  EXPECT_TRUE(proxy->state_becomes("tok-a", "broken"));
  EXPECT_EQ(proxy->metric("github_proxy_credential_state", {{"credential", "tok-b"}, {"state", "ok"}}), 1);
  EXPECT_TRUE(readyz(*proxy));
}

// ---- 5. GraphQL ------------------------------------------------------------------

// GitHub reports a spent GraphQL bucket with a 200 whose body says
// RATE_LIMITED: the proxy rotates to the other token and the client gets data.
TEST_F(Pool, GraphqlRateLimitedWith200IsRotated) {
  start_fake();
  set_limit(*fake_, secret_a, "graphql", 5000, 0, 1800);
  auto proxy = start_daemon({token_credential("tok-a", secret_a), token_credential("tok-b", secret_b)});

  for (int i = 0; i < 6; ++i) {
    const auto res = request(proxy->where(), "POST", "/graphql",
                             {auth_of(ci_token), {"Content-Type", "application/json"}},
                             R"({"query":"query { viewer { login } }"})");
    ASSERT_EQ(res.result_int(), 200) << i << ": " << res.body();
    EXPECT_EQ(res.body(), R"({"data":{"viewer":{"login":"octocat"}}})") << i;
  }
  const auto a = counters_of(*fake_, secret_a);
  const auto b = counters_of(*fake_, secret_b);
  EXPECT_GE(a.resource("graphql"), 1) << "token A was never tried: the test did not exercise rotation";
  EXPECT_LE(a.resource("graphql"), 1) << "token A was tried again after its RATE_LIMITED answer";
  EXPECT_EQ(b.resource("graphql"), 6);
  EXPECT_EQ(proxy->metric("github_proxy_rate_limit_remaining", {{"credential", "tok-a"}, {"resource", "graphql"}}),
            0);
  EXPECT_GT(proxy->metric("github_proxy_rate_limit_remaining", {{"credential", "tok-b"}, {"resource", "graphql"}}),
            0);
}

// ---- 6. secondary limits -------------------------------------------------------

// GitHub's secondary limit (403, Retry-After: 30) for one request: the
// credential that got it cools down for 30 s on GitHub's clock while the
// other serves everything, then comes back.
TEST_F(Pool, SecondaryLimitParksTheCredentialForRetryAfter) {
  start_fake();
  auto proxy = start_daemon({token_credential("tok-a", secret_a), token_credential("tok-b", secret_b)});
  fake_->control("POST", "/_fake/faults",
                 R"({"path_prefix":"/repos/octo-org/repo-7","secondary_limit":true,"retry_after":30,"count":1})");

  const auto res = get(*proxy, "/repos/octo-org/repo-7");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  const auto attempts = logged("/repos/octo-org/repo-7");
  ASSERT_EQ(attempts.size(), 2u) << "expected the limited attempt and its retry";
  EXPECT_EQ(attempts[0].at("status").to_number<int>(), 403);
  EXPECT_EQ(attempts[1].at("status").to_number<int>(), 200);
  const auto parked = credential_of(logged_header(attempts[0], "Authorization"));
  const auto other = credential_of(logged_header(attempts[1], "Authorization"));
  ASSERT_NE(parked, other);
  const auto& parked_secret = parked == "tok-a" ? secret_a : secret_b;

  EXPECT_EQ(proxy->metric("github_proxy_credential_state", {{"credential", parked}, {"state", "cooling"}}), 1);
  EXPECT_EQ(proxy->metric("github_proxy_credential_state", {{"credential", other}, {"state", "ok"}}), 1);
  const long parked_before = counters_of(*fake_, parked_secret).requests;
  const auto load = run_load(proxy->where(), ci_token, "cooling", 20, 4);
  EXPECT_EQ(load.count(200), 20) << describe(load);
  EXPECT_EQ(counters_of(*fake_, parked_secret).requests, parked_before) << parked << " was used while cooling";
  EXPECT_EQ(proxy->metric("github_proxy_credential_state", {{"credential", parked}, {"state", "cooling"}}), 1);

  // 31 s later on GitHub's clock: the next answer's Date tells the proxy.
  advance_clock(*fake_, 31);
  ASSERT_EQ(get(*proxy, fresh_path("cooled", 0)).result_int(), 200);
  EXPECT_TRUE(proxy->state_becomes(parked, "ok")) << parked << " is still cooling after Retry-After";
  const auto after = run_load(proxy->where(), ci_token, "cooled-more", 10, 2);
  EXPECT_EQ(after.count(200), 10) << describe(after);
  EXPECT_GT(counters_of(*fake_, parked_secret).requests, parked_before) << parked << " never came back";
}

// Without Retry-After the credential cools for 60 s (GitHub: "wait for at
// least one minute").
TEST_F(Pool, SecondaryLimitWithoutRetryAfterParksForAMinute) {
  start_fake();
  auto proxy = start_daemon({token_credential("tok-a", secret_a), token_credential("tok-b", secret_b)});
  fake_->control("POST", "/_fake/faults",
                 R"({"path_prefix":"/repos/octo-org/repo-8","secondary_limit":true,"count":1})");
  ASSERT_EQ(get(*proxy, "/repos/octo-org/repo-8").result_int(), 200);
  const auto attempts = logged("/repos/octo-org/repo-8");
  ASSERT_EQ(attempts.size(), 2u);
  const auto parked = credential_of(logged_header(attempts[0], "Authorization"));
  EXPECT_EQ(proxy->metric("github_proxy_credential_state", {{"credential", parked}, {"state", "cooling"}}), 1);

  advance_clock(*fake_, 45);
  ASSERT_EQ(get(*proxy, fresh_path("minute", 0)).result_int(), 200);
  EXPECT_EQ(proxy->metric("github_proxy_credential_state", {{"credential", parked}, {"state", "cooling"}}), 1)
      << "45 s is less than the minute GitHub asks for";
  advance_clock(*fake_, 20);
  ASSERT_EQ(get(*proxy, fresh_path("minute", 1)).result_int(), 200);
  EXPECT_TRUE(proxy->state_becomes(parked, "ok"));
}

// ---- 7. budgets ------------------------------------------------------------------

// A runaway client over `upstream_budget: 5/h` gets 429s for what would
// spend a credit, still gets cached resources revalidated for free, and two
// other clients running at the same time get every request served.
TEST_F(Pool, RunawayClientOverBudgetDoesNotHurtOthers) {
  start_fake();
  const std::string runaway_token = "ghpx_pool_runaway", good1_token = "ghpx_pool_good1",
                    good2_token = "ghpx_pool_good2";
  auto proxy = start_daemon({token_credential("tok-a", secret_a), token_credential("tok-b", secret_b)},
                            {{"runaway", runaway_token, "5/h"}, {"good1", good1_token, "1000/h"},
                             {"good2", good2_token, ""}});

  load_result runaway, good1, good2;
  std::vector<http_response> refusals;
  std::thread runaway_thread([&] {
    for (int i = 0; i < 20; ++i) {
      auto res = get(*proxy, fresh_path("runaway", i), runaway_token);
      ++runaway.statuses[res.result_int()];
      if (res.result_int() == 429) refusals.push_back(std::move(res));
    }
  });
  std::thread good1_thread([&] { good1 = run_load(proxy->where(), good1_token, "good1", 30, 2); });
  std::thread good2_thread([&] { good2 = run_load(proxy->where(), good2_token, "good2", 30, 2); });
  runaway_thread.join();
  good1_thread.join();
  good2_thread.join();

  EXPECT_EQ(good1.count(200), 30) << describe(good1);
  EXPECT_EQ(good2.count(200), 30) << describe(good2);
  EXPECT_EQ(runaway.count(200), 5) << describe(runaway);
  EXPECT_EQ(runaway.count(429), 15) << describe(runaway);
  ASSERT_FALSE(refusals.empty());
  expect_github_error(refusals.front(), 429, "over budget");
  EXPECT_GE(header_number(refusals.front(), "Retry-After"), 1);
  EXPECT_NE(refusals.front().body().find("runaway"), std::string::npos) << refusals.front().body();

  // Free revalidations are still served: a resource good1 cached, and one the
  // runaway cached itself before it ran out.
  const long upstream_before = total_requests(*fake_);
  for (const auto& path : {fresh_path("good1", 0), fresh_path("runaway", 0)}) {
    const auto res = get(*proxy, path, runaway_token);
    EXPECT_EQ(res.result_int(), 200) << path << ": " << res.body();
    EXPECT_EQ(res["Cache-Status"], "github-proxy; hit; detail=revalidated") << path;
  }
  EXPECT_EQ(total_requests(*fake_), upstream_before + 2) << "each revalidation is one (free) upstream 304";
  EXPECT_EQ(total_status(*fake_, "304"), 2);
  // A POST always spends: refused.
  expect_github_error(request(proxy->where(), "POST", "/repos/octo-org/repo-1/issues", {auth_of(runaway_token)},
                              R"({"title":"t"})"),
                      429, "POST over budget");
  EXPECT_EQ(total_requests(*fake_), upstream_before + 2);

  ASSERT_GE(proxy->metric_at_least("github_proxy_requests_total", {{"client", "runaway"}}, 23), 23);
  EXPECT_EQ(proxy->metric("github_proxy_rejected_requests_total", {{"client", "runaway"}, {"reason", "budget"}}), 16);
  EXPECT_EQ(proxy->metric("github_proxy_client_upstream_credits_total", {{"client", "runaway"}}), 5);
  EXPECT_EQ(proxy->metric("github_proxy_client_upstream_credits_total", {{"client", "good1"}}), 30);
  EXPECT_EQ(proxy->metric("github_proxy_client_upstream_credits_total", {{"client", "good2"}}), 30);
  EXPECT_EQ(proxy->metric("github_proxy_rejected_requests_total", {{"client", "good1"}}), 0);
  EXPECT_EQ(proxy->metric("github_proxy_rejected_requests_total", {{"client", "good2"}}), 0);
}

// ---- 8. one budget across replicas ----------------------------------------------

// Two replicas on one Redis (cache.backend: redis) share a client's budget:
// 6/h across both, not 6 each.
TEST_F(Pool, ReplicasOnOneRedisShareABudget) {
  ASSERT_TRUE(redis_server::available()) << redis_server::not_installed;
  redis_server redis;
  start_fake();
  const std::string runaway_token = "ghpx_pool_runaway", good_token = "ghpx_pool_good";
  const std::vector<pool_client> clients{{"runaway", runaway_token, "6/h"}, {"good", good_token, ""}};
  const std::string cache_yaml = "cache:\n  backend: redis\n  redis:\n    url: " + redis.url() +
                                 "\n    key_prefix: \"pool8:\"\n    timeout: 500ms\n";
  auto replica_a = start_daemon({token_credential("tok-a", secret_a)}, clients, cache_yaml);
  auto replica_b = start_daemon({token_credential("tok-b", secret_b)}, clients, cache_yaml);

  std::vector<unsigned> statuses;
  for (int i = 0; i < 20; ++i) {
    const auto& replica = i % 2 == 0 ? *replica_a : *replica_b;
    statuses.push_back(get(replica, fresh_path("shared", i), runaway_token).result_int());
  }
  const auto served = std::count(statuses.begin(), statuses.end(), 200u);
  const auto refused = std::count(statuses.begin(), statuses.end(), 429u);
  EXPECT_EQ(served, 6) << "12 would mean each replica counts alone: " << ::testing::PrintToString(statuses);
  EXPECT_EQ(refused, 14);
  EXPECT_EQ(replica_a->metric("github_proxy_cache_backend_errors_total", {{"backend", "redis"}}), 0);
  EXPECT_EQ(replica_b->metric("github_proxy_cache_backend_errors_total", {{"backend", "redis"}}), 0);

  // The other client is not affected, on either replica.
  for (int i = 0; i < 6; ++i) {
    const auto& replica = i % 2 == 0 ? *replica_a : *replica_b;
    EXPECT_EQ(get(replica, fresh_path("shared-good", i), good_token).result_int(), 200) << i;
  }
}

}  // namespace
}  // namespace ghp_test
