// /metrics (docs/contract.md §8): the exact value of every metric family after a known
// sequence of requests, `promtool check metrics` on the exposition, and
// bounded label cardinality (distinct paths, tokens and methods add no series).
//
// Metrics are recorded after the response is written, so each test polls
// (bounded) until the last expected count appears, then asserts everything.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "github_proxy/credentials/resource.h"
#include "support/harness.h"
#include "support/metrics_helpers.h"

namespace ghp_test {
namespace {

namespace http = boost::beast::http;
using labels = std::map<std::string, std::string>;
using series = std::map<std::string, double>;

const std::string ci_token = "ghpx_metrics_ci_token_0123456789";
const std::string scoped_token = "ghpx_metrics_scoped_token_0123456789";
const std::string budgeted_token = "ghpx_metrics_budgeted_token_0123456789";
const std::string bogus_token = "ghpx_metrics_unknown_token_0123456789";
const std::string upstream_token = "upstream-token-metrics-1";

std::pair<std::string, std::string> auth(const std::string& token) { return {"Authorization", "token " + token}; }

std::vector<test_client> metrics_clients() {
  return {
      {"ci", ci_token, ""},
      {"scoped", scoped_token,
       "    scopes:\n"
       "      - {method: GET|HEAD, path: \"/repos/octo-org/repo-1(/.*)?\"}\n"},
      {"budgeted", budgeted_token, "    upstream_budget: 1/h\n"},
  };
}

// Polls /metrics until `done` holds for a scrape (bounded), returns the last scrape.
template <typename Predicate>
metric_scrape scrape_until(const proxy_process& proxy, Predicate done,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto scrape = scrape_metrics(proxy);
    if (done(scrape) || std::chrono::steady_clock::now() > deadline) return scrape;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling the counters
  }
}

// The proxy counts a request after its answer is written, and a scrape reads
// one family after another, so a scrape can hold a request in one family and
// not yet in the next: wait until every per-request family holds all `n`.
bool every_request_counted(const metric_scrape& s, double n) {
  return sum_of(s, "github_proxy_requests_total") >= n &&
         sum_of(s, "github_proxy_request_duration_seconds_count") >= n;
}

// Replaces a file atomically (the reloader never sees half of it).
void replace_file(const std::string& path, const std::string& content) {
  const auto tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
  }
  std::filesystem::rename(tmp, path);
}

// No label value may carry a token, a path or a query (docs/contract.md §8: bounded labels).
void expect_no_leaks(const metric_scrape& scrape, const std::vector<std::string>& secrets) {
  for (const auto& s : scrape.samples) {
    for (const auto& [name, value] : s.labels) {
      EXPECT_EQ(value.find('/'), std::string::npos) << series_key(s);
      EXPECT_EQ(value.find('?'), std::string::npos) << series_key(s);
      EXPECT_EQ(value.find('&'), std::string::npos) << series_key(s);
      EXPECT_EQ(value.find("ghpx_"), std::string::npos) << series_key(s);
      for (const auto& secret : secrets) EXPECT_EQ(value.find(secret), std::string::npos) << series_key(s);
    }
  }
}

// The label names each family may have (docs/contract.md §8).
void expect_label_names(const metric_scrape& scrape) {
  const std::map<std::string, std::set<std::string>> allowed{
      {"github_proxy_requests_total", {"client", "method", "code", "cache"}},
      {"github_proxy_request_duration_seconds_bucket", {"cache", "le"}},
      {"github_proxy_request_duration_seconds_count", {"cache"}},
      {"github_proxy_request_duration_seconds_sum", {"cache"}},
      {"github_proxy_upstream_requests_total", {"credential", "resource", "code"}},
      {"github_proxy_upstream_duration_seconds_bucket", {"resource", "le"}},
      {"github_proxy_upstream_duration_seconds_count", {"resource"}},
      {"github_proxy_upstream_duration_seconds_sum", {"resource"}},
      {"github_proxy_rate_limit_remaining", {"credential", "resource"}},
      {"github_proxy_rate_limit_limit", {"credential", "resource"}},
      {"github_proxy_rate_limit_used", {"credential", "resource"}},
      {"github_proxy_rate_limit_reset_timestamp_seconds", {"credential", "resource"}},
      {"github_proxy_credential_state", {"credential", "state"}},
      {"github_proxy_secondary_points_used", {"credential", "kind"}},
      {"github_proxy_secondary_points_limit", {"credential", "kind"}},
      {"github_proxy_rate_limit_credits_saved_total", {"client"}},
      {"github_proxy_rejected_requests_total", {"client", "reason"}},
      {"github_proxy_client_upstream_credits_total", {"client"}},
      {"github_proxy_cache_entries", {"backend"}},
      {"github_proxy_cache_bytes", {"backend"}},
      {"github_proxy_cache_backend_errors_total", {"backend", "op"}},
      {"github_proxy_registry_clients", {}},
      {"github_proxy_registry_reloads_total", {"result"}},
      {"github_proxy_registry_last_success_timestamp_seconds", {}},
      {"github_proxy_secret_reloads_total", {"result"}},
      {"github_proxy_build_info", {"version"}},
      {"github_proxy_etag_derivations_total", {"result"}},
      {"github_proxy_client_connections", {}},
      {"github_proxy_direct_demand_credits_total", {"client", "resource"}},
      {"github_proxy_one_token_limit", {}},
  };
  for (const auto& s : scrape.samples) {
    const auto it = allowed.find(s.name);
    if (it == allowed.end()) {
      ADD_FAILURE() << "unexpected metric " << series_key(s);
      continue;
    }
    std::set<std::string> names;
    for (const auto& [k, v] : s.labels) names.insert(k);
    EXPECT_EQ(names, it->second) << series_key(s);
  }
}

