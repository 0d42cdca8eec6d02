// The Redis cache backend over real sockets: entries shared by replicas,
// revalidation with another credential's derived ETag, and a Redis outage
// that degrades to pass-through and heals by itself (docs/contract.md §6 "Backends",
// "ETags are per credential"). Each test starts its own redis-server on a
// free port and stops it by PID; fails when redis-server is not installed.
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include "support/cache_helpers.h"
#include "support/harness.h"
#include "support/redis_server.h"

namespace ghp_test {
namespace {

namespace http = boost::beast::http;
using namespace cache_support;
using namespace std::chrono_literals;

const std::string key_prefix = "t1:";

class RedisCache : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_server::available()) << redis_server::not_installed;
    redis_ = std::make_unique<redis_server>();
  }

  void start_fake(std::vector<std::string> args = {}) {
    fake_github::options opts;
    opts.extra_args = std::move(args);
    fake_ = std::make_unique<fake_github>(dir_, opts);
  }

  std::unique_ptr<proxy_process> replica(const std::string& token = upstream_token_1, const std::string& more = {}) {
    return std::make_unique<proxy_process>(dir_,
                                           proxy_options(*fake_, redis_cache_yaml(redis_->url(), key_prefix, more), token));
  }

  // Number of keys matching `pattern` (KEYS is fine on a test instance).
  long keys(const std::string& pattern) const {
    const auto reply = redis_->command({"KEYS", pattern});  // "(array of N)"
    const auto digits = reply.find_first_of("0123456789");
    return digits == std::string::npos ? 0 : std::stol(reply.substr(digits));
  }

  // Waits until an entry is in Redis: a replica may write it just after answering.
  bool entry_in_redis(long at_least = 1) {
    return poll_until([&] { return keys(key_prefix + "*") >= at_least; });
  }

  temp_dir dir_;
  std::unique_ptr<redis_server> redis_;
  std::unique_ptr<fake_github> fake_;
};

// 3. Replica B answers from what replica A fetched, for a free 304.
TEST_F(RedisCache, ReplicasShareEntriesThroughRedis) {
  start_fake();
  auto a = replica();
  auto b = replica();
  const std::string path = "/repos/octo-org/repo-7";
  const auto reference = direct_get(*fake_, path);

  const auto via_a = get(*a, path, ci_client);
  ASSERT_EQ(via_a.result_int(), 200) << via_a.body();
  EXPECT_EQ(cache_status(via_a), status_stored);
  EXPECT_EQ(via_a.body(), as_client_sees(reference, *fake_, *a));
  ASSERT_TRUE(entry_in_redis()) << "nothing was written under " << key_prefix;
  EXPECT_EQ(keys("*"), keys(key_prefix + "*")) << "every key carries the prefix";

  const auto via_b = get(*b, path, other_client);
  ASSERT_EQ(via_b.result_int(), 200) << via_b.body();
  EXPECT_EQ(cache_status(via_b), status_revalidated);
  EXPECT_EQ(via_b.body(), as_client_sees(reference, *fake_, *b)) << "each replica gives its own URLs";
  EXPECT_EQ(via_b[http::field::etag], via_a[http::field::etag]);
  EXPECT_EQ(via_b[http::field::content_type], via_a[http::field::content_type]);

  const auto usage = usage_of(*fake_, upstream_token_1);
  EXPECT_EQ(usage.requests, 2);
  EXPECT_EQ(usage.status_200, 1);
  EXPECT_EQ(usage.status_304, 1);
  EXPECT_EQ(usage.credits, 1);

  ASSERT_TRUE(wait_for_requests_counted(*b, "other", 1));
  EXPECT_EQ(b->metric("github_proxy_requests_total", request_labels("other", "hit", "200")), 1);
  EXPECT_EQ(b->metric("github_proxy_rate_limit_credits_saved_total", {{"client", "other"}}), 1);
  EXPECT_EQ(b->metric("github_proxy_cache_backend_errors_total", {{"backend", "redis"}}), 0);
  ASSERT_TRUE(wait_for_requests_counted(*a, "ci", 1));
  EXPECT_EQ(a->metric("github_proxy_requests_total", request_labels("ci", "miss", "200")), 1);
}

