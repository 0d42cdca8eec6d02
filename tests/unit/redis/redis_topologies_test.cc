// The Redis backend as organisations run it: TLS only, Sentinel, Cluster.
//
//   - the cache-store conformance suite against each (the plain server's run
//     is in redis_store_conformance_test.cc);
//   - Cluster: a slot migrated while commands are in flight (ASK during the
//     migration, MOVED after it), a master killed (commands fail fast, then
//     the promoted replica serves);
//   - Sentinel: a failover followed, and logged once.
//
// The fixtures take seconds to form, so this file is one ctest test
// (tests/CMakeLists.txt, "topology suites"), and each fixture is made once
// for the process.
#include <algorithm>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <array>
#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include "conformance/cache_store_conformance.h"
#include "github_proxy/cache/cache_store.h"
#include "github_proxy/redis/redis_backend.h"
#include "redis/client.h"
#include "redis/cluster.h"
#include "support/redis_topologies.h"
#include "support/test_pki.h"
#include "unit/redis/redis_test_support.h"
#include "unit/redis/threaded_backend.h"

namespace github_proxy::redis {
namespace {

using namespace std::chrono_literals;
using cache::store_error;

struct suite_pki {
  suite_pki()
      : dir(std::filesystem::temp_directory_path() / ("ghp-topology-pki-" + std::to_string(::getpid()))),
        files(ghp_test::generate_test_pki(dir.string())) {}
  ~suite_pki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  std::filesystem::path dir;
  ghp_test::test_pki files;
};

// One of each, for the whole process (stopped at exit).
const suite_pki& pki() {
  static suite_pki p;
  return p;
}
ghp_test::redis_server& tls_server() {
  static ghp_test::redis_server server([] {
    const auto& p = pki().files;
    ghp_test::redis_server::options options;
    options.tls = ghp_test::redis_tls_files{p.ca_cert, p.server_cert, p.server_key, p.client_cert, p.client_key};
    return options;
  }());
  return server;
}
ghp_test::redis_sentinel_group& sentinel_group() {
  static ghp_test::redis_sentinel_group group;
  return group;
}
ghp_test::redis_cluster& cluster() {
  static ghp_test::redis_cluster c;
  return c;
}

config::redis_cache_config config_for(const std::string& url, const std::string& prefix) {
  config::redis_cache_config config;
  config.url = url;
  config.key_prefix = prefix;
  config.timeout = 2s;  // a busy CI machine is not a slow Redis
  if (url.starts_with("rediss")) config.tls.ca_file = pki().files.ca_cert;
  return config;
}

// ---- the conformance suite on each topology -------------------------------

std::vector<cache::conformance::backend_param> topology_params() {
  auto param = [](std::string name, std::function<std::string()> url) {
    cache::conformance::backend_param p;
    p.name = std::move(name);
    p.make_backend = [url = std::move(url)] {
      if (!ghp_test::redis_server::available()) throw std::runtime_error(ghp_test::redis_server::not_installed);
      return std::make_unique<cache::threaded_backend>(
          make_redis_backend(config_for(url(), "ghp-conformance:")));
    };
    p.advance_time = nullptr;  // Redis' clock cannot be driven (PTTL: redis_store_test.cc)
    return p;
  };
  return {param("tls", [] { return tls_server().url(); }),
          param("sentinel", [] { return sentinel_group().url(); }),
          param("cluster", [] { return cluster().url(); })};
}

}  // namespace
}  // namespace github_proxy::redis

namespace github_proxy::cache {
namespace {
using conformance::CacheStoreConformance;
INSTANTIATE_TEST_SUITE_P(RedisTopologies, CacheStoreConformance, testing::ValuesIn(redis::topology_params()),
                         conformance::param_name);
}  // namespace
}  // namespace github_proxy::cache

namespace github_proxy::redis {
namespace {

// ---- slots and redirects, without a server --------------------------------

TEST(RedisClusterSlots, KeySlotsMatchTheSpecification) {
  // CRC16/XMODEM("123456789") is 0x31C3 (the specification's check value).
  EXPECT_EQ(key_slot("123456789"), 0x31C3 % 16384);
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  // The hash tag: the first {…} that is not empty.
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("{user1000}.followers"), key_slot("user1000"));
  EXPECT_EQ(key_slot("foo{}{bar}"), key_slot(std::string_view("foo{}{bar}")));  // empty tag: the whole key
  EXPECT_NE(key_slot("foo{}{bar}"), key_slot("bar"));
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));
  // The budget ledger's two keys of a client share a slot.
  EXPECT_EQ(key_slot("ghp:budget:{ci}:3600:481"), key_slot("ghp:budget:{ci}:3600:480"));
}