void expect_promtool_passes(const std::string& exposition, const temp_dir& dir) {
  const auto promtool = find_program("promtool");
  // Not a skip: docs/contract.md §8 requires the check, so a machine without promtool fails.
  ASSERT_TRUE(promtool.has_value()) << "promtool is not installed (Debian: apt-get install prometheus)";
  const auto result = promtool_check_metrics(*promtool, exposition, dir);
  EXPECT_EQ(result.exit_code, 0) << "promtool check metrics:\n" << result.output << "\n--- exposition:\n"
                                 << exposition;
  EXPECT_EQ(result.output, "") << "promtool check metrics reported lint problems:\n" << result.output;
}


std::int64_t header_int(const http_response& res, const std::string& name) {
  const auto it = res.find(name);
  if (it == res.end()) throw std::runtime_error("no " + name + " in the response");
  return std::stoll(std::string(it->value()));
}

// ---- every family, exactly ----------------------------------------------------

TEST(MetricsExact, EveryFamilyAfterAKnownSequence) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  opts.upstream_token = upstream_token;
  opts.clients = metrics_clients();
  proxy_process proxy(dir, opts);

  // Before any request: the families that exist from the start.
  double initial_load = 0;
  {
    const auto idle = scrape_metrics(proxy);
    EXPECT_EQ(series_of(idle, "github_proxy_requests_total"), series{});
    EXPECT_EQ(series_of(idle, "github_proxy_registry_clients"), (series{{"{}", 3}}));
    EXPECT_EQ(series_of(idle, "github_proxy_registry_reloads_total"),
              (series{{label_key({{"result", "success"}}), 0}, {label_key({{"result", "error"}}), 0}}));
    EXPECT_EQ(series_of(idle, "github_proxy_credential_state"),
              (series{{label_key({{"credential", "upstream-1"}, {"state", "ok"}}), 1},
                      {label_key({{"credential", "upstream-1"}, {"state", "exhausted"}}), 0},
                      {label_key({{"credential", "upstream-1"}, {"state", "cooling"}}), 0},
                      {label_key({{"credential", "upstream-1"}, {"state", "broken"}}), 0}}));
    EXPECT_EQ(series_of(idle, "github_proxy_rate_limit_remaining"), series{}) << "no bucket observed yet";
    EXPECT_EQ(series_of(idle, "github_proxy_cache_entries"),
              (series{{label_key({{"backend", "memory"}}), 0}, {label_key({{"backend", "front_tier"}}), 0}}));
    EXPECT_EQ(series_of(idle, "github_proxy_secret_reloads_total"),
              (series{{label_key({{"result", "ok"}}), 0}, {label_key({{"result", "error"}}), 0}}));
    initial_load = sum_of(idle, "github_proxy_registry_last_success_timestamp_seconds");
    EXPECT_GT(initial_load, 1.7e9) << "the start-up load is a success";
  }

  // 1-2. The same resource twice: a miss (upstream 200), then a hit (upstream 304).
  ASSERT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-1", {auth(ci_token)}).result_int(), 200);
  const auto hit = request(proxy.where(), "GET", "/repos/octo-org/repo-1", {auth(ci_token)});
  ASSERT_EQ(hit.result_int(), 200);
  ASSERT_NE(hit["Cache-Status"].find("revalidated"), std::string::npos) << hit["Cache-Status"];
  // 3. Outside the client's scopes.
  ASSERT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-2", {auth(scoped_token)}).result_int(), 403);
  // 4. Unauthenticated: no token, and a token the registry does not know.
  ASSERT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-1").result_int(), 401);
  ASSERT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-1?secretquery=1", {auth(bogus_token)}).result_int(),
            401);
  // 5. Malformed: a path that climbs above the root (known client), and bytes that are not HTTP.
  ASSERT_EQ(request(proxy.where(), "GET", "/../etc/passwd", {auth(ci_token)}).result_int(), 400);
  {
    http_connection raw(proxy.where());
    ASSERT_EQ(raw.send_raw("NOT HTTP AT ALL\r\n\r\n").result_int(), 400);
  }
  // 6. Budget of one credit per hour: the first miss spends it, the next is refused.
  ASSERT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-3", {auth(budgeted_token)}).result_int(), 200);
  ASSERT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-4", {auth(budgeted_token)}).result_int(), 429);
  // 7. A write: bypasses the cache.
  ASSERT_EQ(request(proxy.where(), "POST", "/repos/octo-org/repo-1/issues",
                    {auth(ci_token), {"Content-Type", "application/json"}}, R"({"title":"metrics"})")
                .result_int(),
            201);
  // 8. Search: bypasses the cache, rate-limit resource `search`.
  const auto search = request(proxy.where(), "GET", "/search/issues?q=secretquery", {auth(ci_token)});
  ASSERT_EQ(search.result_int(), 200) << search.body();
  // 9. Three concurrent reads of one resource: one upstream request, two
  // coalesced. The upstream request waits at the fake's gate until the proxy
  // has read all three.
  fake.control("POST", "/_fake/faults", R"({"path_prefix":"/repos/octo-org/repo-5","count":1,"gate":"slow"})");
  std::vector<http_connection> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back(proxy.where());
    http_request req{http::verb::get, "/repos/octo-org/repo-5", 11};
    req.set(http::field::authorization, auth(ci_token).second);
    readers.back().write(std::move(req));
  }
  const bool leader_held = poll_until([&] { return fake.held_at("slow") == 1; }, std::chrono::seconds(10));
  const bool all_read = poll_until([&] { return loopback_connections_to(proxy.port()).unread == 0; },
                                   std::chrono::seconds(10));
  EXPECT_EQ(fake.release("slow"), leader_held ? 1 : 0);
  ASSERT_TRUE(leader_held) << "the upstream request never reached the fake's gate";
  ASSERT_TRUE(all_read) << "the proxy did not read the three requests";
  std::vector<http_response> slow;
  for (auto& reader : readers) slow.push_back(reader.read_response());
  int coalesced_answers = 0;
  for (const auto& res : slow) {
    ASSERT_EQ(res.result_int(), 200);
    if (res["Cache-Status"].find("coalesced") != std::string::npos) ++coalesced_answers;
  }
  ASSERT_EQ(coalesced_answers, 2) << "the followers did not join the leader's flight";

  // What GitHub saw: 6 requests with the pool's token.
  const auto fake_counters = fake.counters();
  EXPECT_EQ(fake_counters.at("total").at("requests").to_number<int>(), 6) << fake_counters;

  constexpr double requests_answered = 14;
  const auto m =
      scrape_until(proxy, [&](const metric_scrape& s) { return every_request_counted(s, requests_answered); });

  // github_proxy_requests_total{client,method,code,cache}
  auto req = [](std::string client, std::string method, std::string code, std::string cache) {
    return label_key({{"client", client}, {"method", method}, {"code", code}, {"cache", cache}});
  };
  EXPECT_EQ(series_of(m, "github_proxy_requests_total"),
            (series{{req("ci", "GET", "200", "miss"), 2},
                    {req("ci", "GET", "200", "hit"), 1},
                    {req("ci", "GET", "200", "coalesced"), 2},
                    {req("ci", "GET", "200", "bypass"), 1},
                    {req("ci", "POST", "201", "bypass"), 1},
                    {req("ci", "GET", "400", "rejected"), 1},
                    {req("scoped", "GET", "403", "rejected"), 1},
                    {req("unauthenticated", "GET", "401", "rejected"), 2},
                    {req("unauthenticated", "OTHER", "400", "rejected"), 1},
                    {req("budgeted", "GET", "200", "miss"), 1},
                    {req("budgeted", "GET", "429", "rejected"), 1}}));

  // github_proxy_request_duration_seconds{cache}: one observation per answer.
  auto cache = [](std::string c) { return label_key({{"cache", c}}); };
  EXPECT_EQ(series_of(m, "github_proxy_request_duration_seconds_count"),
            (series{{cache("hit"), 1},
                    {cache("miss"), 3},
                    {cache("changed"), 0},
                    {cache("coalesced"), 2},
                    {cache("bypass"), 2},
                    {cache("stale"), 0},
                    {cache("rejected"), 6},
                    {cache("fresh"), 0}}));
  for (const auto& s : m.samples) {
    if (s.name == "github_proxy_request_duration_seconds_bucket" && s.labels.at("le") == "+Inf") {
      EXPECT_EQ(s.value, series_of(m, "github_proxy_request_duration_seconds_count")[cache(s.labels.at("cache"))])
          << series_key(s);
    }
  }

  // github_proxy_upstream_requests_total{credential,resource,code}
  auto up = [](std::string resource, std::string code) {
    return label_key({{"credential", "upstream-1"}, {"resource", resource}, {"code", code}});
  };
  EXPECT_EQ(series_of(m, "github_proxy_upstream_requests_total"),
            (series{{up("core", "200"), 3}, {up("core", "304"), 1}, {up("core", "201"), 1}, {up("search", "200"), 1}}));

  // github_proxy_upstream_duration_seconds{resource}: one series per resource from the start.
  series upstream_durations;
  for (std::size_t i = 0; i < github_proxy::credentials::resource_count; ++i) {
    const std::string r(github_proxy::credentials::to_string(static_cast<github_proxy::credentials::resource>(i)));
    upstream_durations[label_key({{"resource", r}})] = r == "core" ? 5 : r == "search" ? 1 : 0;
  }
  EXPECT_EQ(series_of(m, "github_proxy_upstream_duration_seconds_count"), upstream_durations);

  // github_proxy_rate_limit_*{credential,resource}: GitHub's X-RateLimit-* of the
  // last answer of each bucket (repo-5 for core, the search for search).
  auto bucket = [](std::string resource) { return label_key({{"credential", "upstream-1"}, {"resource", resource}}); };
  const auto& last_core = slow[0];
  EXPECT_EQ(header_int(last_core, "X-RateLimit-Remaining"), 4996);  // 4 credits: repo-1, repo-3, the POST, repo-5
  EXPECT_EQ(header_int(search, "X-RateLimit-Remaining"), 29);
  EXPECT_EQ(series_of(m, "github_proxy_rate_limit_remaining"),
            (series{{bucket("core"), double(header_int(last_core, "X-RateLimit-Remaining"))},
                    {bucket("search"), double(header_int(search, "X-RateLimit-Remaining"))}}));
  EXPECT_EQ(series_of(m, "github_proxy_rate_limit_limit"),
            (series{{bucket("core"), double(header_int(last_core, "X-RateLimit-Limit"))},
                    {bucket("search"), double(header_int(search, "X-RateLimit-Limit"))}}));
  EXPECT_EQ(series_of(m, "github_proxy_rate_limit_used"),
            (series{{bucket("core"), double(header_int(last_core, "X-RateLimit-Used"))},
                    {bucket("search"), double(header_int(search, "X-RateLimit-Used"))}}));
  EXPECT_EQ(series_of(m, "github_proxy_rate_limit_reset_timestamp_seconds"),
            (series{{bucket("core"), double(header_int(last_core, "X-RateLimit-Reset"))},
                    {bucket("search"), double(header_int(search, "X-RateLimit-Reset"))}}));
  // …which is also what the fake's own books say for the pool's token.
  {
    const auto res = request(fake.where(), "GET", "/rate_limit", {auth(upstream_token)});
    ASSERT_EQ(res.result_int(), 200);
    const auto core = boost::json::parse(res.body()).at("resources").at("core");
    EXPECT_EQ(series_of(m, "github_proxy_rate_limit_used")[bucket("core")], core.at("used").to_number<double>());
    EXPECT_EQ(series_of(m, "github_proxy_rate_limit_remaining")[bucket("core")],
              core.at("remaining").to_number<double>());
    EXPECT_EQ(series_of(m, "github_proxy_rate_limit_reset_timestamp_seconds")[bucket("core")],
              core.at("reset").to_number<double>());
  }

  // github_proxy_credential_state{credential,state}
  EXPECT_EQ(series_of(m, "github_proxy_credential_state"),
            (series{{label_key({{"credential", "upstream-1"}, {"state", "ok"}}), 1},
                    {label_key({{"credential", "upstream-1"}, {"state", "exhausted"}}), 0},
                    {label_key({{"credential", "upstream-1"}, {"state", "cooling"}}), 0},
                    {label_key({{"credential", "upstream-1"}, {"state", "broken"}}), 0}}));

  // github_proxy_secondary_points_{used,limit}{credential,kind}: the six
  // requests sent upstream within the minute, the POST at 5 points and one
  // content creation; GitHub's documented limits.
  auto kind = [](std::string k) { return label_key({{"credential", "upstream-1"}, {"kind", k}}); };
  EXPECT_EQ(series_of(m, "github_proxy_secondary_points_used"),
            (series{{kind("rest_points"), 1 + 1 + 1 + 1 + 5 + 1},
                    {kind("graphql_points"), 0},
                    {kind("content_per_minute"), 1},
                    {kind("content_per_hour"), 1}}));
  EXPECT_EQ(series_of(m, "github_proxy_secondary_points_limit"),
            (series{{kind("rest_points"), 900},
                    {kind("graphql_points"), 2000},
                    {kind("content_per_minute"), 80},
                    {kind("content_per_hour"), 500}}));

  // github_proxy_direct_demand_credits_total{client,resource}: what one shared
  // token would have paid (docs/contract.md §8 "Status page"): the hit and the
  // coalesced reads too, the scope refusal (the token would have sent it);
  // not the budget refusal (the client sends it again after Retry-After),
  // nor the unauthenticated or malformed requests.
  auto demand = [](std::string client, std::string resource) {
    return label_key({{"client", client}, {"resource", resource}});
  };
  EXPECT_EQ(series_of(m, "github_proxy_direct_demand_credits_total"),
            (series{{demand("ci", "core"), 6},
                    {demand("ci", "search"), 1},
                    {demand("scoped", "core"), 1},
                    {demand("budgeted", "core"), 1}}));
  EXPECT_EQ(series_of(m, "github_proxy_one_token_limit"), (series{{"{}", 5000}}));

  // github_proxy_rate_limit_credits_saved_total{client}: the 304 and the two coalesced.
  EXPECT_EQ(series_of(m, "github_proxy_rate_limit_credits_saved_total"),
            (series{{label_key({{"client", "ci"}}), 3}}));

  // github_proxy_rejected_requests_total{client,reason}
  auto rej = [](std::string client, std::string reason) {
    return label_key({{"client", client}, {"reason", reason}});
  };
  EXPECT_EQ(series_of(m, "github_proxy_rejected_requests_total"),
            (series{{rej("scoped", "scope"), 1},
                    {rej("unauthenticated", "unauthenticated"), 2},
                    {rej("ci", "bad_request"), 1},
                    {rej("unauthenticated", "bad_request"), 1},
                    {rej("budgeted", "budget"), 1}}));

  // github_proxy_client_upstream_credits_total{client}: every upstream answer but a 304.
  EXPECT_EQ(series_of(m, "github_proxy_client_upstream_credits_total"),
            (series{{label_key({{"client", "ci"}}), 4}, {label_key({{"client", "budgeted"}}), 1}}));

  // github_proxy_cache_entries / _bytes{backend}: repo-1, repo-3, repo-5,
  // in the memory backend and, decoded, in the front tier in front of it.
  EXPECT_EQ(series_of(m, "github_proxy_cache_entries"),
            (series{{label_key({{"backend", "memory"}}), 3}, {label_key({{"backend", "front_tier"}}), 3}}));
  const auto bytes = series_of(m, "github_proxy_cache_bytes");
  ASSERT_EQ(bytes.size(), 2u);
  for (const auto& tier : {"memory", "front_tier"}) {
    ASSERT_TRUE(bytes.contains(label_key({{"backend", tier}}))) << tier;
    EXPECT_GT(bytes.at(label_key({{"backend", tier}})), 3 * 6000) << tier << ": three ~6.8 KB repository objects";
  }
  // github_proxy_cache_backend_errors_total: Redis only.
  EXPECT_EQ(series_of(m, "github_proxy_cache_backend_errors_total"), series{});

  // github_proxy_build_info{version}
  EXPECT_EQ(series_of(m, "github_proxy_build_info"), (series{{label_key({{"version", GITHUB_PROXY_VERSION}}), 1}}));
  // github_proxy_etag_derivations_total{result}: one credential, so nothing derived.
  EXPECT_EQ(series_of(m, "github_proxy_etag_derivations_total"),
            (series{{label_key({{"result", "not_modified"}}), 0}, {label_key({{"result", "modified"}}), 0}}));

  // Families and their types (docs/contract.md §8).
  const std::map<std::string, std::string> types{
      {"github_proxy_requests_total", "counter"},
      {"github_proxy_request_duration_seconds", "histogram"},
      {"github_proxy_upstream_requests_total", "counter"},
      {"github_proxy_upstream_duration_seconds", "histogram"},
      {"github_proxy_rate_limit_remaining", "gauge"},
      {"github_proxy_rate_limit_limit", "gauge"},
      {"github_proxy_rate_limit_used", "gauge"},
      {"github_proxy_rate_limit_reset_timestamp_seconds", "gauge"},
      {"github_proxy_credential_state", "gauge"},
      {"github_proxy_secondary_points_used", "gauge"},
      {"github_proxy_secondary_points_limit", "gauge"},
      {"github_proxy_rate_limit_credits_saved_total", "counter"},
      {"github_proxy_rejected_requests_total", "counter"},
      {"github_proxy_client_upstream_credits_total", "counter"},
      {"github_proxy_cache_entries", "gauge"},
      {"github_proxy_cache_bytes", "gauge"},
      {"github_proxy_registry_clients", "gauge"},
      {"github_proxy_registry_reloads_total", "counter"},
      {"github_proxy_registry_last_success_timestamp_seconds", "gauge"},
      {"github_proxy_secret_reloads_total", "counter"},
      {"github_proxy_build_info", "gauge"},
      {"github_proxy_etag_derivations_total", "counter"},
  };
  for (const auto& [name, type] : types) {
    const auto it = m.types.find(name);
    ASSERT_NE(it, m.types.end()) << name << " is not exported";
    EXPECT_EQ(it->second, type) << name;
  }
  expect_label_names(m);
  expect_no_leaks(m, {ci_token, scoped_token, budgeted_token, bogus_token, upstream_token, "octo-org", "repo-",
                      "secretquery", "passwd", "issues"});
  expect_promtool_passes(m.text, dir);

  // 10. Registry reloads: a good file (one more client), then a broken one.
  auto clients = metrics_clients();
  clients.push_back({"late", "ghpx_metrics_late_token_0123456789", ""});
  replace_file(proxy.registry_path(), registry_yaml(clients));
  auto reloaded = scrape_until(proxy, [](const metric_scrape& s) {
    return series_of(s, "github_proxy_registry_reloads_total")[label_key({{"result", "success"}})] >= 1;
  });
  EXPECT_EQ(series_of(reloaded, "github_proxy_registry_reloads_total"),
            (series{{label_key({{"result", "success"}}), 1}, {label_key({{"result", "error"}}), 0}}));
  EXPECT_EQ(series_of(reloaded, "github_proxy_registry_clients"), (series{{"{}", 4}}));
  const double reload_time = sum_of(reloaded, "github_proxy_registry_last_success_timestamp_seconds");
  EXPECT_GT(reload_time, initial_load) << "a successful reload moves the last-success time";

  replace_file(proxy.registry_path(), "version: 1\nclients:\n  - name: [unterminated\n");
  reloaded = scrape_until(proxy, [](const metric_scrape& s) {
    return series_of(s, "github_proxy_registry_reloads_total")[label_key({{"result", "error"}})] >= 1;
  });
  EXPECT_EQ(series_of(reloaded, "github_proxy_registry_reloads_total"),
            (series{{label_key({{"result", "success"}}), 1}, {label_key({{"result", "error"}}), 1}}));
  EXPECT_EQ(series_of(reloaded, "github_proxy_registry_clients"), (series{{"{}", 4}})) << "the previous registry stays";
  EXPECT_EQ(sum_of(reloaded, "github_proxy_registry_last_success_timestamp_seconds"), reload_time)
      << "a failed reload is no success";
  EXPECT_EQ(series_of(reloaded, "github_proxy_secret_reloads_total"),
            series_of(m, "github_proxy_secret_reloads_total"));
  // Nothing else moved.
  EXPECT_EQ(series_of(reloaded, "github_proxy_requests_total"), series_of(m, "github_proxy_requests_total"));
}

