// Listeners (TCP, TLS, Unix socket), TLS to the upstream, the admin
// endpoints, graceful shutdown and the command line.
#include <csignal>
#include <filesystem>
#include <thread>

#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include "support/harness.h"
#include "support/test_pki.h"

namespace ghp_test {
namespace {

namespace http = boost::beast::http;

const std::pair<std::string, std::string> client_auth{"Authorization", "token ghpx_test_ci_token"};

TEST(Tls, ClientTlsListenerAndVerifiedTlsUpstream) {
  temp_dir dir;
  const auto pki = generate_test_pki(dir.path());
  fake_github::options fake_opts;
  fake_opts.tls = true;
  fake_opts.cert_file = pki.server_cert;
  fake_opts.key_file = pki.server_key;
  fake_github fake(dir, fake_opts);

  proxy_process::options opts;
  opts.upstream_url = fake.url();  // https://localhost:PORT
  opts.upstream_ca_file = pki.ca_cert;
  opts.tls = true;
  opts.cert_file = pki.server_cert;
  opts.key_file = pki.server_key;
  proxy_process proxy(dir, opts);

  auto where = proxy.where();
  where.ca_file = pki.ca_cert;
  const auto res = request(where, "GET", "/api/v3/repos/octo-org/repo-0/issues", {client_auth});
  ASSERT_EQ(res.result_int(), 200) << res.body();
  // Link rewritten to the proxy's https origin.
  EXPECT_NE(res[http::field::link].find("<https://127.0.0.1:" + std::to_string(proxy.port()) + "/api/v3/"),
            std::string::npos)
      << res[http::field::link];
}

TEST(Tls, UpstreamWithAnUntrustedCertificateIs502) {
  temp_dir dir;
  const auto pki = generate_test_pki(dir.path());
  fake_github::options fake_opts;
  fake_opts.tls = true;
  fake_opts.cert_file = pki.server_cert;
  fake_opts.key_file = pki.server_key;
  fake_github fake(dir, fake_opts);

  proxy_process::options opts;
  opts.upstream_url = fake.url();  // no ca_file: the system store does not trust the test CA
  proxy_process proxy(dir, opts);
  EXPECT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-1", {client_auth}).result_int(), 502);
}

TEST(Listeners, UnixSocketServesTheSamePipeline) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  opts.unix_socket = dir.file("proxy.sock");
  proxy_process proxy(dir, opts);
  target where;
  where.unix_socket = dir.file("proxy.sock");
  const auto res = request(where, "GET", "/repos/octo-org/repo-1", {client_auth});
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_NE(res.body().find("\"repo-1\""), std::string::npos);
}

TEST(Admin, HealthReadinessAndMetrics) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  proxy_process proxy(dir, opts);

  EXPECT_EQ(request(proxy.admin(), "GET", "/healthz").result_int(), 200);
  EXPECT_EQ(request(proxy.admin(), "GET", "/readyz").result_int(), 200);
  for (int i = 0; i < 3; ++i) request(proxy.where(), "GET", "/repos/octo-org/repo-1", {client_auth});
  request(proxy.where(), "GET", "/repos/octo-org/repo-1", {{"Authorization", "token wrong"}});

  // A request is counted just after its response is written: wait for the last one.
  // The first read is a miss, the next two are free revalidations (hits).
  const std::map<std::string, std::string> ok_labels{
      {"client", "ci"}, {"method", "GET"}, {"code", "200"}, {"cache", "hit"}};
  const std::map<std::string, std::string> rejected_labels{{"client", "unauthenticated"}, {"code", "401"}};
  for (int i = 0; i < 500; ++i) {
    // Each family on its own: a scrape can hold a request in one and not yet in the next.
    if (proxy.metric("github_proxy_requests_total", ok_labels) >= 2 &&
        proxy.metric("github_proxy_requests_total", rejected_labels) >= 1 &&
        proxy.metric("github_proxy_request_duration_seconds_count", {{"cache", "miss"}}) >= 1 &&
        proxy.metric("github_proxy_request_duration_seconds_count", {{"cache", "hit"}}) >= 2) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling the counters
  }
  EXPECT_EQ(proxy.metric("github_proxy_requests_total", ok_labels), 2);
  EXPECT_EQ(proxy.metric("github_proxy_requests_total",
                         {{"client", "ci"}, {"method", "GET"}, {"code", "200"}, {"cache", "miss"}}),
            1);
  EXPECT_EQ(proxy.metric("github_proxy_requests_total", {{"client", "unauthenticated"}, {"code", "401"}}), 1);
  EXPECT_EQ(proxy.metric("github_proxy_rejected_requests_total",
                         {{"client", "unauthenticated"}, {"reason", "unauthenticated"}}),
            1);
  EXPECT_EQ(proxy.metric("github_proxy_request_duration_seconds_count", {{"cache", "miss"}}), 1);
  EXPECT_EQ(proxy.metric("github_proxy_request_duration_seconds_count", {{"cache", "hit"}}), 2);
  EXPECT_EQ(proxy.metric("github_proxy_upstream_requests_total",
                         {{"credential", "upstream-1"}, {"resource", "core"}, {"code", "200"}}),
            1);
  EXPECT_EQ(proxy.metric("github_proxy_upstream_requests_total",
                         {{"credential", "upstream-1"}, {"resource", "core"}, {"code", "304"}}),
            2);
  EXPECT_EQ(proxy.metric("github_proxy_rate_limit_credits_saved_total", {{"client", "ci"}}), 2);
  EXPECT_EQ(proxy.metric("github_proxy_build_info", {{"version", GITHUB_PROXY_VERSION}}), 1);
  EXPECT_EQ(request(proxy.admin(), "GET", "/nope").result_int(), 404);
}

