// Failures a client must see as GitHub-shaped errors, never as a crash or a
// hang (docs/contract.md §5 "Errors"): unreachable, slow and resetting upstreams,
// malformed, oversized, slow and too many clients.
#include <vector>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/harness.h"

namespace ghp_test {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

const std::pair<std::string, std::string> client_auth{"Authorization", "token ghpx_test_ci_token"};

void expect_github_error(const http_response& res, unsigned status) {
  EXPECT_EQ(res.result_int(), status) << res.body();
  EXPECT_EQ(res[http::field::content_type], "application/json; charset=utf-8");
  const auto body = json::parse(res.body()).as_object();
  EXPECT_TRUE(body.contains("message"));
  EXPECT_EQ(body.at("documentation_url").as_string(), "https://docs.github.com/rest");
  EXPECT_EQ(body.at("status").as_string(), std::to_string(status));
}

TEST(Errors, UnreachableUpstreamIs502) {
  temp_dir dir;
  const refused_port nothing_listens;
  proxy_process::options opts;
  opts.upstream_url = "http://127.0.0.1:" + std::to_string(nothing_listens.port());
  proxy_process proxy(dir, opts);
  expect_github_error(request(proxy.where(), "GET", "/repos/octo-org/repo-1", {client_auth}), 502);
  EXPECT_TRUE(proxy.process().running());
}

class UpstreamFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = std::make_unique<fake_github>(dir_);
    proxy_process::options opts;
    opts.upstream_url = fake_->url();
    opts.request_timeout = "1s";
    proxy_ = std::make_unique<proxy_process>(dir_, opts);
  }
  void fault(const std::string& spec) { fake_->control("POST", "/_fake/faults", spec); }

  temp_dir dir_;
  std::unique_ptr<fake_github> fake_;
  std::unique_ptr<proxy_process> proxy_;
};

TEST_F(UpstreamFaults, HangingUpstreamIs504AndTheNextRequestWorks) {
  fault(R"({"path_prefix":"/repos/octo-org/repo-1","count":1,"hang":true})");
  expect_github_error(request(proxy_->where(), "GET", "/repos/octo-org/repo-1", {client_auth}), 504);
  EXPECT_EQ(request(proxy_->where(), "GET", "/repos/octo-org/repo-1", {client_auth}).result_int(), 200);
}

TEST_F(UpstreamFaults, SlowButInTimeUpstreamIsServed) {
  fault(R"({"path_prefix":"/repos/octo-org/repo-1","count":1,"latency_ms":300})");
  EXPECT_EQ(request(proxy_->where(), "GET", "/repos/octo-org/repo-1", {client_auth}).result_int(), 200);
}

TEST_F(UpstreamFaults, ConnectionResetIs502) {
  // A fresh connection that is reset is not retried (it was not a stale
  // keep-alive connection); GETs on a reused one are retried once, so reset twice.
  fault(R"({"path_prefix":"/repos/octo-org/repo-1","count":2,"reset":true})");
  expect_github_error(request(proxy_->where(), "GET", "/repos/octo-org/repo-1", {client_auth}), 502);
  EXPECT_TRUE(proxy_->process().running());
}

TEST_F(UpstreamFaults, GithubErrorsArePassedThroughUnchanged) {
  // A message the proxy cannot make up, so the body must be GitHub's own; a
  // 503 of the proxy's ("Service Unavailable") would not match.
  const std::string rule =
      R"({"path_prefix":"/repos/octo-org/repo-1","count":1,"status":503,"message":"errors_test: GitHub's own 503"})";
  fault(rule);
  const auto direct = request(fake_->where(), "GET", "/repos/octo-org/repo-1", {{"Authorization", "token x"}});
  ASSERT_EQ(direct.result_int(), 503) << direct.body();
  fault(rule);
  const auto res = request(proxy_->where(), "GET", "/repos/octo-org/repo-1", {client_auth});
  EXPECT_EQ(res.result_int(), 503);
  EXPECT_EQ(res.body(), direct.body());
  EXPECT_EQ(json::parse(res.body()).at("message").as_string(), "errors_test: GitHub's own 503") << res.body();
  EXPECT_EQ(res[http::field::content_type], direct[http::field::content_type]);
  // It is the answer to the proxy's request: exactly one, and GitHub said 503.
  std::vector<int> statuses;
  const auto log = fake_->requests();
  for (const auto& seen : log.as_array()) {
    if (seen.at("target").as_string() == "/repos/octo-org/repo-1")
      statuses.push_back(seen.at("status").to_number<int>());
  }
  EXPECT_EQ(statuses, (std::vector<int>{503, 503})) << "the direct request and the proxy's, no retry";
}

class ClientLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = std::make_unique<fake_github>(dir_);
    proxy_process::options opts;
    opts.upstream_url = fake_->url();
    opts.listen_extra =
        "  max_body_bytes: 1KiB\n  read_timeout: 500ms\n  idle_timeout: 300ms\n  max_connections: 4\n";
    proxy_ = std::make_unique<proxy_process>(dir_, opts);
  }
  temp_dir dir_;
  std::unique_ptr<fake_github> fake_;
  std::unique_ptr<proxy_process> proxy_;
};

TEST_F(ClientLimits, MalformedRequestIs400) {
  http_connection conn(proxy_->where());
  expect_github_error(conn.send_raw("NOT HTTP AT ALL\r\n\r\n"), 400);
}

TEST_F(ClientLimits, HeadersOver64KiBAre431) {
  const auto res = request(proxy_->where(), "GET", "/repos/octo-org/repo-1",
                           {client_auth, {"X-Big-1", std::string(36 * 1024, 'a')}, {"X-Big-2", std::string(36 * 1024, 'b')}});
  expect_github_error(res, 431);
}

TEST_F(ClientLimits, BodyOverTheLimitIs413AndNothingGoesUpstream) {
  fake_->control("DELETE", "/_fake/requests");
  const auto res = request(proxy_->where(), "POST", "/repos/octo-org/repo-1/issues",
                           {client_auth, {"Content-Type", "application/json"}}, std::string(4096, 'x'));
  expect_github_error(res, 413);
  EXPECT_TRUE(fake_->requests(10).as_array().empty());
}

TEST_F(ClientLimits, SlowClientIsDisconnected) {
  http_connection conn(proxy_->where(), std::chrono::seconds(5));
  conn.write_raw("GET /repos/octo-org/repo-1 HTTP/1.1\r\nHost: x\r\n");  // never finishes
  const auto start = std::chrono::steady_clock::now();
  conn.read_until_close();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

TEST_F(ClientLimits, IdleKeepAliveConnectionIsClosed) {
  http_connection conn(proxy_->where(), std::chrono::seconds(5));
  http_request req{http::verb::get, "/repos/octo-org/repo-1", 11};
  req.set(http::field::authorization, client_auth.second);
  EXPECT_EQ(conn.send(req).result_int(), 200);
  EXPECT_TRUE(conn.closed_by_peer());
}

TEST_F(ClientLimits, ConnectionsOverTheLimitAreRefused) {
  std::vector<http_connection> held;
  for (int i = 0; i < 4; ++i) {
    held.emplace_back(proxy_->where(), std::chrono::seconds(5));
    http_request req{http::verb::get, "/repos/octo-org/repo-1", 11};
    req.set(http::field::authorization, client_auth.second);
    ASSERT_EQ(held.back().send(req).result_int(), 200);
  }
  http_connection extra(proxy_->where(), std::chrono::seconds(5));
  EXPECT_TRUE(extra.closed_by_peer());
  held.clear();  // frees the slots
  // The slots free as the server notices the closes; one request then works.
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    try {
      served = request(proxy_->where(), "GET", "/repos/octo-org/repo-1", {client_auth}).result_int() == 200;
    } catch (const std::exception&) {
    }
  }
  EXPECT_TRUE(served);
}

}  // namespace
}  // namespace ghp_test