// github_proxy_cache_backend_errors_total{backend,op}: a Redis nobody listens
// on fails every lookup, every store and every budget operation (the shared
// budget ledger lives in the Redis of the cache); the requests go on uncached,
// budgets counted in the process.
TEST(MetricsExact, CacheBackendErrorsWithAnUnreachableRedis) {
  temp_dir dir;
  fake_github fake(dir);
  const refused_port nothing_listens;
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  opts.upstream_token = upstream_token;
  opts.clients = metrics_clients();
  opts.extra_yaml = "cache:\n  backend: redis\n  redis:\n    url: redis://127.0.0.1:" +
                    std::to_string(nothing_listens.port()) + "/0\n    key_prefix: \"ghp-metrics:\"\n    timeout: 200ms\n";
  proxy_process proxy(dir, opts);

  auto errors = [](std::string op) { return label_key({{"backend", "redis"}, {"op", op}}); };
  // The secondary-limit exchange runs every second on its own: it fails as
  // often as time passes, so only its presence and growth are pinned.
  const auto without_exchange = [&](series all, double& exchange_errors) {
    const auto it = all.find(errors("secondary_exchange"));
    exchange_errors = it == all.end() ? -1 : it->second;
    if (it != all.end()) all.erase(it);
    return all;
  };
  double exchange_before = 0;
  EXPECT_EQ(without_exchange(series_of(scrape_metrics(proxy), "github_proxy_cache_backend_errors_total"),
                             exchange_before),
            (series{{errors("get"), 0},
                    {errors("put"), 0},
                    {errors("erase"), 0},
                    {errors("budget_check"), 0},
                    {errors("budget_charge"), 0}}));

  // Each GET: the lookup fails (a miss), GitHub answers 200, the store fails.
  for (int i = 0; i < 2; ++i) {
    const auto res = request(proxy.where(), "GET", "/repos/octo-org/repo-1", {auth(ci_token)});
    ASSERT_EQ(res.result_int(), 200) << res.body();
  }
  // A budget of one credit: check and charge fail in Redis, the process'
  // ledger still refuses the second miss.
  ASSERT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-3", {auth(budgeted_token)}).result_int(), 200);
  ASSERT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-4", {auth(budgeted_token)}).result_int(), 429);

  const auto m = scrape_until(proxy, [&](const metric_scrape& s) {
    const auto exchange = series_of(s, "github_proxy_cache_backend_errors_total")[errors("secondary_exchange")];
    return every_request_counted(s, 4) && exchange >= 1;
  });
  double exchange_after = 0;
  EXPECT_EQ(without_exchange(series_of(m, "github_proxy_cache_backend_errors_total"), exchange_after),
            (series{{errors("get"), 4},
                    {errors("put"), 3},
                    {errors("erase"), 0},
                    {errors("budget_check"), 2},
                    {errors("budget_charge"), 1}}));
  EXPECT_GE(exchange_before, 0) << "the exchange's series exists from the start";
  EXPECT_GE(exchange_after, 1) << "an unreachable Redis fails the exchange";
  auto req = [](std::string client, std::string code, std::string cache) {
    return label_key({{"client", client}, {"method", "GET"}, {"code", code}, {"cache", cache}});
  };
  EXPECT_EQ(series_of(m, "github_proxy_requests_total"),
            (series{{req("ci", "200", "miss"), 2}, {req("budgeted", "200", "miss"), 1},
                    {req("budgeted", "429", "rejected"), 1}}));
  EXPECT_EQ(series_of(m, "github_proxy_rejected_requests_total"),
            (series{{label_key({{"client", "budgeted"}, {"reason", "budget"}}), 1}}));
  EXPECT_EQ(series_of(m, "github_proxy_upstream_requests_total"),
            (series{{label_key({{"credential", "upstream-1"}, {"resource", "core"}, {"code", "200"}}), 3}}));
  EXPECT_EQ(series_of(m, "github_proxy_client_upstream_credits_total"),
            (series{{label_key({{"client", "ci"}}), 2}, {label_key({{"client", "budgeted"}}), 1}}));
  EXPECT_EQ(series_of(m, "github_proxy_rate_limit_credits_saved_total"), series{});
  // Nothing Redis refused is kept in the front tier either.
  EXPECT_EQ(series_of(m, "github_proxy_cache_entries"),
            (series{{label_key({{"backend", "redis"}}), 0}, {label_key({{"backend", "front_tier"}}), 0}}));
  EXPECT_EQ(series_of(m, "github_proxy_cache_bytes"),
            (series{{label_key({{"backend", "redis"}}), 0}, {label_key({{"backend", "front_tier"}}), 0}}));
  EXPECT_EQ(m.types.at("github_proxy_cache_backend_errors_total"), "counter");
  expect_label_names(m);
  expect_promtool_passes(m.text, dir);
}

