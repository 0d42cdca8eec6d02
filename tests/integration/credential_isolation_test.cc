// One client's requests must never break a credential for everyone else
// (docs/contract.md §7; docs/github-api.md §5): the real daemon with two
// token credentials in front of the fake GitHub, over sockets.
//
//  - The paths only a GitHub App's own JWT may call answer every token with
//    401 "A JSON web token could not be decoded". A client calling them in a
//    loop gets that answer (or the pipeline's own 403 for the paths it knows),
//    and no credential is taken out of service: /readyz stays 200 and
//    another client is served all along.
//  - A token GitHub answers 401 "Bad credentials" is broken; once GitHub
//    accepts it again, SIGHUP brings it back even though its secret did not
//    change (the probe's backoff is shown on a manual clock in
//    tests/unit/credentials/pool_test.cc; here it runs against the fake's
//    clock once the pipeline's token issuer sends probes).
//
// Nothing here sleeps to let time pass; it only polls (bounded) for
// something that must happen.
#include <atomic>
#include <csignal>
#include <optional>
#include <string>
#include <thread>
#include <vector>

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
using namespace std::chrono_literals;

const std::string ci_token = "ghpx_isolation_ci";
const std::string hammer_token = "ghpx_isolation_hammer";
const std::string secret_a = "isolation-secret-token-a";
const std::string secret_b = "isolation-secret-token-b";

constexpr std::string_view jwt_undecodable = "A JSON web token could not be decoded";

// The JWT-only paths of docs/github-api.md §5, as a CI job might call them
// (gh's and octokit's App helpers do).
const std::vector<std::string> jwt_only_paths = {
    "/repos/octo-org/repo-1/installation", "/app", "/app/installations", "/orgs/octo-org/installation",
    "/users/octocat/installation"};

std::string message_of(const std::string& body) {
  json::error_code ec;
  const auto parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) return {};
  const auto* message = parsed.as_object().if_contains("message");
  return message && message->is_string() ? std::string(message->as_string()) : std::string();
}

class CredentialIsolation : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = std::make_unique<fake_github>(dir_);
    daemon_options opts;
    opts.upstream_url = fake_->url();
    opts.credentials = {token_credential("tok-a", secret_a), token_credential("tok-b", secret_b)};
    opts.clients = {{"ci", ci_token, ""}, {"hammer", hammer_token, ""}};
    proxy_ = std::make_unique<pool_daemon>(dir_, std::move(opts));
  }

  http_response get(const std::string& path, const std::string& token = ci_token) {
    return request(proxy_->where(), "GET", path, {auth_of(token)});
  }

  bool readyz() { return request(proxy_->admin(), "GET", "/readyz").result_int() == 200; }

  double state(const std::string& credential, const std::string& name) {
    return proxy_->metric("github_proxy_credential_state", {{"credential", credential}, {"state", name}});
  }

  // Requests for never-fetched paths until GitHub has answered `secret` with
  // a 401 (the pool spreads requests, so a few suffice); each must reach the
  // client as a 200 (retried on the other token).
  void until_rejected(const std::string& secret, const std::string& tag) {
    for (int i = 0; i < 20 && counters_of(*fake_, secret).status("401") == 0; ++i) {
      const auto res = get(fresh_path(tag, i));
      EXPECT_EQ(res.result_int(), 200) << tag << " " << i << ": " << res.body();
    }
    ASSERT_GE(counters_of(*fake_, secret).status("401"), 1) << "the revoked token was never tried";
  }

  // Spends `n` credits on fresh paths; every answer must be a 200.
  void serve(const std::string& tag, int n) {
    for (int i = 0; i < n; ++i) {
      const auto res = get(fresh_path(tag, i));
      EXPECT_EQ(res.result_int(), 200) << tag << " " << i << ": " << res.body();
    }
  }

  struct hammer_run {
    int forwarded = 0;  // answered with GitHub's 401 "A JSON web token could not be decoded"
    int refused = 0;    // refused by the proxy itself (403)
    std::vector<std::string> hammer_trouble;  // any other answer
    int client_requests = 0;
    std::vector<std::string> client_trouble;  // the other client's non-200s
    int unready = 0;                          // /readyz answers other than 200
  };

  // `requests` GETs of `paths` (in turn) by the "hammer" client on one
  // connection, while the "ci" client fetches a cached repository
  // (revalidated) and credit-spending fresh paths, and /readyz is polled,
  // until the hammer is done.
  hammer_run hammer_beside_a_client(const std::vector<std::string>& paths, int requests) {
    hammer_run run;
    std::atomic<bool> hammer_done{false};
    std::thread hammer([&] {
      std::optional<http_connection> connection;
      for (int i = 0; i < requests; ++i) {
        const auto& path = paths[i % paths.size()];
        http_request req{http::verb::get, path, 11};
        req.set(http::field::authorization, "token " + hammer_token);
        if (!connection) connection.emplace(proxy_->where());
        const auto res = connection->send(std::move(req));
        if (res.result_int() == 401 && message_of(res.body()) == jwt_undecodable) {
          ++run.forwarded;
        } else if (res.result_int() == 403) {
          ++run.refused;
        } else {
          run.hammer_trouble.push_back(std::to_string(res.result_int()) + " " + path + ": " + res.body());
        }
        if (!res.keep_alive()) connection.reset();
      }
      hammer_done = true;
    });
    for (int i = 0; !hammer_done || i < 10; ++i) {
      for (const auto& path : {std::string("/repos/octo-org/repo-1"), fresh_path("good", i)}) {
        const auto res = get(path);
        ++run.client_requests;
        if (res.result_int() != 200) {
          run.client_trouble.push_back(std::to_string(res.result_int()) + " " + path + ": " + res.body());
        }
      }
      if (!readyz()) ++run.unready;
    }
    hammer.join();
    return run;
  }

  void expect_nothing_broken(const hammer_run& run) {
    EXPECT_TRUE(run.client_trouble.empty())
        << run.client_requests << " requests; " << ::testing::PrintToString(run.client_trouble);
    EXPECT_EQ(run.unready, 0) << "/readyz answered 503 while a client was rejected by GitHub";
    EXPECT_TRUE(readyz());
    for (const std::string name : {"tok-a", "tok-b"}) {
      EXPECT_EQ(state(name, "ok"), 1) << name;
      EXPECT_EQ(state(name, "broken"), 0) << name;
    }
    EXPECT_GT(counters_of(*fake_, secret_a).status("200"), 0) << "tok-a stopped serving";
    EXPECT_GT(counters_of(*fake_, secret_b).status("200"), 0) << "tok-b stopped serving";
  }

  long upstream_401s() {
    return counters_of(*fake_, secret_a).status("401") + counters_of(*fake_, secret_b).status("401");
  }

  // A GET /rate_limit the fake saw with `secret`: the pool's probe.
  bool probed_with(const std::string& secret) {
    const auto all = fake_->requests(1000);
    for (const auto& r : all.as_array()) {
      const auto& o = r.as_object();
      if (o.at("target").as_string() == "/rate_limit" && logged_header(o, "Authorization").ends_with(" " + secret)) {
        return true;
      }
    }
    return false;
  }

  temp_dir dir_;
  std::unique_ptr<fake_github> fake_;
  std::unique_ptr<pool_daemon> proxy_;
};

