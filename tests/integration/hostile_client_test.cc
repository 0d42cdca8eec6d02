// The isolation guarantee end to end: a hostile client runs every attack of
// the "Isolation" issue in a loop next to a well-behaved client, which must
// see 100 % success, the same order of latency, and none of its credits
// spent by the other; /readyz stays 200 throughout. Bounded by counts, not
// by time: the hostile client runs a fixed number of rounds, and the
// well-behaved one requests until it has finished.
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "support/harness.h"

namespace ghp_test {
namespace {

namespace http = boost::beast::http;
using steady = std::chrono::steady_clock;

const std::string good_token = "ghpx_test_good_token";
const std::string evil_token = "ghpx_test_evil_token";
const std::string raw_path = "/repos/octo-org/repo-3/contents/docs/guide.md";

// One raw exchange; a refused or dropped connection counts as an answer.
void raw(const target& where, const std::string& bytes) {
  try {
    http_connection conn(where, std::chrono::seconds(3));
    conn.send_raw(bytes);
  } catch (const std::exception&) {
  }
}

// The attacks, each one request (or one connection).
std::vector<std::function<void(const target&)>> attacks() {
  const std::string auth = "Authorization: token " + evil_token + "\r\n";
  std::string many_options = "Connection: ";
  for (int i = 0; i < 2000; ++i) many_options += "x-" + std::to_string(i) + ",";
  std::string huge_graphql = R"({"query":")";
  for (int i = 0; i < 20000; ++i) huge_graphql += "query q" + std::to_string(i) + " { a } ";
  huge_graphql += R"(","operationName":"q1"})";
  return {
      // 5: poison the shared entry of the raw representation.
      [=](const target& t) {
        raw(t, "GET " + raw_path + " HTTP/1.1\r\nHost: x\r\n" + auth +
                   "Accept: application/vnd.github.raw\r\nConnection: Accept\r\n\r\n");
      },
      [=](const target& t) {
        raw(t, "GET " + raw_path + " HTTP/1.1\r\nHost: x\r\n" + auth +
                   "Accept: application/vnd.github.raw\r\nAccept: application/vnd.github+json\r\n\r\n");
      },
      // 15: smuggle a second request in a body of unknowable length.
      [=](const target& t) {
        raw(t, "POST /graphql HTTP/1.1\r\nHost: x\r\n" + auth +
                   "Content-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n"
                   "DELETE /repos/octo-org/repo-1 HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n");
      },
      // 16: TRACE with a body.
      [=](const target& t) {
        raw(t, "TRACE /repos/octo-org/repo-1 HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 4\r\n\r\nboom");
      },
      // 17: raw bytes in the path.
      [=](const target& t) { raw(t, "GET /repos/\xff\xfe/x HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"); },
      // 9: a Connection field with thousands of options.
      [=](const target& t) {
        raw(t, "GET /repos/octo-org/repo-1 HTTP/1.1\r\nHost: x\r\n" + auth + many_options + "\r\n\r\n");
      },
      // 12, 13: dot segments and GraphQL spellings.
      [=](const target& t) { raw(t, "GET /repos/octo-org/repo-1/../repo-2 HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"); },
      [=](const target& t) {
        raw(t, "POST //graphql HTTP/1.1\r\nHost: x\r\n" + auth +
                   "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
      },
      // 14: a method override.
      [=](const target& t) {
        raw(t, "GET /repos/octo-org/repo-1 HTTP/1.1\r\nHost: x\r\n" + auth + "X-HTTP-Method-Override: DELETE\r\n\r\n");
      },
      // 7: a GraphQL document built to be slow to check.
      [=](const target& t) {
        raw(t, "POST /graphql HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\nContent-Length: " +
                   std::to_string(huge_graphql.size()) + "\r\n\r\n" + huge_graphql);
      },
      // 1: JWT-only endpoints, which GitHub answers 401 whatever the token.
      [=](const target& t) {
        raw(t, "GET /repos/octo-org/repo-1/installation HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n");
      },
      [=](const target& t) { raw(t, "GET /app/installations HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"); },
      // 8: unauthenticated bodies announced and never sent.
      [=](const target& t) {
        raw(t, "POST /repos/octo-org/repo-1/issues HTTP/1.1\r\nHost: x\r\nAuthorization: token nobody\r\n"
               "Content-Length: 1000000\r\n\r\n{");
      },
  };
}

double median_ms(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

TEST(HostileClient, AWellBehavedClientDoesNotNoticeIt) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  opts.clients = {{"good", good_token, ""},
                  {"evil", evil_token,
                   "    scopes:\n"
                   "      - {method: GET|HEAD|TRACE, path: /.*}\n"
                   "      - {method: POST, path: /graphql, graphql: query}\n"}};
  proxy_process proxy(dir, opts);

  const std::vector<std::pair<std::string, std::string>> good_auth{{"Authorization", "token " + good_token}};
  auto good_round = [&](std::vector<double>& latencies) {
    const auto started = steady::now();
    const auto json = request(proxy.where(), "GET", "/repos/octo-org/repo-1", good_auth);
    auto raw_fields = good_auth;
    raw_fields.emplace_back("Accept", "application/vnd.github.raw");
    const auto file = request(proxy.where(), "GET", raw_path, raw_fields);
    latencies.push_back(std::chrono::duration<double, std::milli>(steady::now() - started).count());
    EXPECT_EQ(json.result_int(), 200u) << json.body();
    EXPECT_EQ(file.result_int(), 200u) << file.body();
    EXPECT_FALSE(file.body().empty());
    if (!file.body().empty()) {
      EXPECT_NE(file.body().front(), '{') << "the raw representation was poisoned";
    }
    const auto ready = request(proxy.admin(), "GET", "/readyz");
    EXPECT_EQ(ready.result_int(), 200u) << ready.body();
    return json.result_int() == 200 && file.result_int() == 200 && ready.result_int() == 200;
  };

  // Alone first: the latency to compare with.
  std::vector<double> alone;
  for (int i = 0; i < 40; ++i) good_round(alone);

  std::atomic<bool> done{false};
  std::thread evil([&] {
    const auto list = attacks();
    for (int round = 0; round < 15; ++round) {
      for (const auto& attack : list) attack(proxy.where());
    }
    done = true;
  });
  std::vector<double> beside;
  int failures = 0;
  while (!done || beside.size() < 20) {
    if (!good_round(beside)) ++failures;
  }
  evil.join();

  EXPECT_EQ(failures, 0);
  const double before = median_ms(alone), during = median_ms(beside);
  EXPECT_LT(during, 10 * std::max(before, 1.0)) << "median " << before << " ms alone, " << during << " ms beside";
  // Its two URLs cost it two credits, once; everything since was confirmed
  // with free 304s. Nothing the other client did was charged to it.
  EXPECT_EQ(proxy.metric("github_proxy_client_upstream_credits_total", {{"client", "good"}}), 2);
  EXPECT_EQ(proxy.metric("github_proxy_credential_state", {{"state", "broken"}}), 0);
}

}  // namespace
}  // namespace ghp_test