// ---- promtool ----------------------------------------------------------------

TEST(MetricsPromtool, ExpositionPassesCheckMetrics) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  opts.upstream_token = upstream_token;
  opts.clients = metrics_clients();
  proxy_process proxy(dir, opts);

  // Idle: only the families created at start-up.
  expect_promtool_passes(scrape_metrics(proxy).text, dir);

  // With every kind of series present.
  request(proxy.where(), "GET", "/repos/octo-org/repo-1", {auth(ci_token)});
  request(proxy.where(), "GET", "/repos/octo-org/repo-1", {auth(ci_token)});
  request(proxy.where(), "GET", "/repos/octo-org/repo-2", {auth(scoped_token)});
  request(proxy.where(), "GET", "/repos/octo-org/repo-1", {auth(bogus_token)});
  request(proxy.where(), "GET", "/search/issues?q=x", {auth(ci_token)});
  request(proxy.where(), "GET", "/repos/octo-org/does-not-exist", {auth(ci_token)});
  const auto m = scrape_until(proxy, [](const metric_scrape& s) { return every_request_counted(s, 6); });
  EXPECT_EQ(sum_of(m, "github_proxy_requests_total"), 6);
  expect_promtool_passes(m.text, dir);
}

// promtool itself must catch what it is here to catch (so a passing check means something).
TEST(MetricsPromtool, RejectsABrokenExposition) {
  temp_dir dir;
  const auto promtool = find_program("promtool");
  ASSERT_TRUE(promtool.has_value()) << "promtool is not installed (Debian: apt-get install prometheus)";
  const auto broken = promtool_check_metrics(*promtool, "# TYPE x counter\nx{a=\"1\" 1\n", dir);
  EXPECT_NE(broken.exit_code, 0) << broken.output;
  const auto lint = promtool_check_metrics(*promtool, "# HELP x_requests Requests.\n# TYPE x_requests counter\nx_requests 1\n", dir);
  EXPECT_NE(lint.exit_code, 0) << "a counter without _total is a lint problem: " << lint.output;
}