// A client hammering the JWT-only paths while another works normally: no
// credential is broken, the proxy stays ready, the other client never fails,
// and no such request is retried on a second credential. The pipeline may
// refuse these paths itself (403, credentials::requires_app_jwt) or forward
// them and pass GitHub's 401 on; either way nothing breaks.
TEST_F(CredentialIsolation, JwtOnlyPathsInALoopBreakNoCredential) {
  ASSERT_TRUE(readyz());
  const auto run = hammer_beside_a_client(jwt_only_paths, 60);
  EXPECT_TRUE(run.hammer_trouble.empty()) << ::testing::PrintToString(run.hammer_trouble);
  EXPECT_EQ(run.forwarded + run.refused, 60);
  expect_nothing_broken(run);
  // What went upstream was sent once, with one credential: GitHub's 401
  // reached the client as it was, no other credential was tried for it.
  EXPECT_EQ(upstream_401s(), run.forwarded);
}

// The same with GitHub's JWT 401 on a path the proxy forwards (a fault of
// the fake: any 401 that is not "Bad credentials", say on an App-only path
// the proxy's list does not know yet). Only classify_response stands
// between such a client and every credential here.
TEST_F(CredentialIsolation, A401ThatIsNotBadCredentialsBreaksNoCredential) {
  fake_->control("POST", "/_fake/faults",
                 R"({"path_prefix":"/repos/octo-org/repo-9","status":401,"count":-1,)"
                 R"("message":"A JSON web token could not be decoded"})");
  const auto run = hammer_beside_a_client({"/repos/octo-org/repo-9", "/repos/octo-org/repo-9/issues"}, 40);
  EXPECT_TRUE(run.hammer_trouble.empty()) << ::testing::PrintToString(run.hammer_trouble);
  EXPECT_EQ(run.forwarded, 40) << "GitHub's 401 must reach the client as it is";
  expect_nothing_broken(run);
  EXPECT_EQ(upstream_401s(), 40) << "each 401 was sent once: never retried on the other credential";
}

