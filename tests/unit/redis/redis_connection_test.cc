// The Redis connection against a real redis-server on a free loopback port:
// handshake, pipelining, timeouts, outages and reconnection.
#include "redis/connection.h"

#include <algorithm>
#include <csignal>
#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>
#include <thread>
#include <atomic>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "github_proxy/cache/cache_store.h"
#include "unit/redis/redis_test_support.h"
#include "support/redis_server.h"
#include "support/test_pki.h"

namespace github_proxy::redis {
namespace {

using namespace std::chrono_literals;
using cache::store_error;
using ghp_test::run_command;
using ghp_test::run_until;

// Two test PKIs for the whole suite: the server's, and a stranger's.
struct suite_pki {
  suite_pki()
      : dir(std::filesystem::temp_directory_path() / ("ghp-redis-pki-" + std::to_string(::getpid()))),
        ours(ghp_test::generate_test_pki((dir / "ours").string())),
        stranger(ghp_test::generate_test_pki((dir / "stranger").string())) {}
  ~suite_pki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  std::filesystem::path dir;
  ghp_test::test_pki ours;
  ghp_test::test_pki stranger;
};

const suite_pki& pki() {
  static suite_pki files;
  return files;
}

ghp_test::redis_server::options tls_only(bool require_client_certificate = false) {
  const auto& p = pki().ours;
  ghp_test::redis_server::options options;
  options.tls = ghp_test::redis_tls_files{p.ca_cert, p.server_cert, p.server_key, p.client_cert, p.client_key,
                                          require_client_certificate};
  return options;
}

class RedisConnection : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ghp_test::redis_server::available()) << ghp_test::redis_server::not_installed;
  }

  // After the connections are gone their background coroutines must end by
  // themselves: the io_context runs out of work.
  void TearDown() override {
    io.restart();
    io.run_for(5s);
    EXPECT_TRUE(io.stopped()) << "a connection's background work did not end";
  }

  static connection_options options_for(const std::string& url) {
    auto parsed = parse_redis_url(url);
    EXPECT_TRUE(parsed.ok()) << parsed.error;
    connection_options options;
    options.target = parsed.value;
    options.command_timeout = 2s;  // generous on a busy machine; the timeout test shortens it
    options.reconnect.initial_delay = 20ms;
    options.reconnect.max_delay = 200ms;
    options.reconnect.connect_timeout = 2s;
    return options;
  }

  // For a rediss:// URL: trusts `ca_file`, presents `client` when true.
  static connection_options tls_options_for(const std::string& url, const std::string& ca_file,
                                            bool client = false, const std::string& server_name = {}) {
    auto options = options_for(url);
    config::redis_tls_config tls;
    tls.ca_file = ca_file;
    tls.server_name = server_name;
    if (client) {
      tls.cert_file = pki().ours.client_cert;
      tls.key_file = pki().ours.client_key;
    }
    options.tls = make_tls_settings(tls);
    return options;
  }

  bool wait_ready(connection& conn) { return run_until(io, [&] { return conn.ready(); }); }

  // Retries GET until it succeeds (the connection is back) or 10 s pass.
  bool wait_serving(connection& conn) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!run_command(io, conn, "PING").error) return true;
      run_until(io, [] { return false; }, 20ms);  // let the reconnect loop run between attempts
    }
    return false;
  }

  boost::asio::io_context io;
};

TEST_F(RedisConnection, ConnectsAndAnswers) {
  ghp_test::redis_server server;
  connection conn(io.get_executor(), options_for(server.url()));
  ASSERT_TRUE(wait_ready(conn));

  auto pong = run_command(io, conn, "PING");
  ASSERT_FALSE(pong.error) << pong.error.message();
  EXPECT_TRUE(pong.value.is_status("PONG"));

  ASSERT_TRUE(run_command(io, conn, "SET", "k", "v").value.is_status("OK"));
  auto got = run_command(io, conn, "GET", "k");
  EXPECT_EQ(got.value.type, reply::kind::string);
  EXPECT_EQ(got.value.text, "v");
  auto missing = run_command(io, conn, "GET", "nope");
  EXPECT_EQ(missing.value.type, reply::kind::nil);
  auto wrong = run_command(io, conn, "NOSUCHCOMMAND");
  ASSERT_FALSE(wrong.error);
  EXPECT_TRUE(wrong.value.is_error());
  EXPECT_EQ(conn.in_flight(), 0u);
}

