// The daemon on Redis as organisations run it (docs/contract.md §3, §6
// "Backends"; issue 14): TLS only, a Sentinel-managed master, a Cluster.
//
//   1. Replicas share entries through each topology.
//   2. A client's budget holds across two replicas on the cluster.
//   3. The Sentinel master killed by PID under load: no request fails,
//      caching resumes on the promoted replica, each replica logs the move once.
//   4. A wrong CA, a wrong password, a replica named as the master: the
//      proxy starts, serves uncached, and says why in its log.
//
// The Sentinel group and the cluster take seconds to form: this file is one
// ctest test (tests/CMakeLists.txt, "topology suites") that forms each once.
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/cache_helpers.h"
#include "support/pool_helpers.h"
#include "support/redis_topologies.h"
#include "support/test_pki.h"

namespace ghp_test {
namespace {

using namespace std::chrono_literals;
using namespace pool_support;

const std::string ci_token = "ghpx_topology_ci_token";
const std::string other_token = "ghpx_topology_other_token";

struct suite_pki {
  suite_pki()
      : dir(std::filesystem::temp_directory_path() / ("ghp-topology-it-pki-" + std::to_string(::getpid()))),
        ours(generate_test_pki((dir / "ours").string())),
        stranger(generate_test_pki((dir / "stranger").string())) {}
  ~suite_pki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  std::filesystem::path dir;
  test_pki ours;
  test_pki stranger;
};

const suite_pki& pki() {
  static suite_pki p;
  return p;
}
redis_server& tls_server() {
  static redis_server server([] {
    const auto& p = pki().ours;
    redis_server::options options;
    options.tls = redis_tls_files{p.ca_cert, p.server_cert, p.server_key, p.client_cert, p.client_key};
    return options;
  }());
  return server;
}
redis_sentinel_group& sentinel_group() {
  static redis_sentinel_group group;
  return group;
}
redis_cluster& cluster() {
  static redis_cluster c;
  return c;
}

// The whole `cache:` section for `url`.
std::string cache_yaml(const std::string& url, const std::string& prefix, const std::string& ca_file = {}) {
  std::string yaml = "cache:\n  backend: redis\n  redis:\n    url: " + url + "\n    key_prefix: \"" + prefix +
                     "\"\n    timeout: 500ms\n";
  if (!ca_file.empty()) yaml += "    tls:\n      ca_file: " + ca_file + "\n";
  return yaml;
}

class RedisTopologyProxy : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_server::available()) << redis_server::not_installed;
    fake_ = std::make_unique<fake_github>(dir_, fake_github::options{});
  }

  std::unique_ptr<pool_daemon> replica(const std::string& yaml, const std::string& secret,
                                       std::vector<pool_client> clients = {}) {
    daemon_options opts;
    opts.upstream_url = fake_->url();
    opts.credentials = {token_credential("tok", secret)};
    opts.clients = clients.empty() ? std::vector<pool_client>{{"ci", ci_token, ""}, {"other", other_token, ""}}
                                   : std::move(clients);
    opts.cache_yaml = yaml;
    return std::make_unique<pool_daemon>(dir_, std::move(opts));
  }

  http_response get(const pool_daemon& d, const std::string& path, const std::string& token = ci_token) {
    return request(d.where(), "GET", path, {auth_of(token)});
  }

  // B answers from what A stored: a revalidated hit, not a second fetch.
  void expect_shared(const std::string& yaml, const std::string& path) {
    auto a = replica(yaml, "topology-secret-a");
    auto b = replica(yaml, "topology-secret-a");
    const auto first = get(*a, path);
    ASSERT_EQ(first.result_int(), 200) << first.body();
    EXPECT_EQ(cache_support::cache_status(first), cache_support::status_stored);
    // The entry may be written just after the answer.
    bool shared = poll_until(
        [&] { return cache_support::cache_status(get(*b, path, other_token)) == cache_support::status_revalidated; },
        5s);
    EXPECT_TRUE(shared) << "replica B did not answer from the entry A stored";
    EXPECT_EQ(a->metric("github_proxy_cache_backend_errors_total", {{"backend", "redis"}}), 0) << a->log();
    EXPECT_EQ(b->metric("github_proxy_cache_backend_errors_total", {{"backend", "redis"}}), 0) << b->log();
  }

  temp_dir dir_;
  std::unique_ptr<fake_github> fake_;
};

// ---- 1. replicas share entries ------------------------------------------------

TEST_F(RedisTopologyProxy, ReplicasShareEntriesOverTls) {
  expect_shared(cache_yaml(tls_server().url(), "it-tls:", pki().ours.ca_cert), "/repos/octo-org/repo-11");
}

TEST_F(RedisTopologyProxy, ReplicasShareEntriesThroughSentinel) {
  expect_shared(cache_yaml(sentinel_group().url(), "it-sentinel:"), "/repos/octo-org/repo-12");
}

TEST_F(RedisTopologyProxy, ReplicasShareEntriesThroughACluster) {
  expect_shared(cache_yaml(cluster().url(), "it-cluster:"), "/repos/octo-org/repo-13");
}

// ---- 2. one budget across replicas on the cluster --------------------------

