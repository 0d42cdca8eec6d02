// The status page (docs/contract.md §8 "Status page") after a known sequence
// of requests against the fake GitHub: what one shared token would have
// paid, the outage it would have had at a limit of 3 credits per hour, the
// page, its JSON and `github-proxy status` agreeing, and no secret in any.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "support/harness.h"
#include "support/poll.h"

namespace ghp_test {
namespace {

namespace json = boost::json;

const std::string ci_token = "ghpx_status_ci_token_0123456789";
const std::string scoped_token = "ghpx_status_scoped_token_0123456789";
const std::string upstream_token = "upstream-token-status-1";

std::pair<std::string, std::string> auth(const std::string& token) { return {"Authorization", "token " + token}; }

json::object status_json(const proxy_process& proxy) {
  const auto res = request(proxy.admin(), "GET", "/status.json");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res["Content-Type"], "application/json; charset=utf-8");
  EXPECT_EQ(res["Cache-Control"], "no-store");
  return json::parse(res.body()).as_object();
}

const json::object& client(const json::object& report, std::string_view name) {
  for (const auto& c : report.at("clients").as_array()) {
    if (c.as_object().at("name").as_string() == name) return c.as_object();
  }
  throw std::runtime_error("no client " + std::string(name) + " on the status page");
}

std::int64_t requests_of_everyone(const json::object& report) {
  std::int64_t n = 0;
  for (const auto& c : report.at("clients").as_array()) n += c.as_object().at("requests").to_number<std::int64_t>();
  return n;
}

struct run_result {
  int exit_code;
  std::string output;
};

run_result status_command(const temp_dir& dir, const std::string& admin_url) {
  static int counter = 0;
  child_process run({proxy_binary(), "status", "--admin", admin_url},
                    dir.file("status-" + std::to_string(++counter) + ".log"), {});
  const auto code = run.wait(std::chrono::seconds(20));
  return {code.value_or(-1), run.log()};
}

TEST(StatusPage, ShowsWhatOneSharedTokenWouldHavePaidAndItsOutage) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  opts.upstream_token = upstream_token;
  opts.clients = {{"ci", ci_token, ""},
                  {"scoped", scoped_token,
                   "    scopes:\n      - {method: GET, path: \"/repos/octo-org/repo-1(/.*)?\"}\n"}};
  opts.env = {{"GITHUB_PROXY_ADMIN_ONE_TOKEN_LIMIT", "3"}};
  proxy_process proxy(dir, opts);