// ---- bounded label cardinality ------------------------------------------------

// Requests of four kinds, each with something distinct every time: a path
// (and query) served upstream, an unknown token with a made-up method, a
// path outside a client's scopes, and a path that cannot be normalised.
void send_distinct_requests(const proxy_process& proxy, int first, int count, int connections) {
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int c = 0; c < connections; ++c) {
    workers.emplace_back([&, c] {
      try {
        http_connection conn(proxy.where());
        for (int i = first + c; i < first + count; i += connections) {
          http_request req;
          req.version(11);
          unsigned expected = 0;
          const auto n = std::to_string(i);
          switch (i % 4) {
            case 0:
              req.method(http::verb::get);
              req.target("/repos/octo-org/repo-7/contents/dir" + n + "/file.txt?ref=branch-" + n);
              req.set(http::field::authorization, "token " + ci_token);
              expected = 200;
              break;
            case 1:
              req.method_string("PROBE" + n);
              req.target("/repos/octo-org/repo-" + n + "?token=" + n);
              req.set(http::field::authorization, "token ghpx_unknown_" + n);
              expected = 401;
              break;
            case 2:
              req.method(http::verb::get);
              req.target("/repos/octo-org/repo-2/issues/" + n);
              req.set(http::field::authorization, "token " + scoped_token);
              expected = 403;
              break;
            default:
              req.method(http::verb::get);
              req.target("/../secret-" + n);
              req.set(http::field::authorization, "token " + ci_token);
              expected = 400;
              break;
          }
          const auto res = conn.send(std::move(req));
          if (res.result_int() != expected && failures++ < 5) {
            ADD_FAILURE() << "request " << i << ": " << res.result_int() << " instead of " << expected << ": "
                          << res.body();
          }
        }
      } catch (const std::exception& e) {
        ++failures;
        ADD_FAILURE() << "connection " << c << ": " << e.what();
      }
    });
  }
  for (auto& w : workers) w.join();
  ASSERT_EQ(failures.load(), 0);
}