TEST_F(RedisConnection, FirstCommandsWaitForTheFirstConnection) {
  ghp_test::redis_server server;
  connection conn(io.get_executor(), options_for(server.url()));
  // Issued before the connection is up: waits for it instead of failing.
  auto pong = run_command(io, conn, "PING");
  ASSERT_FALSE(pong.error) << pong.error.message();
  EXPECT_TRUE(pong.value.is_status("PONG"));
}

TEST_F(RedisConnection, PipelinesManyCommandsInFlight) {
  ghp_test::redis_server server;
  connection conn(io.get_executor(), options_for(server.url()));
  ASSERT_TRUE(wait_ready(conn));

  constexpr int count = 200;
  std::vector<std::string> got(count);
  int finished = 0;
  std::size_t peak_in_flight = 0;
  for (int i = 0; i < count; ++i) {
    auto op = [](connection& c, int n, std::string& out) -> boost::asio::awaitable<void> {
      const std::string key = "k" + std::to_string(n), value = "v" + std::to_string(n);
      const std::array<std::string_view, 3> set{"SET", key, value};
      co_await c.command(set);
      const std::array<std::string_view, 2> get{"GET", key};
      out = (co_await c.command(get)).value.text;
    };
    boost::asio::co_spawn(io, op(conn, i, got[i]), [&](std::exception_ptr) { ++finished; });
  }
  ASSERT_TRUE(run_until(io, [&] {
    peak_in_flight = std::max(peak_in_flight, conn.in_flight());  // sampled between handlers
    return finished == count;
  }));
  for (int i = 0; i < count; ++i) EXPECT_EQ(got[i], "v" + std::to_string(i));
  EXPECT_GT(peak_in_flight, 1u) << "commands were not pipelined";
  EXPECT_EQ(conn.in_flight(), 0u);
}

TEST_F(RedisConnection, SlowRedisTimesOutAndTheLateReplyIsIgnored) {
  ghp_test::redis_server server;
  auto options = options_for(server.url());
  options.command_timeout = 100ms;
  connection conn(io.get_executor(), options);
  ASSERT_TRUE(wait_ready(conn));
  server.command({"SET", "first", "1"});
  server.command({"SET", "second", "2"});

  server.command({"CLIENT", "PAUSE", "600"});
  const auto start = std::chrono::steady_clock::now();
  auto slow = run_command(io, conn, "GET", "first");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(slow.error, store_error::timeout) << slow.error.message();
  EXPECT_LT(elapsed, 450ms);
  EXPECT_GE(conn.in_flight(), 1u);  // the abandoned GET still waits for its reply

  // Once Redis answers again, each command gets its own reply: the late
  // reply to GET first goes nowhere.
  command_result next;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    next = run_command(io, conn, "GET", "second");
  } while (next.error == store_error::timeout && std::chrono::steady_clock::now() < deadline);
  ASSERT_FALSE(next.error) << next.error.message();
  EXPECT_EQ(next.value.text, "2");
  EXPECT_TRUE(run_until(io, [&] { return conn.in_flight() == 0; }));
  EXPECT_TRUE(conn.ready());
}

TEST_F(RedisConnection, KilledRedisFailsCommandsFastThenTheSameConnectionRecovers) {
  ghp_test::redis_server server;
  connection conn(io.get_executor(), options_for(server.url()));
  ASSERT_TRUE(wait_ready(conn));

  server.kill();
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto result = run_command(io, conn, "GET", "k");
    EXPECT_EQ(result.error, store_error::unavailable) << i << ": " << result.error.message();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms) << i;  // not the 2 s timeout
  }
  EXPECT_FALSE(conn.ready());

  server.start();  // same port
  ASSERT_TRUE(wait_serving(conn));
  EXPECT_TRUE(run_command(io, conn, "SET", "k", "back").value.is_status("OK"));
  EXPECT_EQ(run_command(io, conn, "GET", "k").value.text, "back");
}

TEST_F(RedisConnection, GracefulRestartIsSurvivedToo) {
  ghp_test::redis_server server;
  connection conn(io.get_executor(), options_for(server.url()));
  ASSERT_TRUE(wait_ready(conn));
  server.stop();  // SIGTERM
  EXPECT_EQ(run_command(io, conn, "PING").error, store_error::unavailable);
  server.start();
  EXPECT_TRUE(wait_serving(conn));
}