  // Demand 1: a miss. Demand 2: a hit (revalidated for free upstream).
  const auto first = request(proxy.where(), "GET", "/repos/octo-org/repo-1", {auth(ci_token)});
  ASSERT_EQ(first.result_int(), 200);
  ASSERT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-1", {auth(ci_token)}).result_int(), 200);
  // Not demand: the client's own conditional request, answered 304 (free on
  // GitHub too), and /rate_limit (never charged).
  ASSERT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-1",
                    {auth(ci_token), {"If-None-Match", std::string(first["ETag"])}})
                .result_int(),
            304);
  ASSERT_EQ(request(proxy.where(), "GET", "/rate_limit", {auth(ci_token)}).result_int(), 200);
  // Demand 3: refused here for its scope, but the shared token would have sent it.
  ASSERT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-2", {auth(scoped_token)}).result_int(), 403);
  // Not demand: malformed (a GraphQL path spelt so that GitHub would not
  // see GraphQL), and nobody's request.
  ASSERT_EQ(request(proxy.where(), "POST", "/%67raphql",
                    {auth(ci_token), {"Content-Type", "application/json"}}, R"({"query":"{viewer{login}}"})")
                .result_int(),
            400);
  ASSERT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-1", {auth("ghpx_unknown_0123456789")}).result_int(),
            401);
  // Demand 4: one over the limit of 3: the token would have been empty.
  ASSERT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-3", {auth(ci_token)}).result_int(), 200);

  // Counted after each answer is written: wait for all eight.
  json::object report;
  ASSERT_TRUE(poll_until([&] { return requests_of_everyone(report = status_json(proxy)) == 8; },
                         std::chrono::seconds(10)))
      << json::serialize(report);

  const auto& ci = client(report, "ci");
  EXPECT_EQ(ci.at("requests").to_number<std::int64_t>(), 6);
  EXPECT_EQ(ci.at("demand").to_number<std::int64_t>(), 3);
  // The same counters as /metrics.
  EXPECT_EQ(ci.at("credits_spent").to_number<std::int64_t>(),
            proxy.metric("github_proxy_client_upstream_credits_total", {{"client", "ci"}}));
  EXPECT_EQ(ci.at("credits_saved").to_number<std::int64_t>(),
            proxy.metric("github_proxy_rate_limit_credits_saved_total", {{"client", "ci"}}));
  EXPECT_EQ(ci.at("rejected_last_hour").to_number<std::int64_t>(), 1);  // the malformed GraphQL path
  const auto& scoped = client(report, "scoped");
  EXPECT_EQ(scoped.at("demand").to_number<std::int64_t>(), 1);
  EXPECT_EQ(scoped.at("rejected").to_number<std::int64_t>(), 1);
  EXPECT_EQ(scoped.at("rejected_last_hour").to_number<std::int64_t>(), 1);
  EXPECT_EQ(client(report, "unauthenticated").at("demand").to_number<std::int64_t>(), 0);

  const auto& one = report.at("one_token").as_object();
  EXPECT_EQ(one.at("limit_per_hour").to_number<std::uint64_t>(), 3u);
  EXPECT_EQ(one.at("demand").to_number<std::uint64_t>(), 4u);
  EXPECT_EQ(one.at("outages").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(one.at("refused").to_number<std::uint64_t>(), 1u);
  const auto& window = one.at("current_window").as_object();
  EXPECT_EQ(window.at("reset").to_number<std::int64_t>() - window.at("start").to_number<std::int64_t>(), 3600);
  EXPECT_FALSE(window.at("exhausted_at").is_null());

  const auto& credentials = report.at("credentials").as_array();
  ASSERT_EQ(credentials.size(), 1u);
  EXPECT_EQ(credentials[0].as_object().at("state").as_string(), "ok");
  EXPECT_EQ(credentials[0].as_object().at("resources").as_object().at("core").as_object().at("limit").to_number<std::int64_t>(),
            5000);
  EXPECT_GE(report.at("cache").as_object().at("hits").to_number<std::int64_t>(), 1);

  // The page and the terminal table show the same report.
  for (const std::string path : {"/", "/status"}) {
    const auto page = request(proxy.admin(), "GET", path);
    ASSERT_EQ(page.result_int(), 200) << path;
    EXPECT_EQ(page["Content-Type"], "text/html; charset=utf-8");
    EXPECT_NE(page["Content-Security-Policy"].find("default-src 'none'"), std::string::npos);
    EXPECT_NE(page.body().find("<tr data-client=\"scoped\">"), std::string::npos) << page.body();
    EXPECT_NE(page.body().find("data-field=\"outages\">1<"), std::string::npos) << page.body();
    EXPECT_EQ(page.body().find(ci_token), std::string::npos);
    EXPECT_EQ(page.body().find(upstream_token), std::string::npos);
  }
  const auto table = status_command(dir, "http://127.0.0.1:" + std::to_string(proxy.admin_port()));
  EXPECT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("scoped"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("outages avoided 1"), std::string::npos) << table.output;

  // No secret anywhere.
  const auto raw = json::serialize(report);
  for (const auto& secret : {ci_token, scoped_token, upstream_token}) {
    EXPECT_EQ(raw.find(secret), std::string::npos) << secret;
    EXPECT_EQ(table.output.find(secret), std::string::npos) << secret;
  }
}

TEST(StatusPage, TheCommandSaysWhyItCannotShowAnything) {
  temp_dir dir;
  const auto bad_url = status_command(dir, "ftp://127.0.0.1:1");
  EXPECT_EQ(bad_url.exit_code, 1);
  EXPECT_NE(bad_url.output.find("http://HOST:PORT"), std::string::npos) << bad_url.output;
  // A port nobody listens on: the connection is refused.
  const auto refused = status_command(dir, "http://127.0.0.1:1");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.output.find("cannot connect"), std::string::npos) << refused.output;
}

}  // namespace
}  // namespace ghp_test