TEST(RedisClusterSlots, RedirectsAreParsed) {
  const server_address answered{"10.0.0.9", 7000};
  auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381", answered);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->type, redirect::kind::moved);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->to, (server_address{"127.0.0.1", 6381}));

  auto ask = parse_redirect("ASK 12 [::1]:7002", answered);
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->type, redirect::kind::ask);
  EXPECT_EQ(ask->to, (server_address{"::1", 7002}));

  auto unknown_host = parse_redirect("MOVED 1 :7003", answered);
  ASSERT_TRUE(unknown_host);
  EXPECT_EQ(unknown_host->to, (server_address{"10.0.0.9", 7003}));

  for (const char* other : {"CLUSTERDOWN The cluster is down", "MOVED", "MOVED x 1.2.3.4:5", "MOVED 16384 a:1",
                            "ASK 1 host", "ASK 1 host:0", "ERR wrong"}) {
    EXPECT_FALSE(parse_redirect(other, answered)) << other;
  }
}

reply integer(long long v) { return reply{reply::kind::integer, {}, v, {}}; }
reply text(std::string s) { return reply{reply::kind::string, std::move(s), 0, {}}; }
reply list(std::vector<reply> elements) { return reply{reply::kind::array, {}, 0, std::move(elements)}; }

TEST(RedisClusterSlots, SlotMapFromClusterSlots) {
  const server_address asked{"10.0.0.1", 7000};
  const reply answer = list({
      list({integer(0), integer(5460), list({text("10.0.0.1"), integer(7000), text("id1")}),
            list({text("10.0.0.4"), integer(7003), text("id4")})}),
      list({integer(5461), integer(10922), list({text(""), integer(7001), text("id2")})}),
      list({integer(10923), integer(16383), list({text("10.0.0.3"), integer(7002), text("id3")})}),
  });
  std::string error;
  auto map = slot_map::from_cluster_slots(answer, asked, error);
  ASSERT_TRUE(map) << error;
  EXPECT_EQ(map->covered_slots(), 16384u);
  EXPECT_EQ(map->masters().size(), 3u);
  EXPECT_EQ(*map->master_of(0), (server_address{"10.0.0.1", 7000}));
  EXPECT_EQ(*map->master_of(5461), (server_address{"10.0.0.1", 7001})) << "an empty host is the node asked";
  EXPECT_EQ(*map->master_of(16383), (server_address{"10.0.0.3", 7002}));

  const reply partial = list({list({integer(0), integer(99), list({text("a"), integer(1)})})});
  map = slot_map::from_cluster_slots(partial, asked, error);
  ASSERT_TRUE(map) << error;
  EXPECT_EQ(map->covered_slots(), 100u);
  EXPECT_EQ(map->master_of(100), nullptr);

  for (const reply& bad : {text("nope"), list({text("x")}), list({list({integer(5), integer(1), list({text("a"), integer(1)})})}),
                           list({list({integer(0), integer(16384), list({text("a"), integer(1)})})}),
                           list({list({integer(0), integer(1), list({text("a"), integer(0)})})})}) {
    EXPECT_FALSE(slot_map::from_cluster_slots(bad, asked, error));
  }
}

// ---- live topologies --------------------------------------------------------

class RedisTopology : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(ghp_test::redis_server::available()) << ghp_test::redis_server::not_installed; }

  std::shared_ptr<client> client_for(const std::string& url, std::shared_ptr<spdlog::logger> logger = nullptr) {
    auto options = connection_options_from(config_for(url, ""));
    options.reconnect.initial_delay = 20ms;
    options.reconnect.max_delay = 200ms;
    options.logger = std::move(logger);
    return make_client(io.get_executor(), std::move(options));
  }

  command_result run(client& c, std::string key, std::vector<std::string> argv) {
    auto op = [](client& target, std::string k, std::vector<std::string> args) -> boost::asio::awaitable<command_result> {
      std::vector<std::string_view> views(args.begin(), args.end());
      co_return co_await target.command(k, views);
    };
    return ghp_test::run_to_completion(io, op(c, std::move(key), std::move(argv)), 15s);
  }

  // Until `op` succeeds or `limit` passes, with the client's background work running between tries.
  template <typename Op>
  bool until_ok(Op op, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (op()) return true;
      ghp_test::run_until(io, [] { return false; }, 50ms);
    }
    return false;
  }

  boost::asio::io_context io;
};

