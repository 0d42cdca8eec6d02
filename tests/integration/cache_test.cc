// The ETag cache in the request path, over real sockets, with the default
// (memory) backend: what clients get, what GitHub is asked and what it
// charges, and what the metrics count (docs/contract.md §5 "Cache status", §6, §8).
// The Redis backend and several replicas: cache_redis_test.cc.
#include <vector>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/cache_helpers.h"
#include "support/harness.h"

namespace ghp_test {
namespace {

namespace http = boost::beast::http;
using namespace cache_support;
using namespace std::chrono_literals;

class Cache : public ::testing::Test {
 protected:
  void start(const std::string& cache_yaml = {}, std::vector<std::string> fake_args = {}) {
    fake_github::options fake_opts;
    fake_opts.extra_args = std::move(fake_args);
    fake_ = std::make_unique<fake_github>(dir_, fake_opts);
    proxy_ = std::make_unique<proxy_process>(dir_, proxy_options(*fake_, cache_yaml));
  }

  void fault(const std::string& rule) { fake_->control("POST", "/_fake/faults", rule); }

  double requests_metric(const std::string& client, const std::string& cache, const std::string& code = {},
                         const std::string& method = {}) {
    return proxy_->metric("github_proxy_requests_total", request_labels(client, cache, code, method));
  }
  double credits_saved(const std::string& client) {
    return proxy_->metric("github_proxy_rate_limit_credits_saved_total", {{"client", client}});
  }