TEST(Shutdown, SigtermFinishesRequestsInFlightThenExitsZero) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  proxy_process proxy(dir, opts);
  // The request in flight waits at the fake's gate until the proxy is draining.
  fake.control("POST", "/_fake/faults", R"({"path_prefix":"/repos/octo-org/repo-1","count":1,"gate":"in-flight"})");

  // An idle keep-alive connection: closed by the drain.
  http_connection idle(proxy.where());
  http_request warm{http::verb::get, "/repos/octo-org/repo-2", 11};
  warm.set(http::field::authorization, client_auth.second);
  ASSERT_EQ(idle.send(warm).result_int(), 200);

  http_response slow;
  std::thread in_flight([&] { slow = request(proxy.where(), "GET", "/repos/octo-org/repo-1", {client_auth}); });
  // Once the fake holds the request, ask the proxy to stop; once the drain
  // has closed the idle connection, let GitHub answer.
  const bool held = poll_until([&] { return fake.held_at("in-flight") == 1; }, std::chrono::seconds(10));
  if (held) proxy.process().signal(SIGTERM);
  const bool idle_closed = held && idle.closed_by_peer();
  EXPECT_EQ(fake.release("in-flight"), held ? 1 : 0);
  in_flight.join();
  ASSERT_TRUE(held) << "the request never reached the fake";
  EXPECT_TRUE(idle_closed) << "the drain did not close the idle connection";
  EXPECT_EQ(slow.result_int(), 200) << "the request in flight completes";
  EXPECT_EQ(proxy.process().wait(std::chrono::seconds(10)), 0);
}

TEST(CommandLine, CheckConfigReportsErrorsWithLineNumbers) {
  temp_dir dir;
  dir.write("bad.yaml", "listen:\n  port: lots\n  colour: blue\n");
  child_process check({proxy_binary(), "check-config", dir.file("bad.yaml")}, dir.file("check.log"));
  EXPECT_EQ(check.wait(std::chrono::seconds(10)), 1);
  const auto out = check.log();
  EXPECT_NE(out.find("bad.yaml:2:"), std::string::npos) << out;
  EXPECT_NE(out.find("bad.yaml:3:"), std::string::npos) << out;

  child_process version({proxy_binary(), "--version"}, dir.file("version.log"));
  EXPECT_EQ(version.wait(std::chrono::seconds(10)), 0);
  EXPECT_NE(version.log().find(GITHUB_PROXY_VERSION), std::string::npos);
}

// Fail closed: without its registry the proxy could authenticate no one, so
// `serve` refuses to start, names the file, and says where one comes from.
TEST(CommandLine, ServeWithoutARegistryRefusesToStart) {
  temp_dir dir;
  const auto missing = dir.file("registry.yaml");
  dir.write("proxy.yaml", "listen: { address: 127.0.0.1, port: 0 }\n"
                          "admin: { address: 127.0.0.1, port: 0 }\n"
                          "registry: { file: registry.yaml }\n"
                          "credentials: [{ name: bot, type: token, token_env: GHP_TEST_TOKEN }]\n");
  child_process serve({proxy_binary(), "serve", "--config", dir.file("proxy.yaml"), "--ready-file",
                       dir.file("ready")},
                      dir.file("serve.log"), {{"GHP_TEST_TOKEN", "upstream-token"}});
  EXPECT_EQ(serve.wait(std::chrono::seconds(10)), 1);
  const auto out = serve.log();
  EXPECT_NE(out.find("registry.file: cannot read " + missing + ": No such file or directory"), std::string::npos)
      << out;
  EXPECT_NE(out.find("refuses to start without its client registry"), std::string::npos) << out;
  EXPECT_NE(out.find("github-proxy new-token --client NAME"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("ready"))) << "it must not have listened";

  // A registry that is there but invalid: its errors, then the refusal.
  dir.write("registry.yaml", "version: 1\nclients:\n  - name: BAD NAME\n    token_sha256: nope\n");
  child_process invalid({proxy_binary(), "serve", "--config", dir.file("proxy.yaml"), "--ready-file",
                         dir.file("ready")},
                        dir.file("invalid.log"), {{"GHP_TEST_TOKEN", "upstream-token"}});
  EXPECT_EQ(invalid.wait(std::chrono::seconds(10)), 1);
  const auto invalid_out = invalid.log();
  EXPECT_NE(invalid_out.find(missing + ":3:"), std::string::npos) << invalid_out;
  EXPECT_NE(invalid_out.find("refusing to start without a valid client registry (registry.file " + missing),
            std::string::npos)
      << invalid_out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("ready")));
}

}  // namespace
}  // namespace ghp_test