TEST_F(RedisTopologyProxy, ReplicasOnAClusterShareABudget) {
  const std::string runaway = "ghpx_topology_runaway";
  const std::vector<pool_client> clients{{"runaway", runaway, "6/h"}, {"ci", ci_token, ""}};
  const auto yaml = cache_yaml(cluster().url(), "it-budget:");
  auto a = replica(yaml, "topology-secret-a", clients);
  auto b = replica(yaml, "topology-secret-b", clients);
  std::vector<unsigned> statuses;
  for (int i = 0; i < 16; ++i) statuses.push_back(get(i % 2 ? *b : *a, fresh_path("cluster-budget", i), runaway).result_int());
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200u), 6)
      << "12 would mean each replica counts alone: " << ::testing::PrintToString(statuses);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 429u), 10);
  EXPECT_EQ(a->metric("github_proxy_cache_backend_errors_total", {{"backend", "redis"}}), 0);
  EXPECT_EQ(b->metric("github_proxy_cache_backend_errors_total", {{"backend", "redis"}}), 0);
}

// ---- 3. Sentinel failover under load -----------------------------------------

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST_F(RedisTopologyProxy, SentinelMasterKilledUnderLoad) {
  auto& group = sentinel_group();
  const auto yaml = cache_yaml(group.url(), "it-failover:");
  auto a = replica(yaml, "topology-secret-a");
  auto b = replica(yaml, "topology-secret-b");
  ASSERT_EQ(get(*a, "/repos/octo-org/repo-14").result_int(), 200);

  // Steady load on both replicas, fresh paths (each one stored), until told
  // to stop: about 100 requests a second per replica, so that each
  // replica's token stays within the fake's 5,000 credits an hour.
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  auto paced = [&](int) {
    ++answered;
    std::this_thread::sleep_for(20ms);  // pacing the load, not waiting for an event
  };
  load_result on_a, on_b;
  std::thread load_a([&] { on_a = run_load(a->where(), ci_token, "failover-a", 4000, 2, paced, &stop); });
  std::thread load_b([&] { on_b = run_load(b->where(), other_token, "failover-b", 4000, 2, paced, &stop); });
  auto more_answers = [&](int extra) {
    const int target = answered + extra;
    return poll_until([&] { return answered >= target; }, 15s);
  };

  EXPECT_TRUE(more_answers(40));
  redis_server& old_master = group.master();
  const unsigned short old_port = old_master.port();
  old_master.kill();  // SIGKILL by PID
  EXPECT_TRUE(more_answers(40)) << "requests stalled while the master was down";
  const bool promoted = poll_until([&] { return group.master_port() != old_port && group.master_port() != 0; }, 30s);
  EXPECT_TRUE(promoted) << "the sentinels did not promote the replica";

  // Caching resumes on the promoted replica: new entries land there.
  bool resumed = false;
  if (promoted) {
    redis_server& new_master = group.master();
    const long before = std::stol(try_command(new_master, {"DBSIZE"}).empty() ? "0" : try_command(new_master, {"DBSIZE"}));
    resumed = poll_until(
        [&] {
          const auto size = try_command(new_master, {"DBSIZE"});
          return !size.empty() && std::stol(size) > before + 10;
        },
        20s);
  }
  EXPECT_TRUE(resumed) << "no entry reached the promoted master";
  stop = true;
  load_a.join();
  load_b.join();

  EXPECT_GT(on_a.total(), 0);
  EXPECT_GT(on_b.total(), 0);
  EXPECT_EQ(on_a.count(200), on_a.total()) << describe(on_a);
  EXPECT_EQ(on_b.count(200), on_b.total()) << describe(on_b);
  for (auto* r : {a.get(), b.get()}) {
    EXPECT_TRUE(r->process().running());
    EXPECT_EQ(occurrences(r->log(), "moved from"), 1u) << "the switch is logged once per process:\n" << r->log();
  }
}

// ---- 4. misconfigured Redis: served uncached, and the log says why ---------

struct misconfiguration {
  std::string name;
  std::function<std::string()> yaml;
  std::string logged;  // what the log must say
};

class RedisMisconfigured : public RedisTopologyProxy, public ::testing::WithParamInterface<misconfiguration> {};

TEST_P(RedisMisconfigured, ServesUncachedAndSaysWhy) {
  auto proxy = replica(GetParam().yaml(), "topology-secret-a");
  for (int i = 0; i < 3; ++i) {
    const auto res = get(*proxy, "/repos/octo-org/repo-15");
    ASSERT_EQ(res.result_int(), 200) << res.body();
    EXPECT_FALSE(cache_support::is_hit(res)) << "nothing can be cached";
  }
  EXPECT_TRUE(proxy->process().running());
  EXPECT_GT(proxy->metric("github_proxy_cache_backend_errors_total", {{"backend", "redis"}}), 0);
  EXPECT_TRUE(poll_until([&] { return proxy->log().find(GetParam().logged) != std::string::npos; }, 5s))
      << proxy->log();
}

INSTANTIATE_TEST_SUITE_P(
    RedisTopologyProxy, RedisMisconfigured,
    ::testing::Values(
        misconfiguration{"WrongCa",
                         [] { return cache_yaml(tls_server().url(), "it-bad:", pki().stranger.ca_cert); },
                         "certificate verify failed"},
        misconfiguration{"WrongPassword",
                         [] {
                           static redis_server locked({.extra_args = {"--requirepass", "right"}, .password = "right"});
                           return cache_yaml(locked.url_with(":wrong"), "it-bad:");
                         },
                         "WRONGPASS"},
        misconfiguration{"ReplicaAsMaster",
                         [] {
                           static redis_server master;
                           static redis_server replica(
                               {.extra_args = {"--replicaof", "127.0.0.1", std::to_string(master.port())}});
                           return cache_yaml(replica.url(), "it-bad:");
                         },
                         "not a master"}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace ghp_test
