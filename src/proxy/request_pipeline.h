// The request pipeline: authenticate → authorise → forward → respond.
//
// Threading: `shared_state` is built once and read by every I/O thread (the
// registry store inside it is thread-safe). Each I/O thread owns one
// `request_pipeline` with its own upstream connection pools and metric
// children, so the request path takes no lock shared between threads.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <spdlog/logger.h>

#include "github_proxy/auth/registry.h"
#include "github_proxy/cache/cache_store.h"
#include "github_proxy/cache/entry.h"
#include "github_proxy/cache/policy.h"
#include "github_proxy/common/http.h"
#include "github_proxy/config/config.h"
#include "github_proxy/credentials/budget.h"
#include "github_proxy/credentials/pool.h"
#include "github_proxy/credentials/resource.h"
#include "github_proxy/metrics/metrics.h"
#include "github_proxy/metrics/request_counters.h"
#include "github_proxy/upstream/connection_pool.h"
#include "github_proxy/upstream/endpoint.h"
#include "proxy/flight_table.h"
#include "proxy/forwarding.h"

namespace github_proxy::credentials {
struct redis_ledger_settings;  // credentials/redis_budget_ledger.h
}

namespace github_proxy::proxy {

struct shared_state {
  const config::config* cfg = nullptr;
  upstream::endpoint rest;
  upstream::endpoint graphql;
  std::string rest_url_prefix;  // rest.url_prefix(), computed once
  boost::asio::ssl::context* upstream_tls = nullptr;
  auth::registry_store* registry = nullptr;
  metrics::families* metrics = nullptr;
  std::shared_ptr<spdlog::logger> log;         // operational messages
  std::shared_ptr<spdlog::logger> access_log;  // one line per request; null = off
  credentials::pool* pool = nullptr;  // the credentials requests are sent with
  std::string user_agent;  // "github-proxy/VERSION"
  // The shared ETag cache (SPEC §6); null: every request passes through.
  cache::cache_backend* cache = nullptr;
  flight_table* flights = nullptr;  // coalescing across I/O threads
  // Per-client upstream budgets (SPEC §5 "Budgets"); null: not enforced.
  // The in-process ledger, used alone with the memory cache, and as the
  // fallback of the per-thread Redis ledgers when `redis_budgets` is set.
  credentials::memory_budget_ledger* budgets = nullptr;
  const credentials::redis_ledger_settings* redis_budgets = nullptr;
};

// What the access log and the metrics record of one request.
struct exchange_record {
  std::string_view client = "unauthenticated";
  unsigned status = 0;
  metrics::cache_outcome cache = metrics::cache_outcome::bypass;
  std::string_view credential;
  double upstream_seconds = -1;  // < 0: nothing was sent upstream
  std::string github_request_id;
  std::optional<auth::budget> budget;  // the client's upstream_budget
};

class request_pipeline {
 public:
  request_pipeline(const shared_state& shared, boost::asio::any_io_executor executor);
  ~request_pipeline();

  // Answers `req` through `out`. Returns normally even when the client went
  // away; `out` reports write errors to the session.
  boost::asio::awaitable<void> handle(request& req, response_writer& out,
                                      const client_endpoint_info& client);

  // Closes idle upstream connections and the cache handle; called at
  // shutdown once the io_context has stopped, before it goes away.
  void close_idle_connections();

  // An error answer produced by the session itself (400, 413, 431), with
  // the same metrics and access log as any other request.
  boost::asio::awaitable<void> reject_malformed(unsigned status, std::string_view message,
                                                response_writer& out,
                                                const client_endpoint_info& client);

 private:
  // One upstream exchange (forward.cc).
  struct upstream_answer {
    bool answered = false;   // a response head arrived
    bool timed_out = false;  // when not answered, or the body stalled
    unsigned status = 0;
    response_header head;
    std::string body;        // the whole body, unless `streamed`
    bool streamed = false;   // too large to hold: relayed to the client as it came
    bool failed = false;     // the body broke off (not streamed: nothing was sent yet)
    // X-RateLimit-* and Retry-After of a streamed answer (whose head went
    // to the client), for the credential pool.
    boost::beast::http::fields limit_fields;
  };
  // An answer sent with a pool credential (pooled.cc).
  struct pooled_answer {
    upstream_answer answer;
    // No credential could send the request: why, and when one comes back.
    bool refused = false;
    credentials::selection_outcome outcome = credentials::selection_outcome::selected;
    std::optional<std::chrono::seconds> retry_after;
    // GitHub refused `answer` for a rate limit (and no other credential
    // could send it).
    bool rate_limited = false;
    // The credential that got `answer` (the cache records it).
    std::string_view credential;
    std::string authorization;
  };
  using credential_hook = std::function<void(request& up, const credentials::lease& l)>;
  // What the client sees of a streamed answer besides the upstream head.
  struct relay_context {
    response_writer& out;
    const request& req;
    const routed_path& route;
    const client_endpoint_info& client;
    std::string_view cache_status;
  };

