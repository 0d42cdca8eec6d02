// Helpers for the credential-pool integration tests (docs/contract.md §5 "Budgets",
// §7, §8; issue 6): a daemon started with a config of our own (several
// `credentials:`, per-client budgets, the Redis cache), the fake GitHub's
// control calls the pool tests use (per-token limits, the clock, counters),
// Prometheus samples, and a small concurrent load generator.
// Header-only, used by tests/integration/pool_test.cc.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "support/harness.h"
#include "support/metrics_helpers.h"

namespace ghp_test::pool_support {

using labels = std::map<std::string, std::string>;
using header_list = std::vector<std::pair<std::string, std::string>>;

// ---- polling -----------------------------------------------------------------

using ghp_test::poll_until;  // support/harness.h

// ---- the daemon's config ----------------------------------------------------

// One entry of `credentials:` (docs/contract.md §3). A token's secret is handed to the
// daemon through the environment variable `env` (never in the file).
struct credential_spec {
  std::string name;
  bool app = false;
  // type: token
  std::string token;  // the secret: the fake counts requests under it
  std::string env;    // GHP_POOL_TOKEN_<n> when empty
  std::string token_file;  // set: `token_file:` (the test writes it), and `token` is unused
  // type: app
  std::string app_id;
  std::string installation_id;
  std::string private_key_file;
};

inline credential_spec token_credential(std::string name, std::string secret) {
  credential_spec c;
  c.name = std::move(name);
  c.token = std::move(secret);
  return c;
}

inline credential_spec app_credential(std::string name, std::string app_id, std::string installation_id,
                                      std::string private_key_file) {
  credential_spec c;
  c.name = std::move(name);
  c.app = true;
  c.app_id = std::move(app_id);
  c.installation_id = std::move(installation_id);
  c.private_key_file = std::move(private_key_file);
  return c;
}

// A registry client; `budget` renders `upstream_budget: …` ("5/h"), and
// `scope_path`, when set, its only scope: GET|HEAD on that RE2 path.
struct pool_client {
  std::string name;
  std::string token;
  std::string budget;
  std::string scope_path;
};

struct daemon_options {
  std::string upstream_url;
  std::vector<credential_spec> credentials;
  std::vector<pool_client> clients{{"ci", "ghpx_pool_ci_token", ""}};
  std::string cache_yaml = "cache:\n  backend: memory\n";  // the whole `cache:` section
  std::string request_timeout = "5s";
  std::string pool_yaml;  // the whole `pool:` section, if any
};

// The proxy (build/github-proxy) with a config written here: the harness'
// proxy_process always configures exactly one token credential.
class pool_daemon {
 public:
  pool_daemon(const temp_dir& dir, daemon_options opts) : options_(std::move(opts)) {
    static std::atomic<int> counter{0};
    const auto id = "pool-" + std::to_string(++counter);
    registry_path_ = dir.file(id + "-registry.yaml");
    std::ostringstream registry;
    registry << "version: 1\nclients:\n";
    for (const auto& c : options_.clients) {
      registry << "  - name: " << c.name << "\n    token_sha256: " << sha256_hex(c.token) << "\n";
      if (!c.budget.empty()) registry << "    upstream_budget: " << c.budget << "\n";
      if (!c.scope_path.empty()) {
        registry << "    scopes:\n      - method: GET|HEAD\n        path: '" << c.scope_path << "'\n";
      }
    }
    dir.write(id + "-registry.yaml", registry.str());

    std::map<std::string, std::string> env;
    std::ostringstream cfg;
    cfg << "listen:\n  address: 127.0.0.1\n  port: 0\n  threads: 2\n";
    cfg << "admin:\n  address: 127.0.0.1\n  port: 0\n";
    cfg << "upstream:\n  url: " << options_.upstream_url
        << "\n  connect_timeout: 2s\n  request_timeout: " << options_.request_timeout << "\n";
    cfg << "registry:\n  file: " << registry_path_ << "\n  reload_interval: 200ms\n";
    cfg << options_.cache_yaml;
    cfg << options_.pool_yaml;
    cfg << "credentials:\n";
    int n = 0;
    for (const auto& c : options_.credentials) {
      ++n;
      cfg << "  - name: " << c.name << "\n";
      if (c.app) {
        cfg << "    type: app\n    app_id: " << c.app_id << "\n    installation_id: " << c.installation_id
            << "\n    private_key_file: " << c.private_key_file << "\n";
      } else if (!c.token_file.empty()) {
        cfg << "    type: token\n    token_file: " << c.token_file << "\n";
      } else {
        const auto variable = c.env.empty() ? "GHP_POOL_TOKEN_" + std::to_string(n) : c.env;
        cfg << "    type: token\n    token_env: " << variable << "\n";
        env[variable] = c.token;
      }
    }
    // Text access lines carry `credential=NAME` (docs/contract.md §8 "Logs").
    cfg << "logging:\n  level: info\n  format: text\n";
    config_path_ = dir.file(id + ".yaml");
    dir.write(id + ".yaml", cfg.str());

    const auto ready_file = dir.file(id + ".ready");
    process_ = std::make_unique<child_process>(
        std::vector<std::string>{proxy_binary(), "serve", "--config", config_path_, "--ready-file", ready_file},
        dir.file(id + ".log"), env);
    const auto ready =
        boost::json::parse(wait_for_file(ready_file, std::chrono::seconds(20), process_.get()));
    port_ = static_cast<unsigned short>(ready.at("port").to_number<int>());
    admin_port_ = static_cast<unsigned short>(ready.at("admin_port").to_number<int>());
  }