  temp_dir dir_;
  std::unique_ptr<fake_github> fake_;
  std::unique_ptr<proxy_process> proxy_;
};

// 1. The point of the proxy: a second client's read costs GitHub nothing.
TEST_F(Cache, SecondClientGetsAHitAndOnlyTheFirstReadSpendsACredit) {
  start();
  const std::string path = "/repos/octo-org/repo-1";
  const auto reference = direct_get(*fake_, path);
  ASSERT_EQ(reference.result_int(), 200);

  const auto first = get(*proxy_, path, ci_client);
  ASSERT_EQ(first.result_int(), 200) << first.body();
  EXPECT_EQ(cache_status(first), status_stored);
  EXPECT_EQ(first.body(), as_client_sees(reference, *fake_, *proxy_));

  const auto second = get(*proxy_, path, other_client);
  ASSERT_EQ(second.result_int(), 200) << second.body();
  EXPECT_EQ(cache_status(second), status_revalidated);
  EXPECT_EQ(second.body(), as_client_sees(reference, *fake_, *proxy_));
  EXPECT_EQ(second[http::field::etag], first[http::field::etag]) << "same credential, same ETag";
  EXPECT_EQ(second[http::field::content_type], first[http::field::content_type]);
  EXPECT_EQ(second[http::field::last_modified], first[http::field::last_modified]);
  EXPECT_EQ(second[http::field::content_length], std::to_string(as_client_sees(reference, *fake_, *proxy_).size()));

  // GitHub saw one full fetch and one free revalidation with the stored ETag.
  const auto usage = usage_of(*fake_, upstream_token_1);
  EXPECT_EQ(usage.requests, 2);
  EXPECT_EQ(usage.status_200, 1);
  EXPECT_EQ(usage.status_304, 1);
  EXPECT_EQ(usage.credits, 1);
  const auto upstream = upstream_requests_for(*fake_, path, upstream_token_1);
  ASSERT_EQ(upstream.size(), 2u);
  EXPECT_EQ(logged_header(upstream[0], "If-None-Match"), "<absent>");
  EXPECT_EQ(etag_opaque(logged_header(upstream[1], "If-None-Match")), etag_opaque(first[http::field::etag]));
  EXPECT_EQ(upstream[1].at("status").to_number<int>(), 304);

  ASSERT_TRUE(wait_for_requests_counted(*proxy_, "other", 1));
  ASSERT_TRUE(wait_for_requests_counted(*proxy_, "ci", 1));
  EXPECT_EQ(requests_metric("ci", "miss", "200", "GET"), 1);
  EXPECT_EQ(requests_metric("other", "hit", "200", "GET"), 1);
  EXPECT_EQ(credits_saved("other"), 1);
  EXPECT_EQ(credits_saved("ci"), 0);
}

// 2. A change upstream is never hidden by the cache: the new body is served
// and replaces the entry.
TEST_F(Cache, ChangedResourceIsServedFreshAndReplacesTheEntry) {
  start();
  const std::string path = "/repos/octo-org/repo-2";
  const auto first = get(*proxy_, path, ci_client);
  ASSERT_EQ(first.result_int(), 200);
  ASSERT_EQ(cache_status(first), status_stored);

  fake_->control("POST", "/_fake/change", R"({"path":"/repos/octo-org/repo-2"})");
  const auto reference = direct_get(*fake_, path);
  ASSERT_NE(reference.body(), first.body()) << "the fake did not change the resource";

  const auto changed = get(*proxy_, path, ci_client);
  ASSERT_EQ(changed.result_int(), 200);
  EXPECT_EQ(cache_status(changed), status_changed);
  EXPECT_EQ(changed.body(), as_client_sees(reference, *fake_, *proxy_));
  EXPECT_NE(changed[http::field::etag], first[http::field::etag]);
  EXPECT_NE(changed[http::field::last_modified], first[http::field::last_modified]);

  // The new version is what the entry holds now.
  const auto again = get(*proxy_, path, other_client);
  ASSERT_EQ(again.result_int(), 200);
  EXPECT_EQ(cache_status(again), status_revalidated);
  EXPECT_EQ(again.body(), as_client_sees(reference, *fake_, *proxy_));
  EXPECT_EQ(again[http::field::etag], changed[http::field::etag]);

  const auto usage = usage_of(*fake_, upstream_token_1);
  EXPECT_EQ(usage.requests, 3);
  EXPECT_EQ(usage.status_200, 2);
  EXPECT_EQ(usage.status_304, 1);
  EXPECT_EQ(usage.credits, 2);

  ASSERT_TRUE(wait_for_requests_counted(*proxy_, "ci", 2));
  ASSERT_TRUE(wait_for_requests_counted(*proxy_, "other", 1));
  EXPECT_EQ(requests_metric("ci", "miss", "200"), 1);
  EXPECT_EQ(requests_metric("ci", "changed", "200"), 1);
  EXPECT_EQ(requests_metric("other", "hit", "200"), 1);
  EXPECT_EQ(credits_saved("ci"), 0) << "a 200 revalidation saves nothing";
}

// 5. A thundering herd on a cold key: one upstream request, everyone served.
// The leader's upstream request is held at a gate of the fake (not delayed
// by a latency the clients hope to beat) until every client's request has
// been read by the proxy.
TEST_F(Cache, ConcurrentIdenticalColdRequestsShareOneUpstreamRequest) {
  start();
  constexpr int clients = 100;
  const std::string path = "/repos/octo-org/repo-5";
  const auto reference = direct_get(*fake_, path);
  ASSERT_EQ(reference.result_int(), 200);
  const auto expected = as_client_sees(reference, *fake_, *proxy_);
  // count 1: a second upstream request (coalescing broken) is not held, it
  // is answered at once and counted below.
  fault(R"({"path_prefix":"/repos/octo-org/repo-5","count":1,"gate":"herd"})");

  // Every client connects and sends before any is answered: concurrent
  // requests as the proxy sees them, without threads racing a clock.
  std::vector<http_connection> connections;
  connections.reserve(clients);
  for (int i = 0; i < clients; ++i) {
    connections.emplace_back(proxy_->where(), 20s);
    http_request req{http::verb::get, path, 11};
    req.set(http::field::authorization, auth_of(ci_client).second);
    connections.back().write(std::move(req));
  }
  // The events: the leader's request waits at the gate, and the proxy has
  // read every client's request (nothing left unread on its sockets).
  const bool leader_held = poll_until([&] { return fake_->held_at("herd") == 1; }, 20s);
  const bool all_read = poll_until(
      [&] {
        const auto sockets = loopback_connections_to(proxy_->port());
        return sockets.established >= clients && sockets.unread == 0;
      },
      20s);
  EXPECT_EQ(fake_->release("herd"), leader_held ? 1 : 0);
  ASSERT_TRUE(leader_held) << "no request reached the fake's gate";
  ASSERT_TRUE(all_read) << "the proxy did not read every client's request";

  struct outcome {
    unsigned status = 0;
    std::string cache_status;
    std::string body;
  };
  std::vector<outcome> outcomes;
  for (int i = 0; i < clients; ++i) {
    const auto res = connections[i].read_response();
    outcomes.push_back({res.result_int(), cache_status(res), res.body()});
  }

  int stored = 0;
  int coalesced = 0;
  for (int i = 0; i < clients; ++i) {
    const auto& o = outcomes[i];
    EXPECT_EQ(o.status, 200u) << "client " << i;
    EXPECT_TRUE(o.body == expected) << "client " << i << " got a different body";
    stored += o.cache_status == status_stored;
    coalesced += o.cache_status == status_coalesced;
  }

  const auto upstream = upstream_requests_for(*fake_, path, upstream_token_1);
  EXPECT_EQ(upstream.size(), 1u) << "coalescing: one upstream request for " << clients << " clients";
  EXPECT_EQ(usage_of(*fake_, upstream_token_1).credits, 1);
  EXPECT_EQ(stored, 1);
  EXPECT_EQ(coalesced, clients - 1);

  ASSERT_TRUE(wait_for_requests_counted(*proxy_, "ci", clients));
  EXPECT_EQ(requests_metric("ci", "miss", "200"), 1);
  EXPECT_EQ(requests_metric("ci", "coalesced", "200"), clients - 1);
  EXPECT_EQ(credits_saved("ci"), clients - 1);
}

// 5b. The client whose request started the shared upstream fetch goes away;
// the fetch goes on for the others and is stored (docs/contract.md §6 "Coalescing").
TEST_F(Cache, LeaderDisconnectDoesNotCancelTheSharedUpstreamRequest) {
  start();
  const std::string path = "/repos/octo-org/repo-13";
  const auto reference = direct_get(*fake_, path);
  ASSERT_EQ(reference.result_int(), 200);
  // The leader's upstream request waits at a gate until the follower's
  // request has been read by the proxy.
  fault(R"({"path_prefix":"/repos/octo-org/repo-13","count":1,"gate":"leader"})");
  {
    http_connection leader(proxy_->where());
    leader.write_raw("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: ghp-test\r\nAuthorization: token " +
                     ci_client.token + "\r\n\r\n");
    ASSERT_TRUE(poll_until([&] { return fake_->held_at("leader") == 1; }, 10s))
        << "the leader's request never reached the fake";
  }  // the leader's client disconnects while its upstream request is in flight

  http_connection follower_connection(proxy_->where());
  http_request follower_request{http::verb::get, path, 11};
  follower_request.set(http::field::authorization, auth_of(other_client).second);
  follower_connection.write(std::move(follower_request));
  const bool follower_read = poll_until([&] { return loopback_connections_to(proxy_->port()).unread == 0; }, 10s);
  EXPECT_EQ(fake_->release("leader"), 1);
  ASSERT_TRUE(follower_read) << "the proxy did not read the follower's request";
  const auto follower = follower_connection.read_response();
  EXPECT_EQ(follower.result_int(), 200);
  EXPECT_EQ(cache_status(follower), status_coalesced);
  EXPECT_EQ(follower.body(), as_client_sees(reference, *fake_, *proxy_));

  const auto later = get(*proxy_, path, ci_client);
  EXPECT_EQ(later.result_int(), 200);
  EXPECT_EQ(cache_status(later), status_revalidated) << "the shared fetch was stored";
  EXPECT_EQ(later.body(), as_client_sees(reference, *fake_, *proxy_));
  // Upstream: the one shared fetch, then the revalidation of its entry.
  const auto upstream = upstream_requests_for(*fake_, path, upstream_token_1);
  ASSERT_EQ(upstream.size(), 2u);
  EXPECT_EQ(upstream[0].at("status").to_number<int>(), 200);
  EXPECT_EQ(upstream[1].at("status").to_number<int>(), 304);
}

// 7. max_object_bytes: a larger answer is relayed in full but not stored.
TEST_F(Cache, ObjectOverMaxObjectBytesIsRelayedAndNotStored) {
  start(memory_cache_yaml("  max_object_bytes: 16KiB\n"));
  const header_list raw{{"Accept", "application/vnd.github.raw"}};
  const std::string large = "/repos/octo-org/repo-1/contents/large-200000.bin";
  const auto reference = direct_get(*fake_, large, raw);
  ASSERT_EQ(reference.result_int(), 200);
  ASSERT_EQ(reference.body().size(), 200000u);

  for (int round = 0; round < 2; ++round) {
    const auto res = get(*proxy_, large, ci_client, raw);
    ASSERT_EQ(res.result_int(), 200) << "round " << round;
    EXPECT_EQ(cache_status(res), status_not_stored) << "round " << round;
    EXPECT_EQ(res.body().size(), reference.body().size()) << "round " << round;
    EXPECT_TRUE(res.body() == reference.body()) << "round " << round << ": body differs";
    EXPECT_EQ(res[http::field::etag], reference[http::field::etag]) << "contents ETags are blob SHAs";
  }
  // Both went upstream unconditionally: nothing was kept to revalidate.
  const auto upstream = upstream_requests_for(*fake_, large, upstream_token_1);
  ASSERT_EQ(upstream.size(), 2u);
  for (const auto& up : upstream) {
    EXPECT_EQ(logged_header(up, "If-None-Match"), "<absent>");
    EXPECT_EQ(up.at("status").to_number<int>(), 200);
  }

  // A small object under the same limit is stored.
  const auto small = get(*proxy_, "/repos/octo-org/repo-1", ci_client);
  ASSERT_EQ(small.result_int(), 200);
  EXPECT_EQ(cache_status(small), status_stored);
  ASSERT_TRUE(wait_for_requests_counted(*proxy_, "ci", 3));
  EXPECT_EQ(metric_once_at_least(*proxy_, "github_proxy_cache_entries", {{"backend", "memory"}}, 1), 1)
      << "only the small object";
  EXPECT_EQ(requests_metric("ci", "miss", "200"), 3);
}

// 8a. A client's own conditional request on a cold key goes upstream as is,
// and its body-less 304 is never stored.
TEST_F(Cache, ClientConditionalRequestIsAnsweredAndItsBodylessAnswerNeverStored) {
  start();
  const std::string path = "/repos/octo-org/repo-8";
  const header_list accept{{"Accept", "application/vnd.github+json"}};
  // The ETag GitHub gives the proxy's credential, as a client that talked to
  // GitHub through the proxy before a restart would hold it.
  const auto own = direct_get(*fake_, path, accept, upstream_token_1);
  ASSERT_EQ(own.result_int(), 200);
  const std::string etag(own[http::field::etag]);

  auto conditional = accept;
  conditional.emplace_back("If-None-Match", etag);
  const auto cold = get(*proxy_, path, ci_client, conditional);
  EXPECT_EQ(cold.result_int(), 304);
  EXPECT_TRUE(cold.body().empty());
  EXPECT_EQ(cache_status(cold), status_not_stored);
  EXPECT_EQ(etag_opaque(cold[http::field::etag]), etag_opaque(etag));

  const auto full = get(*proxy_, path, ci_client, accept);
  ASSERT_EQ(full.result_int(), 200);
  EXPECT_EQ(cache_status(full), status_stored) << "the 304 must not have been stored";
  EXPECT_EQ(full.body(), as_client_sees(own, *fake_, *proxy_));

  // Now warm: the client's conditional is answered from the confirmed entry.
  const auto warm = get(*proxy_, path, ci_client, conditional);
  EXPECT_EQ(warm.result_int(), 304);
  EXPECT_TRUE(warm.body().empty());
  EXPECT_EQ(cache_status(warm), status_revalidated);

  // A validator that does not match gets the full body from the entry.
  auto mismatch = accept;
  mismatch.emplace_back("If-None-Match", "\"0000000000000000000000000000000000000000000000000000000000000000\"");
  const auto other = get(*proxy_, path, other_client, mismatch);
  EXPECT_EQ(other.result_int(), 200);
  EXPECT_EQ(cache_status(other), status_revalidated);
  EXPECT_EQ(other.body(), as_client_sees(own, *fake_, *proxy_));

  const auto upstream = upstream_requests_for(*fake_, path, upstream_token_1);
  ASSERT_EQ(upstream.size(), 5u);  // direct, cold, full, warm, other
  EXPECT_EQ(logged_header(upstream[2], "If-None-Match"), "<absent>")
      << "the plain GET after the client's conditional one must fetch the body";
  const auto usage = usage_of(*fake_, upstream_token_1);
  EXPECT_EQ(usage.credits, 2);  // the direct fetch and the proxy's one full fetch
  EXPECT_EQ(usage.status_304, 3);
}

// 8b. HEAD is answered from the GET entry (same headers, no body) and never
// stores anything itself.
TEST_F(Cache, HeadIsAnsweredFromTheGetEntryAndPassesThroughWhenCold) {
  start();
  const std::string path = "/repos/octo-org/repo-9";
  const auto cold = head(*proxy_, path, ci_client);
  EXPECT_EQ(cold.result_int(), 200);
  EXPECT_TRUE(cold.body().empty());
  // A cold HEAD never stores, so the cache does not handle it (RFC 9211 fwd=bypass).
  EXPECT_EQ(cache_status(cold), status_bypass);
  ASSERT_EQ(upstream_requests_for(*fake_, path, upstream_token_1).size(), 1u);

  const auto full = get(*proxy_, path, ci_client);
  ASSERT_EQ(full.result_int(), 200);
  EXPECT_EQ(cache_status(full), status_stored) << "HEAD must not have stored anything";

  const auto warm = head(*proxy_, path, other_client);
  EXPECT_EQ(warm.result_int(), 200);
  EXPECT_TRUE(warm.body().empty());
  EXPECT_EQ(cache_status(warm), status_revalidated);
  for (const auto field : {http::field::etag, http::field::content_type, http::field::last_modified,
                           http::field::cache_control}) {
    EXPECT_EQ(warm[field], full[field]) << field;
  }
  EXPECT_EQ(warm[http::field::content_length], std::to_string(full.body().size()));
  EXPECT_EQ(warm["X-GitHub-Media-Type"], full["X-GitHub-Media-Type"]);

  const auto usage = usage_of(*fake_, upstream_token_1);
  EXPECT_EQ(usage.credits, 2);  // the cold HEAD and the GET
  EXPECT_EQ(usage.status_304, 1);
  ASSERT_TRUE(wait_for_requests_counted(*proxy_, "other", 1));
  EXPECT_EQ(requests_metric("other", "hit", "200", "HEAD"), 1);
}

// 8c. What is never cached is relayed exactly and stays uncached. (GET
// /rate_limit is the proxy's own answer: RateLimitView in
// rate_limit_view_test.cc.)
TEST_F(Cache, UncacheableAnswersAreRelayedAndNeverStored) {
  start();
  struct exchange {
    std::string method, path;
    header_list headers;
    std::string body;
    unsigned status;
    std::string cache_status;
  };
  const std::vector<exchange> exchanges{
      {"GET", "/repos/octo-org/no-such-repo", {}, {}, 404, status_not_stored},
      {"GET", "/repos/octo-org/old-name", {}, {}, 301, status_not_stored},
      {"GET", "/search/issues?q=x", {}, {}, 200, status_bypass},
      {"POST", "/graphql", {{"Content-Type", "application/json"}}, R"({"query":"query { viewer { login } }"})",
       200, status_bypass},
      {"POST", "/repos/octo-org/repo-3/issues", {{"Content-Type", "application/json"}}, R"({"title":"t"})", 201,
       status_bypass},
      {"GET", "/repos/octo-org/repo-3", {{"Range", "bytes=0-9"}}, {}, 200, status_bypass},
  };
  int sent = 0;
  for (const auto& x : exchanges) {
    for (int round = 0; round < 2; ++round) {
      auto headers = x.headers;
      headers.push_back(auth_of(ci_client));
      const auto res = request(proxy_->where(), x.method, x.path, headers, x.body);
      ++sent;
      EXPECT_EQ(res.result_int(), x.status) << x.method << " " << x.path << " round " << round << ": " << res.body();
      EXPECT_EQ(cache_status(res), x.cache_status) << x.method << " " << x.path << " round " << round;
      if (x.status == 301) {
        EXPECT_EQ(res[http::field::location], proxy_->url() + "/repositories/1000");
      }
      if (x.status == 404) {
        EXPECT_EQ(res.body(), direct_get(*fake_, x.path).body());
      }
    }
    // Both rounds went upstream, unconditionally.
    const auto upstream = upstream_requests_for(*fake_, x.path, upstream_token_1);
    EXPECT_EQ(upstream.size(), 2u) << x.method << " " << x.path;
    for (const auto& up : upstream) {
      EXPECT_EQ(logged_header(up, "If-None-Match"), "<absent>") << x.method << " " << x.path;
    }
  }
  ASSERT_TRUE(wait_for_requests_counted(*proxy_, "ci", sent));
  EXPECT_EQ(proxy_->metric("github_proxy_cache_entries", {{"backend", "memory"}}), 0);
  EXPECT_EQ(requests_metric("ci", "hit"), 0);

  // The Range answer was not stored either.
  const auto plain = get(*proxy_, "/repos/octo-org/repo-3", ci_client);
  EXPECT_EQ(plain.result_int(), 200);
  EXPECT_EQ(cache_status(plain), status_stored);
}

// 9. The memory backend is the default; its gauges follow what it holds.
TEST_F(Cache, MemoryBackendIsTheDefaultAndAnswersHeadAndConditionalsFromItsEntries) {
  start();  // no cache: section at all
  const std::string path = "/repos/octo-org/repo-4";
  const auto first = get(*proxy_, path, ci_client);
  ASSERT_EQ(first.result_int(), 200);
  ASSERT_EQ(cache_status(first), status_stored);
  EXPECT_EQ(metric_once_at_least(*proxy_, "github_proxy_cache_entries", {{"backend", "memory"}}, 1), 1);
  EXPECT_GE(proxy_->metric("github_proxy_cache_bytes", {{"backend", "memory"}}),
            static_cast<double>(first.body().size()));
  EXPECT_EQ(proxy_->metric("github_proxy_cache_entries", {{"backend", "redis"}}), 0);
  // The front tier holds the decoded entry too, and says so.
  EXPECT_EQ(metric_once_at_least(*proxy_, "github_proxy_cache_entries", {{"backend", "front_tier"}}, 1), 1);
  EXPECT_GE(proxy_->metric("github_proxy_cache_bytes", {{"backend", "front_tier"}}),
            static_cast<double>(first.body().size()));

  const auto head_answer = head(*proxy_, path, ci_client);
  EXPECT_EQ(head_answer.result_int(), 200);
  EXPECT_TRUE(head_answer.body().empty());
  EXPECT_TRUE(is_hit(head_answer)) << cache_status(head_answer);
  EXPECT_EQ(head_answer[http::field::etag], first[http::field::etag]);

  const auto conditional =
      get(*proxy_, path, ci_client, {{"If-None-Match", std::string(first[http::field::etag])}});
  EXPECT_EQ(conditional.result_int(), 304);
  EXPECT_TRUE(conditional.body().empty());
  EXPECT_TRUE(is_hit(conditional)) << cache_status(conditional);
  EXPECT_EQ(conditional[http::field::etag], first[http::field::etag]);

  ASSERT_TRUE(wait_for_requests_counted(*proxy_, "ci", 3));
  EXPECT_EQ(requests_metric("ci", "miss"), 1);
  EXPECT_EQ(requests_metric("ci", "hit"), 2);
  EXPECT_EQ(requests_metric("ci", "hit", "304", "GET"), 1);
  EXPECT_EQ(credits_saved("ci"), 2);
  EXPECT_EQ(proxy_->metric("github_proxy_cache_entries", {{"backend", "memory"}}), 1) << "HEAD stores nothing";
  const auto usage = usage_of(*fake_, upstream_token_1);
  EXPECT_EQ(usage.credits, 1);
  EXPECT_EQ(usage.status_304, 2);
}

// 10a. serve_stale: on_upstream_error — an outage is answered from the entry.
TEST_F(Cache, ServeStaleAnswersFromTheEntryWhenGithubFails) {
  start(memory_cache_yaml("  serve_stale: on_upstream_error\n"));
  const std::string path = "/repos/octo-org/repo-6";
  const auto first = get(*proxy_, path, ci_client);
  ASSERT_EQ(first.result_int(), 200);
  ASSERT_EQ(cache_status(first), status_stored);

  fault(R"({"path_prefix":"/repos/octo-org/repo-6","count":-1,"status":502})");
  const auto stale = get(*proxy_, path, ci_client);
  EXPECT_EQ(stale.result_int(), 200);
  EXPECT_EQ(stale.body(), first.body());
  EXPECT_NE(cache_status(stale).find("detail=stale"), std::string::npos) << cache_status(stale);
  EXPECT_NE(cache_status(stale).find("fwd-status=502"), std::string::npos) << cache_status(stale);
  EXPECT_EQ(stale[http::field::etag], first[http::field::etag]);

  // Unreachable (the connection is reset) counts as an upstream error too.
  fake_->control("DELETE", "/_fake/faults");
  fault(R"({"path_prefix":"/repos/octo-org/repo-6","count":-1,"reset":true})");
  const auto unreachable = get(*proxy_, path, ci_client);
  EXPECT_EQ(unreachable.result_int(), 200);
  EXPECT_EQ(unreachable.body(), first.body());
  EXPECT_NE(cache_status(unreachable).find("detail=stale"), std::string::npos) << cache_status(unreachable);

  // Once GitHub is back, the entry is revalidated as usual.
  fake_->control("DELETE", "/_fake/faults");
  const auto back = get(*proxy_, path, ci_client);
  EXPECT_EQ(back.result_int(), 200);
  EXPECT_EQ(cache_status(back), status_revalidated);
  EXPECT_EQ(back.body(), first.body());

  ASSERT_TRUE(wait_for_requests_counted(*proxy_, "ci", 4));
  EXPECT_EQ(requests_metric("ci", "stale", "200"), 2);
  EXPECT_EQ(requests_metric("ci", "hit", "200"), 1);

  // A key without an entry has nothing stale to offer: the error is relayed.
  fault(R"({"path_prefix":"/repos/octo-org/repo-7","count":1,"status":503})");
  EXPECT_EQ(get(*proxy_, "/repos/octo-org/repo-7", ci_client).result_int(), 503);
}

// 10b. Without serve_stale, GitHub's error is what the client gets.
TEST_F(Cache, WithoutServeStaleAnUpstreamErrorIsRelayed) {
  start();
  const std::string path = "/repos/octo-org/repo-6";
  const auto first = get(*proxy_, path, ci_client);
  ASSERT_EQ(first.result_int(), 200);
  ASSERT_EQ(cache_status(first), status_stored);

  // A message of GitHub's the proxy cannot make up (its own 503 would say
  // "Service Unavailable" too).
  fault(R"({"path_prefix":"/repos/octo-org/repo-6","count":1,"status":503,"message":"cache_test: GitHub's 503"})");
  const auto failed = get(*proxy_, path, ci_client);
  EXPECT_EQ(failed.result_int(), 503);
  EXPECT_NE(failed.body().find("cache_test: GitHub's 503"), std::string::npos) << failed.body();
  EXPECT_EQ(cache_status(failed).find("detail=stale"), std::string::npos) << cache_status(failed);
  EXPECT_FALSE(is_hit(failed)) << cache_status(failed);

  // The error did not evict the entry.
  const auto back = get(*proxy_, path, ci_client);
  EXPECT_EQ(back.result_int(), 200);
  EXPECT_EQ(cache_status(back), status_revalidated);
  EXPECT_EQ(back.body(), first.body());
  ASSERT_TRUE(wait_for_requests_counted(*proxy_, "ci", 3));
  EXPECT_EQ(requests_metric("ci", "stale"), 0);
}

}  // namespace
}  // namespace ghp_test