// "Bad credentials" does break a token: the other serves everything. Once
// GitHub accepts the token again, SIGHUP brings it back although its
// secret (the same environment variable) did not change.
TEST_F(CredentialIsolation, BadCredentialsBreakATokenAndSighupBringsItBack) {
  fake_->control("POST", "/_fake/revoke", R"({"token":")" + secret_a + R"("})");
  until_rejected(secret_a, "revoked");
  ASSERT_TRUE(proxy_->state_becomes("tok-a", "broken"));
  EXPECT_TRUE(readyz()) << "tok-b still works";

  const long a_before = counters_of(*fake_, secret_a).requests;
  serve("while-broken", 6);
  EXPECT_EQ(counters_of(*fake_, secret_a).requests - a_before, 0) << "a broken token was sent a request";

  // GitHub accepts it again; the proxy does not know yet.
  fake_->control("POST", "/_fake/reinstate", R"({"token":")" + secret_a + R"("})");
  serve("reinstated", 2);
  EXPECT_EQ(state("tok-a", "broken"), 1);

  proxy_->process().signal(SIGHUP);
  EXPECT_TRUE(proxy_->state_becomes("tok-a", "ok")) << "SIGHUP did not end the broken state";
  const long a_200_before = counters_of(*fake_, secret_a).status("200");
  serve("after-sighup", 8);
  EXPECT_GT(counters_of(*fake_, secret_a).status("200"), a_200_before) << "tok-a was not used after SIGHUP";
  EXPECT_EQ(state("tok-a", "ok"), 1);
  EXPECT_TRUE(readyz());
}

// Every token broken: clients get a GitHub-shaped 503 saying so, and the
// proxy stays ready (readiness never depends on GitHub: every replica would
// leave the Service at once). SIGHUP after GitHub accepts them again serves.
TEST_F(CredentialIsolation, EveryTokenBrokenThenSighup) {
  for (const auto& secret : {secret_a, secret_b}) {
    fake_->control("POST", "/_fake/revoke", R"({"token":")" + secret + R"("})");
  }
  const auto first = get(fresh_path("all-revoked", 0));
  EXPECT_EQ(first.result_int(), 401) << "GitHub's own answer, after the retry on the other token: " << first.body();
  EXPECT_TRUE(proxy_->state_becomes("tok-a", "broken"));
  EXPECT_TRUE(proxy_->state_becomes("tok-b", "broken"));
  const long upstream_before = total_requests(*fake_);
  const auto refused = get(fresh_path("all-revoked", 1));
  EXPECT_EQ(refused.result_int(), 503) << refused.body();
  EXPECT_NE(refused.body().find("rejected by GitHub"), std::string::npos) << refused.body();
  EXPECT_EQ(total_requests(*fake_), upstream_before) << "nothing is sent while every token is broken";
  EXPECT_TRUE(readyz()) << "a GitHub-side failure took the proxy out of its Service";

  for (const auto& secret : {secret_a, secret_b}) {
    fake_->control("POST", "/_fake/reinstate", R"({"token":")" + secret + R"("})");
  }
  proxy_->process().signal(SIGHUP);
  EXPECT_TRUE(proxy_->state_becomes("tok-a", "ok"));
  EXPECT_TRUE(readyz());
  serve("all-back", 4);
}

// The probe against the fake's clock: GitHub's time moves past the first
// probe's minute (the pool learns it from Date), the next requests start the
// probe, GitHub answers GET /rate_limit with 200, and the token is back
// without SIGHUP. Skipped while the pipeline's token issuer does not send
// probes (src/proxy/app_token_issuer.cc: token_issuer::probe_credential).
TEST_F(CredentialIsolation, ABrokenTokenIsProbedBackOnGitHubsClock) {
  fake_->control("POST", "/_fake/revoke", R"({"token":")" + secret_a + R"("})");
  until_rejected(secret_a, "probe");
  ASSERT_TRUE(proxy_->state_becomes("tok-a", "broken"));
  fake_->control("POST", "/_fake/reinstate", R"({"token":")" + secret_a + R"("})");

  advance_clock(*fake_, 65);
  serve("probe-after", 3);  // the first teaches the pool GitHub's time; the next start the probe
  if (!poll_until([&] { return probed_with(secret_a); }, 3s)) {
    EXPECT_EQ(state("tok-a", "broken"), 1);
    GTEST_SKIP() << "the pipeline's token issuer sends no probe yet (token_issuer::probe_credential)";
  }
  EXPECT_TRUE(proxy_->state_becomes("tok-a", "ok")) << "GitHub answered the probe, the token stayed broken";
  const long a_200_before = counters_of(*fake_, secret_a).status("200");
  serve("probed-back", 8);
  EXPECT_GT(counters_of(*fake_, secret_a).status("200"), a_200_before);
}

}  // namespace
}  // namespace ghp_test