// 4. An entry fetched with credential 1 is revalidated with credential 2:
// GitHub's ETags are per token, so B derives the one GitHub gives its token
// and still gets a free 304.
TEST_F(RedisCache, RevalidationWithAnotherCredentialUsesADerivedEtag) {
  start_fake();
  auto a = replica(upstream_token_1);
  auto b = replica(upstream_token_2);
  const std::string path = "/repos/octo-org/repo-11";
  const header_list accept{{"Accept", "application/vnd.github+json"}};

  const auto via_a = get(*a, path, ci_client, accept);
  ASSERT_EQ(via_a.result_int(), 200) << via_a.body();
  ASSERT_EQ(cache_status(via_a), status_stored);
  ASSERT_TRUE(entry_in_redis());

  const auto via_b = get(*b, path, other_client, accept);
  ASSERT_EQ(via_b.result_int(), 200) << via_b.body();
  EXPECT_EQ(cache_status(via_b), status_revalidated);
  EXPECT_EQ(via_b.body(), as_client_sees(direct_get(*fake_, path, accept), *fake_, *b));

  const auto usage_2 = usage_of(*fake_, upstream_token_2);
  EXPECT_EQ(usage_2.requests, 1);
  EXPECT_EQ(usage_2.status_304, 1);
  EXPECT_EQ(usage_2.credits, 0);
  const auto from_b = upstream_requests_for(*fake_, path, upstream_token_2);
  ASSERT_EQ(from_b.size(), 1u);
  const auto derived = logged_header(from_b[0], "If-None-Match");
  EXPECT_NE(derived, "<absent>");
  EXPECT_NE(etag_opaque(derived), etag_opaque(via_a[http::field::etag])) << "token 1's ETag means nothing to token 2";

  ASSERT_TRUE(wait_for_requests_counted(*b, "other", 1));
  EXPECT_EQ(b->metric("github_proxy_etag_derivations_total", {{"result", "not_modified"}}), 1);
  EXPECT_EQ(b->metric("github_proxy_etag_derivations_total", {{"result", "modified"}}), 0);
  EXPECT_EQ(b->metric("github_proxy_rate_limit_credits_saved_total", {{"client", "other"}}), 1);

  // A still holds its own entry in its front tier (README "Front tier"): it
  // revalidates with token 1's own ETag, without reading Redis.
  const auto again_a = get(*a, path, ci_client, accept);
  EXPECT_EQ(again_a.result_int(), 200);
  EXPECT_EQ(cache_status(again_a), status_revalidated);
  EXPECT_EQ(again_a.body(), via_a.body());
  ASSERT_TRUE(wait_for_requests_counted(*a, "ci", 2));
  EXPECT_EQ(a->metric("github_proxy_etag_derivations_total", {{"result", "not_modified"}}), 0);

  // And back: a replica that does not hold it (a new pod, a restart)
  // revalidates the entry B refreshed in Redis, now holding token 2's ETag,
  // with the one it derives for token 1.
  auto c = replica(upstream_token_1);
  const auto via_c = get(*c, path, ci_client, accept);
  EXPECT_EQ(via_c.result_int(), 200);
  EXPECT_EQ(cache_status(via_c), status_revalidated);
  const auto usage_1 = usage_of(*fake_, upstream_token_1);
  EXPECT_EQ(usage_1.credits, 1);
  EXPECT_EQ(usage_1.status_304, 2);
  ASSERT_TRUE(wait_for_requests_counted(*c, "ci", 1));
  EXPECT_EQ(c->metric("github_proxy_etag_derivations_total", {{"result", "not_modified"}}), 1);

  // The ETag B derived and showed is the one GitHub gives token 2 (checked
  // last: this direct fetch spends one of token 2's credits).
  const auto truth = direct_get(*fake_, path, accept, upstream_token_2);
  ASSERT_EQ(truth.result_int(), 200);
  EXPECT_EQ(etag_opaque(derived), etag_opaque(truth[http::field::etag]));
  EXPECT_EQ(etag_opaque(via_b[http::field::etag]), etag_opaque(truth[http::field::etag]));
}