// A frozen server (SIGSTOP: its kernel still acknowledges what is sent, so
// TCP sees nothing wrong) stops answering: after three command timeouts
// (at least 1 s) without any reply the link is dropped, commands fail fast
// instead of each waiting out its timeout, and the connection comes back
// once the server does.
TEST_F(RedisConnection, FrozenRedisIsDroppedWithinSeconds) {
  ghp_test::redis_server server;
  auto options = options_for(server.url());
  options.command_timeout = 200ms;
  connection conn(io.get_executor(), options);
  ASSERT_TRUE(wait_ready(conn));
  ASSERT_EQ(::kill(server.pid(), SIGSTOP), 0);
  const auto frozen_at = std::chrono::steady_clock::now();
  bool dropped = false;
  while (!dropped && std::chrono::steady_clock::now() - frozen_at < 10s) {
    dropped = run_command(io, conn, "PING").error == store_error::unavailable;
  }
  const auto noticed_after = std::chrono::steady_clock::now() - frozen_at;
  ::kill(server.pid(), SIGCONT);
  EXPECT_TRUE(dropped) << "commands kept timing out one by one";
  EXPECT_GE(noticed_after, 1s) << "one slow answer is not a dead server";
  EXPECT_LT(noticed_after, 5s);
  EXPECT_TRUE(wait_serving(conn)) << "the connection did not come back after the server did";
}