// Two keys in one slot, the first on its master; the slot moves to another
// master while commands are in flight. During the migration the source
// answers ASK for a key it no longer has (followed with ASKING); once the
// slot is reassigned it answers MOVED (followed, and the map refreshed).
TEST_F(RedisTopology, ClusterFollowsAskAndMovedWhileASlotMigrates) {
  auto& c = cluster();
  auto conn = client_for(c.url());
  const std::string resident = "mig:{slot-under-test}:resident";
  const std::string newcomer = "mig:{slot-under-test}:newcomer";
  const unsigned slot = key_slot(resident);
  ASSERT_TRUE(run(*conn, resident, {"SET", resident, "before"}).value.is_status("OK"));
  run(*conn, newcomer, {"DEL", newcomer});

  const std::size_t source = c.owner_of(slot);
  std::size_t target = 0;
  while (target == source || ghp_test::try_command(c.node(target), {"ROLE"}) != "(array of 3)") ++target;
  const std::string slot_text = std::to_string(slot);
  ASSERT_EQ(c.node(target).command({"CLUSTER", "SETSLOT", slot_text, "IMPORTING", c.id_of(source)}), "OK");
  ASSERT_EQ(c.node(source).command({"CLUSTER", "SETSLOT", slot_text, "MIGRATING", c.id_of(target)}), "OK");

  // Commands in flight while the slot is half-moved.
  std::atomic<int> finished = 0, failed = 0;
  for (int i = 0; i < 50; ++i) {
    auto op = [](std::shared_ptr<client> cl, std::string key) -> boost::asio::awaitable<bool> {
      const std::array<std::string_view, 2> argv{"GET", key};
      auto r = co_await cl->command(key, argv);
      co_return !r.error && !r.value.is_error();
    };
    boost::asio::co_spawn(io, op(conn, i % 2 ? resident : newcomer), [&](std::exception_ptr e, bool ok) {
      ++finished;
      if (e || !ok) ++failed;
    });
  }
  // ASK: the source no longer has `newcomer`, so the write goes to the target after ASKING.
  auto written = run(*conn, newcomer, {"SET", newcomer, "during"});
  EXPECT_TRUE(written.value.is_status("OK")) << written.value.text;
  ASSERT_TRUE(ghp_test::run_until(io, [&] { return finished == 50; }, 15s));
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(run(*conn, resident, {"GET", resident}).value.text, "before") << "still on the source";
  EXPECT_EQ(run(*conn, newcomer, {"GET", newcomer}).value.text, "during") << "read through ASK";

  // Finish the move: the resident key goes over, the slot is the target's.
  const auto target_port = std::to_string(c.node(target).port());
  ASSERT_EQ(c.node(source).command({"MIGRATE", "127.0.0.1", target_port, "", "0", "5000", "KEYS", resident}), "OK");
  for (std::size_t i = 0; i < c.size(); ++i) {
    ghp_test::try_command(c.node(i), {"CLUSTER", "SETSLOT", slot_text, "NODE", c.id_of(target)});
  }
  // MOVED from the source: followed at once, and the map is refreshed.
  EXPECT_EQ(run(*conn, resident, {"GET", resident}).value.text, "before");
  EXPECT_EQ(run(*conn, newcomer, {"GET", newcomer}).value.text, "during");
  EXPECT_EQ(c.owner_of(slot), target);
}

// A budget script touches two keys; both carry the client's hash tag, so a
// cluster runs it on one node.
TEST_F(RedisTopology, ClusterRunsTheBudgetScriptOnOneSlot) {
  auto conn = client_for(cluster().url());
  const std::string current = "ghp:budget:{team-a}:3600:10";
  const std::string previous = "ghp:budget:{team-a}:3600:9";
  auto r = run(*conn, current,
               {"EVAL", "redis.call('INCRBY', KEYS[1], 3) return redis.call('GET', KEYS[2]) or '0'", "2", current,
                previous});
  EXPECT_FALSE(r.error);
  EXPECT_FALSE(r.value.is_error()) << r.value.text;
  EXPECT_EQ(r.value.text, "0");
}