// 4b. A derived ETag for a resource that changed gets the new body.
TEST_F(RedisCache, DerivedRevalidationOfAChangedResourceStoresTheNewBody) {
  start_fake();
  auto a = replica(upstream_token_1);
  auto b = replica(upstream_token_2);
  const std::string path = "/repos/octo-org/repo-12";
  const auto via_a = get(*a, path, ci_client);
  ASSERT_EQ(via_a.result_int(), 200);
  ASSERT_EQ(cache_status(via_a), status_stored);
  ASSERT_TRUE(entry_in_redis());

  fake_->control("POST", "/_fake/change", R"({"path":"/repos/octo-org/repo-12"})");
  const auto reference = direct_get(*fake_, path);
  const auto via_b = get(*b, path, other_client);
  ASSERT_EQ(via_b.result_int(), 200);
  EXPECT_EQ(cache_status(via_b), status_changed);
  EXPECT_EQ(via_b.body(), as_client_sees(reference, *fake_, *b));
  ASSERT_TRUE(wait_for_requests_counted(*b, "other", 1));
  EXPECT_EQ(b->metric("github_proxy_etag_derivations_total", {{"result", "modified"}}), 1);
  EXPECT_EQ(b->metric("github_proxy_etag_derivations_total", {{"result", "not_modified"}}), 0);
  EXPECT_EQ(b->metric("github_proxy_requests_total", request_labels("other", "changed", "200")), 1);

  // A replica without the entry in its front tier gets B's version through
  // the shared entry: a free 304.
  auto c = replica(upstream_token_1);
  const auto via_c = get(*c, path, ci_client);
  EXPECT_EQ(via_c.result_int(), 200);
  EXPECT_EQ(cache_status(via_c), status_revalidated);
  EXPECT_EQ(via_c.body(), as_client_sees(reference, *fake_, *c));

  // A still holds the old version in its front tier: its revalidation
  // learns of the change from GitHub (a 200, one credit: the price of not
  // waiting on Redis for every hit, README "Front tier") and then holds the
  // new one.
  const auto again_a = get(*a, path, ci_client);
  EXPECT_EQ(again_a.result_int(), 200);
  EXPECT_EQ(cache_status(again_a), status_changed);
  EXPECT_EQ(again_a.body(), as_client_sees(reference, *fake_, *a));
  EXPECT_EQ(cache_status(get(*a, path, ci_client)), status_revalidated);
}