  target where() const {
    target t;
    t.port = port_;
    return t;
  }
  target admin() const {
    target t;
    t.port = admin_port_;
    return t;
  }
  child_process& process() { return *process_; }
  std::string log() const { return process_->log(); }
  const std::string& config_path() const { return config_path_; }

  // The sum of every sample of `name` whose labels include `wanted`.
  double metric(const std::string& name, const labels& wanted = {}) const {
    const auto res = request(admin(), "GET", "/metrics");
    if (res.result_int() != 200) throw std::runtime_error("/metrics → " + std::to_string(res.result_int()));
    return sum_samples(res.body(), name, wanted);
  }

  // Waits (bounded) until the sample reaches `at_least` (a request is
  // counted just after its answer is written), then returns its value, so
  // the caller asserts the exact value.
  double metric_at_least(const std::string& name, const labels& wanted, double at_least,
                         std::chrono::milliseconds within = std::chrono::seconds(5)) const {
    double value = 0;
    poll_until([&] { return (value = metric(name, wanted)) >= at_least; }, within);
    return value;
  }

  // github_proxy_credential_state{credential,state} == 1, polled (the gauge
  // is sampled at scrape time, so it moves without a request).
  bool state_becomes(const std::string& credential, const std::string& state,
                     std::chrono::milliseconds within = std::chrono::seconds(5)) const {
    return poll_until(
        [&] { return metric("github_proxy_credential_state", {{"credential", credential}, {"state", state}}) == 1; },
        within, std::chrono::milliseconds(20));
  }

  // The sum of every series of `name` whose labels include `wanted`
  // (support/metrics_helpers.h parses the exposition).
  static double sum_samples(const std::string& text, const std::string& name, const labels& wanted) {
    return sum_matching(parse_metrics(text), name, wanted);
  }