TEST_F(RedisConnection, UnreachableRedisFailsFast) {
  ghp_test::redis_server server;
  const std::string url = server.url();
  server.kill();  // nothing listens on the port any more
  connection conn(io.get_executor(), options_for(url));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(run_command(io, conn, "PING").error, store_error::unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_FALSE(conn.ready());
}

TEST_F(RedisConnection, AuthenticatesWithAPassword) {
  ghp_test::redis_server server({.extra_args = {"--requirepass", "s3cret"}, .password = "s3cret"});
  connection conn(io.get_executor(), options_for(server.url_with(":s3cret")));
  ASSERT_TRUE(wait_ready(conn));
  EXPECT_TRUE(run_command(io, conn, "SET", "k", "v").value.is_status("OK"));
  EXPECT_EQ(server.command({"GET", "k"}), "v");
}

TEST_F(RedisConnection, AuthenticatesAsAnAclUser) {
  ghp_test::redis_server server({.extra_args = {"--user", "alice", "on", ">wonderland", "~*", "+@all"},
                                 .password = "wonderland",
                                 .user = "alice"});
  connection conn(io.get_executor(), options_for(server.url_with("alice:wonderland")));
  ASSERT_TRUE(wait_ready(conn));
  EXPECT_EQ(run_command(io, conn, "ACL", "WHOAMI").value.text, "alice");
}

TEST_F(RedisConnection, WrongPasswordNeverBecomesReady) {
  ghp_test::redis_server server({.extra_args = {"--requirepass", "s3cret"}, .password = "s3cret"});
  connection conn(io.get_executor(), options_for(server.url_with(":wrong")));
  EXPECT_EQ(run_command(io, conn, "PING").error, store_error::unavailable);
  EXPECT_FALSE(run_until(io, [&] { return conn.ready(); }, 300ms));
  EXPECT_EQ(run_command(io, conn, "PING").error, store_error::unavailable);
}

TEST_F(RedisConnection, SelectsTheConfiguredDatabase) {
  ghp_test::redis_server server;
  connection conn(io.get_executor(), options_for(server.url(5)));
  ASSERT_TRUE(wait_ready(conn));
  ASSERT_TRUE(run_command(io, conn, "SET", "k", "in five").value.is_status("OK"));
  EXPECT_EQ(server.command({"GET", "k"}, 5), "in five");
  EXPECT_EQ(server.command({"GET", "k"}, 0), "(nil)");
}

TEST_F(RedisConnection, ResolvesHostNames) {
  ghp_test::redis_server server;
  connection conn(io.get_executor(), options_for("redis://localhost:" + std::to_string(server.port())));
  ASSERT_TRUE(wait_ready(conn));
  EXPECT_TRUE(run_command(io, conn, "PING").value.is_status("PONG"));
}

TEST_F(RedisConnection, BoundsTheCommandsInFlight) {
  ghp_test::redis_server server;
  auto options = options_for(server.url());
  options.max_in_flight = 4;
  options.command_timeout = 200ms;
  connection conn(io.get_executor(), options);
  ASSERT_TRUE(wait_ready(conn));

  // Redis answers nothing for 10 s: a destructor that waited for the answers
  // would take that long, one that does not takes microseconds. The bounds
  // below sit halfway, so a loaded machine cannot make them fail.
  server.command({"CLIENT", "PAUSE", "10000"});
  std::vector<boost::system::error_code> errors;
  for (int i = 0; i < 6; ++i) {
    auto op = [](connection& c) -> boost::asio::awaitable<boost::system::error_code> {
      const std::array<std::string_view, 1> ping{"PING"};
      co_return (co_await c.command(ping)).error;
    };
    boost::asio::co_spawn(io, op(conn),
                          [&](std::exception_ptr, boost::system::error_code ec) { errors.push_back(ec); });
  }
  ASSERT_TRUE(run_until(io, [&] { return errors.size() == 6; }));
  EXPECT_EQ(std::count(errors.begin(), errors.end(), store_error::unavailable), 2);
  EXPECT_EQ(std::count(errors.begin(), errors.end(), store_error::timeout), 4);
}

TEST_F(RedisConnection, DestroyingItFailsWaitingCommandsWithoutBlocking) {
  ghp_test::redis_server server;
  auto conn = std::make_unique<connection>(io.get_executor(), options_for(server.url()));
  ASSERT_TRUE(wait_ready(*conn));

  server.command({"CLIENT", "PAUSE", "1000"});
  std::vector<boost::system::error_code> errors;
  for (int i = 0; i < 3; ++i) {
    auto op = [](connection& c) -> boost::asio::awaitable<boost::system::error_code> {
      const std::array<std::string_view, 1> ping{"PING"};
      co_return (co_await c.command(ping)).error;
    };
    boost::asio::co_spawn(io, op(*conn),
                          [&](std::exception_ptr, boost::system::error_code ec) { errors.push_back(ec); });
  }
  ASSERT_TRUE(run_until(io, [&] { return conn->in_flight() == 3; }));

  const auto start = std::chrono::steady_clock::now();
  conn.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "the destructor waited for Redis";
  // Failed while Redis still said nothing (an answer would be a PONG).
  ASSERT_TRUE(run_until(io, [&] { return errors.size() == 3; }, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  for (const auto& ec : errors) EXPECT_EQ(ec, store_error::unavailable);
}

// One TLS context serves every I/O thread (redis/tls.h). OpenSSL caches a
// CA certificate's extensions the first time a handshake checks an issuer,
// and two threads doing that at once raced on the cache (a TSan report in
// CI, openssl/openssl#25202): the context is now warmed before it is shared.
// Each round a fresh context meets four threads handshaking at once. The
// race shows only under TSan (this file is in the TSan unit list, Makefile
// TSAN_UNIT_SOURCES); elsewhere it checks that the shared context serves.
TEST_F(RedisConnection, OneTlsContextServesHandshakesOnManyThreadsAtOnce) {
  ghp_test::redis_server server(tls_only());
  constexpr int rounds = 8;
  constexpr int threads = 4;
  for (int round = 0; round < rounds; ++round) {
    const auto shared = tls_options_for(server.url(), pki().ours.ca_cert);
    std::atomic<int> waiting{threads};
    std::atomic<int> ready{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        boost::asio::io_context own;
        connection conn(own.get_executor(), shared);
        // Start together: the handshakes overlap.
        --waiting;
        while (waiting.load() > 0) std::this_thread::yield();
        if (run_until(own, [&] { return conn.ready(); })) ++ready;
      });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(ready.load(), threads) << "round " << round;
  }
}

// TLS only, as managed Redis services run it: the CA is checked, the
// commands and replies travel over TLS.
TEST_F(RedisConnection, SpeaksTlsToATlsOnlyServer) {
  ghp_test::redis_server server(tls_only());
  ASSERT_EQ(server.url().rfind("rediss://", 0), 0u);
  connection conn(io.get_executor(), tls_options_for(server.url(), pki().ours.ca_cert));
  ASSERT_TRUE(wait_ready(conn));
  EXPECT_TRUE(run_command(io, conn, "SET", "k", std::string(100000, 'x')).value.is_status("OK"));
  EXPECT_EQ(run_command(io, conn, "STRLEN", "k").value.integer, 100000);
  EXPECT_EQ(server.command({"STRLEN", "k"}), "100000");
}

TEST_F(RedisConnection, ChecksTheServerNameTheCertificateCarries) {
  ghp_test::redis_server server(tls_only());
  const std::string by_name = "rediss://localhost:" + std::to_string(server.port());
  connection named(io.get_executor(), tls_options_for(by_name, pki().ours.ca_cert));
  ASSERT_TRUE(wait_ready(named)) << "the certificate names localhost";

  // The certificate does not name redis.internal: refused.
  connection misnamed(io.get_executor(), tls_options_for(server.url(), pki().ours.ca_cert, false, "redis.internal"));
  EXPECT_EQ(run_command(io, misnamed, "PING").error, store_error::unavailable);
  EXPECT_FALSE(run_until(io, [&] { return misnamed.ready(); }, 300ms));
}

TEST_F(RedisConnection, RefusesAServerAnotherCaSigned) {
  ghp_test::redis_server server(tls_only());
  connection conn(io.get_executor(), tls_options_for(server.url(), pki().stranger.ca_cert));
  EXPECT_EQ(run_command(io, conn, "PING").error, store_error::unavailable);
  EXPECT_FALSE(run_until(io, [&] { return conn.ready(); }, 300ms));
}

TEST_F(RedisConnection, PlainTcpToATlsPortNeverBecomesReady) {
  ghp_test::redis_server server(tls_only());
  connection conn(io.get_executor(), options_for("redis://127.0.0.1:" + std::to_string(server.port())));
  EXPECT_EQ(run_command(io, conn, "PING").error, store_error::unavailable);
  EXPECT_FALSE(run_until(io, [&] { return conn.ready(); }, 300ms));
}

TEST_F(RedisConnection, PresentsItsClientCertificateWhenTheServerAsks) {
  ghp_test::redis_server server(tls_only(/*require_client_certificate=*/true));
  connection with_certificate(io.get_executor(), tls_options_for(server.url(), pki().ours.ca_cert, true));
  ASSERT_TRUE(wait_ready(with_certificate));
  EXPECT_TRUE(run_command(io, with_certificate, "PING").value.is_status("PONG"));

  connection without(io.get_executor(), tls_options_for(server.url(), pki().ours.ca_cert, false));
  EXPECT_EQ(run_command(io, without, "PING").error, store_error::unavailable);
  EXPECT_FALSE(run_until(io, [&] { return without.ready(); }, 300ms));
}

TEST_F(RedisConnection, TlsWithAnAclUser) {
  auto options = tls_only();
  options.extra_args = {"--user", "alice", "on", ">wonderland", "~*", "+@all"};
  options.user = "alice";
  options.password = "wonderland";
  ghp_test::redis_server server(options);
  connection conn(io.get_executor(), tls_options_for(server.url_with("alice:wonderland"), pki().ours.ca_cert));
  ASSERT_TRUE(wait_ready(conn));
  EXPECT_EQ(run_command(io, conn, "ACL", "WHOAMI").value.text, "alice");
}

// The proxy writes: a replica given as the server is refused at the
// handshake (ROLE), and commands fail fast instead of with READONLY.
TEST_F(RedisConnection, RefusesAReplica) {
  ghp_test::redis_server master;
  ghp_test::redis_server replica({.extra_args = {"--replicaof", "127.0.0.1", std::to_string(master.port())}});
  connection conn(io.get_executor(), options_for(replica.url()));
  EXPECT_EQ(run_command(io, conn, "PING").error, store_error::unavailable);
  EXPECT_FALSE(run_until(io, [&] { return conn.ready(); }, 300ms));
}

// An ACL user that may not run ROLE is not refused for it.
TEST_F(RedisConnection, AUserWithoutRoleStillConnects) {
  ghp_test::redis_server server({.extra_args = {"--user", "cache", "on", ">pw", "~*", "+@all", "-role"},
                                 .password = "pw",
                                 .user = "cache"});
  connection conn(io.get_executor(), options_for(server.url_with("cache:pw")));
  ASSERT_TRUE(wait_ready(conn));
  EXPECT_TRUE(run_command(io, conn, "SET", "k", "v").value.is_status("OK"));
}

}  // namespace
}  // namespace github_proxy::redis