// 6. Redis dies under load: no request fails; it comes back on the same port
// and caching resumes without restarting the proxy.
TEST_F(RedisCache, OutageDegradesToPassThroughAndCachingResumes) {
  start_fake({"--core-limit", "1000000"});
  auto proxy = replica();
  const std::string warm_path = "/repos/octo-org/repo-1";
  const auto warm = get(*proxy, warm_path, ci_client);
  ASSERT_EQ(warm.result_int(), 200);
  ASSERT_EQ(cache_status(warm), status_stored);
  ASSERT_TRUE(entry_in_redis());
  ASSERT_EQ(cache_status(get(*proxy, warm_path, ci_client)), status_revalidated);

  // The load: two clients on keep-alive connections over a few hot paths.
  constexpr long max_requests = 3000;  // hard cap per thread
  const auto hard_deadline = std::chrono::steady_clock::now() + 20s;
  std::atomic<bool> stop{false};
  std::atomic<long> answered{0};
  std::atomic<long> failed{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> load;
  for (int t = 0; t < 2; ++t) {
    load.emplace_back([&, t] {
      std::optional<http_connection> conn;
      for (long i = 0; i < max_requests && !stop && std::chrono::steady_clock::now() < hard_deadline; ++i) {
        try {
          if (!conn) conn.emplace(proxy->where(), 10s);
          // A new key each time, so that every request reads Redis: a key
          // this replica holds is answered from its front tier without it.
          const auto target = "/repos/octo-org/repo-" + std::to_string(1 + (i + t) % 4) + "?t=" +
                              std::to_string(t) + "&i=" + std::to_string(i);
          http_request req{http::verb::get, target, 11};
          req.set(http::field::authorization, auth_of(t ? other_client : ci_client).second);
          const auto res = conn->send(std::move(req));
          ++answered;
          if (res.result_int() != 200) {
            ++failed;
            std::lock_guard lock(failures_mutex);
            if (failures.size() < 5) failures.push_back(std::to_string(res.result_int()) + ": " + res.body());
          }
          if (!res.keep_alive()) conn.reset();
        } catch (const std::exception& e) {
          ++failed;
          std::lock_guard lock(failures_mutex);
          if (failures.size() < 5) failures.push_back(std::string("exception: ") + e.what());
          conn.reset();
        }
      }
    });
  }
  auto more_answers = [&](long extra) {
    const long target = answered + extra;
    return poll_until([&] { return answered >= target; }, 10s);
  };

  const bool loaded = more_answers(50);
  redis_->kill();  // SIGKILL by PID, mid-load
  const bool served_during_outage = more_answers(100);
  const bool errors_counted = poll_until(
      [&] { return proxy->metric("github_proxy_cache_backend_errors_total", {{"backend", "redis"}}) > 0; }, 5s);
  stop = true;
  for (auto& thread : load) thread.join();

  EXPECT_TRUE(loaded) << "the load threads got no answers";
  EXPECT_TRUE(served_during_outage) << "requests stalled while Redis was down";
  EXPECT_EQ(failed.load(), 0) << "of " << answered.load() << "; first: " << (failures.empty() ? "" : failures[0]);
  EXPECT_TRUE(errors_counted) << "github_proxy_cache_backend_errors_total{backend=\"redis\"} stayed 0";
  EXPECT_TRUE(proxy->process().running());
  // Redis still down: an entry this replica holds is revalidated and served
  // from its front tier, not passed through.
  EXPECT_EQ(cache_status(get(*proxy, warm_path, ci_client)), status_revalidated);

  // Same port, empty data set: caching resumes by itself (reconnect with
  // backoff). Each round uses a fresh key, so a hit can only come from an
  // entry written after the restart.
  redis_->start();
  std::string last_first, last_second;
  bool resumed = false;
  for (int n = 20; n < 100 && !resumed; ++n) {
    const std::string path = "/repos/octo-org/repo-" + std::to_string(n);
    const long entries_before = keys(key_prefix + "*");
    const auto first = get(*proxy, path, ci_client);
    ASSERT_EQ(first.result_int(), 200) << first.body();
    // The entry may be written just after the answer.
    poll_until([&] { return keys(key_prefix + "*") > entries_before; }, 1s);
    const auto second = get(*proxy, path, ci_client);
    ASSERT_EQ(second.result_int(), 200) << second.body();
    last_first = cache_status(first);
    last_second = cache_status(second);
    resumed = last_second == status_revalidated;
    if (!resumed) std::this_thread::sleep_for(200ms);  // polling interval while the proxy reconnects
  }
  ASSERT_TRUE(resumed) << "caching did not resume; last: " << last_first << " / " << last_second;
  EXPECT_EQ(last_first, status_stored);
  EXPECT_GE(keys(key_prefix + "*"), 1);
}

}  // namespace
}  // namespace ghp_test