// Sentinel: the connection goes where the sentinels say, follows a
// failover, and the move is logged once however many connections see it.
TEST_F(RedisTopology, SentinelFailoverIsFollowedAndLoggedOnce) {
  auto& group = sentinel_group();
  std::ostringstream log_;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
  auto logger = std::make_shared<spdlog::logger>("redis-test", sink);
  auto first = client_for(group.url(), logger);
  auto second = client_for(group.url(), logger);
  ASSERT_TRUE(run(*first, "sentinel-key", {"SET", "sentinel-key", "v1"}).value.is_status("OK"));
  ASSERT_TRUE(run(*second, "sentinel-key", {"GET", "sentinel-key"}).value.text == "v1");
  const unsigned short before = group.master_port();
  EXPECT_EQ(group.master().command({"GET", "sentinel-key"}), "v1");

  // The replica must have the key before it is promoted, or the test reads a gap.
  ASSERT_TRUE(ghp_test::poll_until(
      [&] { return ghp_test::try_command(group.server(before == group.server(0).port() ? 1 : 0), {"GET", "sentinel-key"}) == "v1"; },
      10s));
  ASSERT_EQ(group.sentinel(0).command({"SENTINEL", "FAILOVER", ghp_test::redis_sentinel_group::master_name}), "OK");
  ASSERT_TRUE(ghp_test::poll_until([&] { return group.master_port() != before && group.master_port() != 0; }, 30s));

  // Both connections end up writing to the promoted master (told by
  // +switch-master, not only when Sentinel demotes the old one).
  for (auto* c : {first.get(), second.get()}) {
    const std::string key = c == first.get() ? "after-failover-1" : "after-failover-2";
    EXPECT_TRUE(until_ok(
        [&] {
          return run(*c, key, {"SET", key, "v2"}).value.is_status("OK") &&
                 ghp_test::try_command(group.master(), {"GET", key}) == "v2";
        },
        30s));
  }
  logger->flush();
  const std::string log = log_.str();
  std::size_t moves = 0;
  for (auto at = log.find("moved from"); at != std::string::npos; at = log.find("moved from", at + 1)) ++moves;
  EXPECT_EQ(moves, 1u) << log;
}

// A first sentinel that accepts and then says nothing (a frozen host) costs
// its own turn only: the next sentinels are asked, and the master found.
TEST_F(RedisTopology, ASilentFirstSentinelCostsOnlyItsTurn) {
  auto& group = sentinel_group();
  const int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(silent, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(silent, 16), 0);  // the kernel completes handshakes; nobody reads
  ASSERT_EQ(::getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length), 0);
  std::string url = group.url();
  url.insert(url.find("//") + 2, "127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + ",");

  auto options = connection_options_from(config_for(url, ""));
  options.reconnect.connect_timeout = 500ms;
  auto conn = make_client(io.get_executor(), std::move(options));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(until_ok([&] { return run(*conn, "silent-first", {"SET", "silent-first", "x"}).value.is_status("OK"); },
                       10s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ::close(silent);
}

// A master killed: its slots fail fast (not hang) until the cluster promotes
// its replica, then the client finds the new owner by itself.
TEST_F(RedisTopology, ClusterMasterDownFailsFastThenThePromotedReplicaServes) {
  auto& c = cluster();
  std::ostringstream log;
  auto conn = client_for(c.url(), std::make_shared<spdlog::logger>(
                                      "cluster-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  const std::string key = "down:{victim}";
  ASSERT_TRUE(run(*conn, key, {"SET", key, "kept"}).value.is_status("OK"));
  const std::size_t victim = c.owner_of(key_slot(key));
  // WAIT: the replica has the write before its master goes.
  EXPECT_EQ(c.node(victim).command({"WAIT", "1", "5000"}), "1");
  c.node(victim).kill();

  const auto start = std::chrono::steady_clock::now();
  auto during = run(*conn, key, {"GET", key});
  EXPECT_TRUE(during.error || during.value.is_error()) << "the master is down";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "a failed node must not hold commands";

  std::string last;
  EXPECT_TRUE(until_ok(
      [&] {
        auto r = run(*conn, key, {"GET", key});
        last = r.error ? r.error.message() : r.value.text;
        return !r.error && r.value.text == "kept";
      },
      30s))
      << "the promoted replica serves the slot; last answer: " << last << "; the client's log:\n"
      << log.str() << "\nCLUSTER NODES: " << ghp_test::try_command(c.node((victim + 1) % c.size()), {"CLUSTER", "NODES"});

  // Back as a replica of the promoted one, for the tests that follow.
  c.node(victim).start();
  EXPECT_TRUE(ghp_test::poll_until(
      [&] {
        for (std::size_t i = 0; i < c.size(); ++i) {
          if (ghp_test::try_command(c.node(i), {"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos) {
            return false;
          }
        }
        return true;
      },
      30s));
}

}  // namespace
}  // namespace github_proxy::redis
