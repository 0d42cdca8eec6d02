// Helpers for the cache integration tests (docs/contract.md §6, issue 5): the
// Cache-Status of an answer, the fake GitHub's per-token counters and
// request log, metrics that are counted just after the response is written,
// and the `cache:` config section. Header-only, used by
// tests/integration/cache_test.cc and cache_redis_test.cc.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>

#include "support/harness.h"

namespace ghp_test::cache_support {

using header_list = std::vector<std::pair<std::string, std::string>>;
using labels = std::map<std::string, std::string>;

// The proxy's upstream token in the harness' default config, and another one
// for a second replica: ETags on GitHub (and in the fake) are per token.
inline const std::string upstream_token_1 = "upstream-token-1";
inline const std::string upstream_token_2 = "upstream-token-2";
// Reference fetches straight from the fake use a token of their own, so the
// proxy's tokens' counters only show what the proxy spent. Bodies do not
// depend on the token; ETags do.
inline const std::string direct_token = "direct-reader-token";

inline const test_client ci_client{"ci", "ghpx_test_ci_token", ""};
inline const test_client other_client{"other", "ghpx_test_other_token", ""};

inline std::pair<std::string, std::string> auth_of(const test_client& client) {
  return {"Authorization", "token " + client.token};
}

// RFC 9211 values the proxy sends (docs/contract.md §5 "Cache status").
inline const std::string status_stored = "github-proxy; fwd=miss; stored";
inline const std::string status_revalidated = "github-proxy; hit; detail=revalidated";
inline const std::string status_changed = "github-proxy; fwd=stale; fwd-status=200; stored";
inline const std::string status_coalesced = "github-proxy; hit; detail=coalesced";
inline const std::string status_bypass = "github-proxy; fwd=bypass";
inline const std::string status_not_stored = "github-proxy; fwd=miss";

inline std::string cache_status(const http_response& res) { return std::string(res["Cache-Status"]); }
inline bool is_hit(const http_response& res) { return cache_status(res).starts_with("github-proxy; hit"); }

using ghp_test::poll_until;  // support/harness.h

// A request is counted just after its response is written: waits (bounded)
// until the sample reaches `at_least`, then returns its value, so that the
// caller asserts the exact value (a counter that overshoots still fails).
inline double metric_once_at_least(proxy_process& proxy, const std::string& name, const labels& wanted,
                                   double at_least,
                                   std::chrono::milliseconds within = std::chrono::seconds(5)) {
  double value = 0;
  poll_until([&] { return (value = proxy.metric(name, wanted)) >= at_least; }, within);
  return value;
}

// github_proxy_requests_total for one client and cache outcome (any method
// and code unless given).
inline labels request_labels(const std::string& client, const std::string& cache, const std::string& code = {},
                             const std::string& method = {}) {
  labels out{{"client", client}, {"cache", cache}};
  if (!code.empty()) out.emplace("code", code);
  if (!method.empty()) out.emplace("method", method);
  return out;
}

// Waits until the proxy has counted `total` requests of `client` (all
// outcomes): then every other counter of those requests is final too.
inline bool wait_for_requests_counted(proxy_process& proxy, const std::string& client, double total,
                                      std::chrono::milliseconds within = std::chrono::seconds(5)) {
  return poll_until([&] { return proxy.metric("github_proxy_requests_total", {{"client", client}}) >= total; },
                    within);
}

// One token's line of /_fake/counters (tests/fake_github/README.md).
struct token_usage {
  long requests = 0;
  long status_200 = 0;
  long status_304 = 0;
  long credits = 0;
};

inline token_usage usage_of(fake_github& fake, const std::string& token) {
  const auto counters = fake.counters();
  const auto& tokens = counters.at("tokens").as_object();
  token_usage usage;
  if (const auto* c = tokens.if_contains(token)) {
    const auto& o = c->as_object();
    usage.requests = o.at("requests").to_number<long>();
    usage.status_200 = o.at("status_200").to_number<long>();
    usage.status_304 = o.at("status_304").to_number<long>();
    usage.credits = o.at("credits").to_number<long>();
  }
  return usage;
}

// A header of a logged request, "<absent>" when it has none.
inline std::string logged_header(const boost::json::object& logged, std::string_view name) {
  for (const auto& h : logged.at("headers").as_array()) {
    const auto& pair = h.as_array();
    if (boost::beast::iequals(std::string_view(pair[0].as_string()), name)) {
      return std::string(pair[1].as_string());
    }
  }
  return "<absent>";
}

// The fake's logged requests (oldest first) for `target` that were sent
// with `token` (any scheme).
inline std::vector<boost::json::object> upstream_requests_for(fake_github& fake, const std::string& target,
                                                              const std::string& token) {
  std::vector<boost::json::object> out;
  const auto logged = fake.requests(1000);  // kept alive for the loop
  for (const auto& r : logged.as_array()) {
    const auto& o = r.as_object();
    if (o.at("target").as_string() == target && logged_header(o, "Authorization").ends_with(" " + token)) {
      out.push_back(o);
    }
  }
  return out;
}

// The opaque part of an ETag: without `W/` and the quotes.
inline std::string etag_opaque(std::string_view etag) {
  if (etag.starts_with("W/")) etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return std::string(etag);
}

// The reference answer: the same request straight to the fake. Its
// absolute URLs are on the fake's origin; see `as_client_sees`.
inline http_response direct_get(fake_github& fake, const std::string& path, header_list headers = {},
                                const std::string& token = direct_token) {
  headers.emplace_back("Authorization", "token " + token);
  return request(fake.where(), "GET", path, headers);
}

// A body the fake wrote, as a client of `proxy` sees it: GitHub's URLs on
// the proxy's base (docs/contract.md §5 "Rewriting"), nothing else changed.
inline std::string as_client_sees(const http_response& direct, const fake_github& fake, const proxy_process& proxy) {
  const std::string from = "\"" + fake.url();
  const std::string to = "\"" + proxy.url();
  std::string out = direct.body();
  for (auto at = out.find(from); at != std::string::npos; at = out.find(from, at + to.size())) {
    out.replace(at, from.size(), to);
  }
  return out;
}

inline http_response get(const proxy_process& proxy, const std::string& path, const test_client& client,
                         header_list headers = {}) {
  headers.push_back(auth_of(client));
  return request(proxy.where(), "GET", path, headers);
}

inline http_response head(const proxy_process& proxy, const std::string& path, const test_client& client,
                          header_list headers = {}) {
  headers.push_back(auth_of(client));
  return request(proxy.where(), "HEAD", path, headers);
}

// `cache:` sections (docs/contract.md §3) for proxy_process::options::extra_yaml.
// `more` holds further keys of the section, indented by two spaces.
inline std::string memory_cache_yaml(const std::string& more = {}) {
  return "cache:\n  backend: memory\n" + more;
}

inline std::string redis_cache_yaml(const std::string& url, const std::string& key_prefix,
                                    const std::string& more = {}) {
  return "cache:\n  backend: redis\n  redis:\n    url: " + url + "\n    key_prefix: \"" + key_prefix +
         "\"\n    timeout: 200ms\n" + more;
}

// Options for a proxy in front of `fake` with the clients the cache tests use.
inline proxy_process::options proxy_options(const fake_github& fake, const std::string& cache_yaml = {},
                                            const std::string& token = upstream_token_1) {
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  opts.clients = {ci_client, other_client};
  opts.upstream_token = token;
  opts.extra_yaml = cache_yaml;
  return opts;
}

}  // namespace ghp_test::cache_support