std::set<std::string> series_keys(const metric_scrape& scrape) {
  std::set<std::string> keys;
  for (const auto& s : scrape.samples) keys.insert(series_key(s));
  return keys;
}

TEST(MetricsCardinality, TenThousandDistinctPathsTokensAndMethodsAddNoSeries) {
  temp_dir dir;
  fake_github::options fake_opts;
  // The fake never rate-limits this test: 2,500 requests a minute on one
  // token, secondary limits off on both sides (they have their own tests).
  fake_opts.extra_args = {"--core-limit", "1000000", "--secondary-rest-points", "0"};
  fake_github fake(dir, fake_opts);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  opts.upstream_token = upstream_token;
  opts.clients = metrics_clients();
  opts.extra_yaml = "pool:\n  secondary_limits:\n    rest_points_per_minute: 0\n";
  proxy_process proxy(dir, opts);

  // Warm-up: every kind once a few times, so that each series exists.
  constexpr int warm_up = 16;
  send_distinct_requests(proxy, 0, warm_up, 1);
  const auto before = scrape_until(proxy, [](const metric_scrape& s) { return every_request_counted(s, warm_up); });
  ASSERT_EQ(sum_of(before, "github_proxy_requests_total"), warm_up);

  constexpr int distinct = 10000;
  send_distinct_requests(proxy, warm_up, distinct, 2);
  const auto after =
      scrape_until(proxy, [](const metric_scrape& s) { return every_request_counted(s, warm_up + distinct); });
  EXPECT_EQ(sum_of(after, "github_proxy_requests_total"), warm_up + distinct);

  // The same series, only the values moved.
  const auto keys_before = series_keys(before);
  const auto keys_after = series_keys(after);
  EXPECT_EQ(keys_after.size(), keys_before.size());
  std::vector<std::string> added, removed;
  std::set_difference(keys_after.begin(), keys_after.end(), keys_before.begin(), keys_before.end(),
                      std::back_inserter(added));
  std::set_difference(keys_before.begin(), keys_before.end(), keys_after.begin(), keys_after.end(),
                      std::back_inserter(removed));
  EXPECT_TRUE(added.empty()) << "series added: " << ::testing::PrintToString(added);
  EXPECT_TRUE(removed.empty()) << "series removed: " << ::testing::PrintToString(removed);

  auto req = [](std::string client, std::string method, std::string code, std::string cache) {
    return label_key({{"client", client}, {"method", method}, {"code", code}, {"cache", cache}});
  };
  constexpr double per_kind = (warm_up + distinct) / 4.0;
  EXPECT_EQ(series_of(after, "github_proxy_requests_total"),
            (series{{req("ci", "GET", "200", "miss"), per_kind},
                    {req("unauthenticated", "OTHER", "401", "rejected"), per_kind},
                    {req("scoped", "GET", "403", "rejected"), per_kind},
                    {req("ci", "GET", "400", "rejected"), per_kind}}));
  EXPECT_EQ(series_of(after, "github_proxy_rejected_requests_total"),
            (series{{label_key({{"client", "unauthenticated"}, {"reason", "unauthenticated"}}), per_kind},
                    {label_key({{"client", "scoped"}, {"reason", "scope"}}), per_kind},
                    {label_key({{"client", "ci"}, {"reason", "bad_request"}}), per_kind}}));
  EXPECT_EQ(series_of(after, "github_proxy_upstream_requests_total"),
            (series{{label_key({{"credential", "upstream-1"}, {"resource", "core"}, {"code", "200"}}), per_kind}}));
  expect_label_names(after);
  expect_no_leaks(after, {ci_token, scoped_token, "ghpx_unknown_", "PROBE", "octo-org", "repo-", "secret-",
                          "branch-", "file.txt", "issues"});
  expect_promtool_passes(after.text, dir);
}

}  // namespace
}  // namespace ghp_test