  request upstream_request(request& req, const routed_path& route);
  // Sends `up` with a pool credential; `prepare` adapts it to the chosen
  // one. GitHub saying the credential is limited or broken moves the
  // request once to another credential (SPEC §7 "Rotation"); charges the
  // client's budget for what the final answer cost.
  // `free_revalidation`: a conditional request of the cache, which GitHub
  // answers with a free 304 even when the credential's bucket is spent.
  boost::asio::awaitable<pooled_answer> send_pooled(request& up, bool graphql, credentials::resource r,
                                                    std::string_view preferred, const credential_hook& prepare,
                                                    relay_context relay, exchange_record& record,
                                                    bool free_revalidation = false);
  // 429 (every credential exhausted) or 503 (all busy), SPEC §5 "Errors".
  boost::asio::awaitable<void> answer_refusal(const pooled_answer& pooled, const request& req,
                                              response_writer& out, exchange_record& record);
  boost::asio::awaitable<upstream_answer> exchange(request& up, bool graphql, credentials::resource r,
                                                   relay_context relay, exchange_record& record);
  // Rewrites Link/Location for the client and sets Cache-Status.
  void prepare_for_client(boost::beast::http::fields& fields, const request& req,
                          const routed_path& route, const client_endpoint_info& client,
                          std::string_view cache_status) const;

  // Where a pass-through answer may be stored, and in which encoding.
  struct store_target {
    std::string key;
    cache::body_encoding encoding = cache::body_encoding::identity;
  };
  // Pass-through (forward.cc). With `store`, a storable answer is kept in
  // the cache.
  boost::asio::awaitable<void> forward(request& req, const routed_path& route,
                                       response_writer& out, const client_endpoint_info& client,
                                       exchange_record& record, const store_target* store = nullptr);
  boost::asio::awaitable<void> relay_buffered(upstream_answer& answer, const request& req,
                                              const routed_path& route, response_writer& out,
                                              const client_endpoint_info& client,
                                              std::string_view cache_status);
  boost::asio::awaitable<void> answer_failure(const upstream_answer& answer, const request& req,
                                              response_writer& out, exchange_record& record);

  // Through the cache (cached.cc).
  boost::asio::awaitable<void> serve_cacheable(request& req, const routed_path& route,
                                               response_writer& out, const client_endpoint_info& client,
                                               exchange_record& record);
  struct cache_fetch;
  boost::asio::awaitable<cache_fetch> fetch_for_cache(request& req, const routed_path& route,
                                                      response_writer& out,
                                                      const client_endpoint_info& client,
                                                      std::shared_ptr<const cache::entry> cached,
                                                      const store_target& target, exchange_record& record);
  boost::asio::awaitable<std::shared_ptr<const cache::entry>> lookup(const std::string& key);
  boost::asio::awaitable<void> store(const std::string& key, const cache::entry& e);
  // Returns the status written (304 when the client's validators match).
  boost::asio::awaitable<unsigned> respond_from_entry(const cache::entry& e, const request& req,
                                                  const routed_path& route, response_writer& out,
                                                  const client_endpoint_info& client,
                                                  std::string_view cache_status);
  // Budgets: refuses (429, true) a client over its upstream_budget before
  // a request that would spend a credit; charges an answer that did.
  boost::asio::awaitable<bool> refuse_over_budget(const request& req, response_writer& out,
                                                  exchange_record& record);
  boost::asio::awaitable<void> charge_credit(const exchange_record& record, unsigned status);
  boost::asio::awaitable<void> respond_rate_limited(response_writer& out, const request& req,
                                                    std::chrono::seconds retry_after,
                                                    std::string_view message, exchange_record& record);
  boost::asio::awaitable<void> respond_error(response_writer& out, unsigned status,
                                             std::string_view message, unsigned version,
                                             bool keep_alive, exchange_record& record);
  void finish(const request& req, const exchange_record& record,
              std::chrono::steady_clock::time_point started);

  const shared_state& shared_;
  boost::asio::any_io_executor executor_;
  std::unique_ptr<cache::cache_store> store_;  // null: no cache
  std::unique_ptr<credentials::budget_ledger> redis_budgets_;  // this thread's, with Redis
  credentials::budget_ledger* budgets_ = nullptr;             // the one to use; null: none
  std::unique_ptr<upstream::connection_pool> rest_pool_;
  std::unique_ptr<upstream::connection_pool> graphql_pool_;  // null when same origin
  metrics::request_counters counters_;
};

}  // namespace github_proxy::proxy