 private:
  daemon_options options_;
  std::unique_ptr<child_process> process_;
  unsigned short port_ = 0;
  unsigned short admin_port_ = 0;
  std::string registry_path_;
  std::string config_path_;
};

// ---- the fake GitHub ----------------------------------------------------------

// POST /_fake/limits: sets one bucket; returns its `reset` (epoch seconds).
inline long set_limit(fake_github& fake, const std::string& token, const std::string& resource, long limit,
                      long remaining, long reset_in = 3600) {
  boost::json::object body{{"token", token},         {"resource", resource}, {"limit", limit},
                           {"remaining", remaining}, {"reset_in", reset_in}};
  const auto answer = fake.control("POST", "/_fake/limits", boost::json::serialize(body));
  return answer.at("reset").to_number<long>();
}

inline void advance_clock(fake_github& fake, long seconds) {
  fake.control("POST", "/_fake/clock", R"({"advance_seconds":)" + std::to_string(seconds) + "}");
}

// The fake's clock (epoch seconds).
inline long fake_now(fake_github& fake) { return fake.control("GET", "/_fake/clock").at("now").to_number<long>(); }

// One token's line of /_fake/counters.
struct token_counters {
  long requests = 0;
  long credits = 0;
  std::map<std::string, long> by_status;
  std::map<std::string, long> by_resource;
  long status(const std::string& code) const {
    const auto it = by_status.find(code);
    return it == by_status.end() ? 0 : it->second;
  }
  long resource(const std::string& name) const {
    const auto it = by_resource.find(name);
    return it == by_resource.end() ? 0 : it->second;
  }
};

inline token_counters counters_of(const boost::json::value& counters, const std::string& token) {
  token_counters out;
  const auto* line = counters.at("tokens").as_object().if_contains(token);
  if (!line) return out;
  const auto& o = line->as_object();
  out.requests = o.at("requests").to_number<long>();
  out.credits = o.at("credits").to_number<long>();
  if (const auto* s = o.if_contains("by_status")) {
    for (const auto& [k, v] : s->as_object()) out.by_status[std::string(k)] = v.to_number<long>();
  }
  if (const auto* r = o.if_contains("by_resource")) {
    for (const auto& [k, v] : r->as_object()) out.by_resource[std::string(k)] = v.to_number<long>();
  }
  return out;
}

inline token_counters counters_of(fake_github& fake, const std::string& token) {
  return counters_of(fake.counters(), token);
}

inline long total_requests(fake_github& fake) {
  return fake.counters().at("total").at("requests").to_number<long>();
}

// Every status the fake answered, summed over all tokens.
inline long total_status(fake_github& fake, const std::string& code) {
  const auto c = fake.counters();
  long sum = 0;
  for (const auto& [token, line] : c.at("tokens").as_object()) {
    if (const auto* s = line.as_object().if_contains("by_status")) {
      if (const auto* n = s->as_object().if_contains(code)) sum += n->to_number<long>();
    }
  }
  return sum;
}

inline long installation_tokens_issued(fake_github& fake, const std::string& installation) {
  const auto c = fake.counters();
  const auto* issued = c.as_object().if_contains("installation_tokens_issued");
  if (!issued) return 0;
  const auto* n = issued->as_object().if_contains(installation);
  return n ? n->to_number<long>() : 0;
}

inline long installation_token_requests_rejected(fake_github& fake) {
  const auto c = fake.counters();
  const auto* n = c.as_object().if_contains("installation_token_requests_rejected");
  return n ? n->to_number<long>() : 0;
}

// The value of a header of a request in /_fake/requests, "" when absent.
inline std::string logged_header(const boost::json::object& logged, const std::string& name) {
  for (const auto& h : logged.at("headers").as_array()) {
    const auto& pair = h.as_array();
    if (boost::beast::iequals(std::string_view(pair[0].as_string()), name)) {
      return std::string(pair[1].as_string());
    }
  }
  return {};
}

// ---- client side ----------------------------------------------------------------

inline std::pair<std::string, std::string> auth_of(const std::string& token) {
  return {"Authorization", "token " + token};
}

// A distinct, never-cached path per (tag, n): any path under /contents exists
// on the fake, and each costs one credit the first time.
inline std::string fresh_path(const std::string& tag, int n) {
  return "/repos/octo-org/repo-1/contents/pool/" + tag + "-" + std::to_string(n) + ".txt";
}

struct load_result {
  std::map<unsigned, int> statuses;  // status → count
  std::vector<std::string> failures;  // "status path: body" of every non-200
  int total() const {
    int n = 0;
    for (const auto& [s, c] : statuses) n += c;
    return n;
  }
  int count(unsigned status) const {
    const auto it = statuses.find(status);
    return it == statuses.end() ? 0 : it->second;
  }
};

// `requests` GETs of fresh_path(tag, 0 … requests-1) from `threads` threads,
// each on its own keep-alive connection. `on_done` is called after each
// answer (any thread) with the number answered so far. With `stop`, the
// workers also end once it is set (`requests` is then an upper bound).
inline load_result run_load(const target& where, const std::string& client_token, const std::string& tag,
                            int requests, int threads, const std::function<void(int)>& on_done = {},
                            const std::atomic<bool>* stop = nullptr) {
  load_result result;
  std::mutex mutex;
  std::atomic<int> next{0};
  std::atomic<int> done{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      std::optional<http_connection> connection;
      for (int i = next++; i < requests && !(stop && stop->load()); i = next++) {
        const auto path = fresh_path(tag, i);
        unsigned status = 0;
        std::string body;
        try {
          if (!connection) connection.emplace(where);
          http_request req{boost::beast::http::verb::get, path, 11};
          req.set(boost::beast::http::field::authorization, "token " + client_token);
          const auto res = connection->send(std::move(req));
          status = res.result_int();
          body = res.body();
          if (!res.keep_alive()) connection.reset();
        } catch (const std::exception& e) {
          connection.reset();
          body = e.what();
        }
        {
          const std::lock_guard lock(mutex);
          ++result.statuses[status];
          if (status != 200) result.failures.push_back(std::to_string(status) + " " + path + ": " + body);
        }
        const int answered = ++done;
        if (on_done) on_done(answered);
      }
    });
  }
  for (auto& w : workers) w.join();
  return result;
}

inline std::string describe(const load_result& r) {
  std::ostringstream out;
  for (const auto& [s, c] : r.statuses) out << s << "×" << c << " ";
  for (std::size_t i = 0; i < r.failures.size() && i < 5; ++i) out << "\n  " << r.failures[i];
  return out.str();
}

}  // namespace ghp_test::pool_support
