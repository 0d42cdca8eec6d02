// `github-proxy healthcheck`, the container image's HEALTHCHECK: the real
// binary against the real daemon, and against listeners the test holds
// (one answering 503, one never answering, a port bound without listening).
#include <atomic>
#include <cstdlib>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "support/harness.h"

namespace ghp_test {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

struct run_result {
  std::optional<int> code;
  std::string output;  // stdout and stderr
};

// Runs `github-proxy healthcheck ARGS…` with ENV added to this process's
// environment, which holds none of the daemon's secrets.
run_result healthcheck(const temp_dir& dir, const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env = {}) {
  static int counter = 0;
  std::vector<std::string> argv{proxy_binary(), "healthcheck"};
  argv.insert(argv.end(), args.begin(), args.end());
  child_process check(argv, dir.file("healthcheck-" + std::to_string(++counter) + ".log"), env);
  const auto code = check.wait(std::chrono::seconds(20));
  return {code, check.log()};
}

// A config naming the admin listener at 127.0.0.1:PORT, with a secret
// variable, a token file and a registry that do not exist here.
std::string config_for(const temp_dir& dir, unsigned short port) {
  const std::string name = "healthcheck-" + std::to_string(port) + ".yaml";
  dir.write(name, "admin:\n  address: 127.0.0.1\n  port: " + std::to_string(port) +
                      "\nregistry:\n  file: /nonexistent/registry.yaml\n"
                      "credentials:\n"
                      "  - {name: env-pat, type: token, token_env: GHP_TEST_UNSET_SECRET}\n"
                      "  - {name: file-pat, type: token, token_file: /nonexistent/secrets/pat}\n");
  return dir.file(name);
}

// Answers every connection with one canned HTTP response, on its own thread.
class canned_listener {
 public:
  explicit canned_listener(std::string response)
      : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}), response_(std::move(response)) {
    thread_ = std::thread([this] {
      for (;;) {
        boost::system::error_code ec;
        tcp::socket socket(io_);
        acceptor_.accept(socket, ec);
        if (ec || stopping_) return;
        asio::streambuf head;
        asio::read_until(socket, head, "\r\n\r\n", ec);
        asio::write(socket, asio::buffer(response_), ec);
      }
    });
  }
  ~canned_listener() {
    // A blocking accept is not woken by closing the acceptor: connect once
    // more, and the thread sees it is to stop.
    stopping_ = true;
    boost::system::error_code ignored;
    tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ignored);
    thread_.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::string response_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

TEST(Healthcheck, ZeroWhileTheDaemonServesWithoutItsSecrets) {
  ::unsetenv("GHP_TEST_UPSTREAM_TOKEN");  // the daemon's secret: only its own environment has it
  temp_dir dir;
  proxy_process::options opts;
  opts.upstream_url = "http://127.0.0.1:9";  // never contacted
  // The container config's wildcard admin address.
  opts.env = {{"GITHUB_PROXY_ADMIN_ADDRESS", "0.0.0.0"}};
  proxy_process proxy(dir, opts);
  // The daemon's own config file; its admin port (0 in the file) is the one
  // it bound, from the ready file.
  const std::map<std::string, std::string> env{{"GITHUB_PROXY_ADMIN_ADDRESS", "0.0.0.0"},
                                               {"GITHUB_PROXY_ADMIN_PORT", std::to_string(proxy.admin_port())}};
  const std::string probed = "http://127.0.0.1:" + std::to_string(proxy.admin_port());

  auto live = healthcheck(dir, {"--config", proxy.config_path()}, env);
  EXPECT_EQ(live.code, 0) << live.output;
  EXPECT_NE(live.output.find(probed + "/healthz: 200 OK"), std::string::npos)
      << "0.0.0.0 is probed as 127.0.0.1:\n" << live.output;

  auto ready = healthcheck(dir, {"--ready", "--config", proxy.config_path()}, env);
  EXPECT_EQ(ready.code, 0) << ready.output;
  EXPECT_NE(ready.output.find(probed + "/readyz: 200 OK"), std::string::npos) << ready.output;

  // A config whose secrets and registry are missing here probes all the same.
  auto bare = healthcheck(dir, {"--config", config_for(dir, proxy.admin_port())});
  EXPECT_EQ(bare.code, 0) << bare.output;
}

TEST(Healthcheck, OneWhenTheAdminListenerAnswers503) {
  temp_dir dir;
  canned_listener unready(
      "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot ready\n");
  const auto result = healthcheck(dir, {"--config", config_for(dir, unready.port()), "--ready"});
  EXPECT_EQ(result.code, 1) << result.output;
  EXPECT_NE(result.output.find("healthcheck: http://127.0.0.1:" + std::to_string(unready.port()) +
                               "/readyz: 503 Service Unavailable (not ready)"),
            std::string::npos)
      << result.output;
}

TEST(Healthcheck, OneWhenNothingListens) {
  temp_dir dir;
  // Bound, so no one else takes the port, but not listening: a connection
  // is refused.
  asio::io_context io;
  tcp::socket bound(io);
  bound.open(tcp::v4());
  bound.bind({asio::ip::make_address("127.0.0.1"), 0});
  const auto port = bound.local_endpoint().port();

  const auto result = healthcheck(dir, {"--config", config_for(dir, port)});
  EXPECT_EQ(result.code, 1) << result.output;
  EXPECT_NE(result.output.find("/healthz: cannot connect: Connection refused"), std::string::npos)
      << result.output;
}

TEST(Healthcheck, OneWithinTheDeadlineWhenTheListenerNeverAnswers) {
  temp_dir dir;
  // Listening but never accepting: the kernel completes the handshake and
  // the request is written, then nothing comes back.
  asio::io_context io;
  tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto started = std::chrono::steady_clock::now();
  const auto result = healthcheck(dir, {"--config", config_for(dir, silent.local_endpoint().port())});
  EXPECT_EQ(result.code, 1) << result.output;
  EXPECT_NE(result.output.find("/healthz: no answer within 2s"), std::string::npos) << result.output;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST(Healthcheck, RefusesWhatItCannotProbe) {
  temp_dir dir;
  dir.write("port-zero.yaml", "admin:\n  port: 0\n");
  auto result = healthcheck(dir, {"--config", dir.file("port-zero.yaml")});
  EXPECT_EQ(result.code, 1) << result.output;
  EXPECT_NE(result.output.find("admin.port is 0"), std::string::npos) << result.output;

  result = healthcheck(dir, {"--config", dir.file("missing.yaml")});
  EXPECT_EQ(result.code, 1) << result.output;
  EXPECT_NE(result.output.find("cannot read the config file"), std::string::npos) << result.output;

  result = healthcheck(dir, {});
  EXPECT_EQ(result.code, 2) << result.output;
  EXPECT_NE(result.output.find("healthcheck needs --config FILE"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace ghp_test
