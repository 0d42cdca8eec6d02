// The request pipeline: authenticate → authorise → (serve through the cache
// | pass through) → send with a pooled credential → answer the client.
// README.md "Request flow" maps each step to its function and file.
//
// Seams: the pipeline reaches GitHub through an `upstream::client`, picks
// credentials from a `credentials::credential_source` and keeps entries in a
// `cache::cache_store`, all interfaces; the unit tests in tests/unit/proxy/
// run it in-process against test doubles of each.
//
// Threading: `shared_state` is built once and read by every I/O thread (the
// registry store, the credential source and the flight table inside it are
// thread-safe). Each I/O thread owns one `request_pipeline` with its own
// upstream client, cache handle and metric children, so the request path
// takes no lock shared between threads.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <spdlog/logger.h>

#include "github_proxy/cache/write_marks.h"

#include "common/access_log.h"
#include "github_proxy/auth/registry.h"
#include "github_proxy/cache/after_fetch.h"
#include "github_proxy/cache/cache_store.h"
#include "github_proxy/cache/entry.h"
#include "github_proxy/cache/front_tier.h"
#include "github_proxy/cache/policy.h"
#include "github_proxy/common/http.h"
#include "github_proxy/config/config.h"
#include "github_proxy/credentials/budget.h"
#include "github_proxy/credentials/pool.h"
#include "github_proxy/credentials/rate_view.h"
#include "github_proxy/credentials/resource.h"
#include "github_proxy/metrics/metrics.h"
#include "github_proxy/metrics/request_counters.h"
#include "github_proxy/status/status_board.h"
#include "github_proxy/upstream/client.h"
#include "github_proxy/upstream/endpoint.h"
#include "proxy/flight_table.h"
#include "proxy/public_urls.h"
#include "proxy/rewriting.h"
#include "proxy/routing.h"

namespace github_proxy::credentials {
struct redis_ledger_settings;  // credentials/redis_budget_ledger.h
}

namespace github_proxy::proxy {

struct shared_state {
  const config::config* cfg = nullptr;
  upstream::endpoint rest;
  upstream::endpoint graphql;
  // Where GitHub's own URLs point (rest.url_prefix() and its uploads
  // origin), rewritten to the client's base on the way out.
  api_origins origins;
  // Peers whose Forwarded / X-Forwarded-* fields name the public base
  // (listen.trusted_proxies).
  trusted_proxies trusted;
  boost::asio::ssl::context* upstream_tls = nullptr;
  auth::registry_store* registry = nullptr;
  metrics::families* metrics = nullptr;
  std::shared_ptr<spdlog::logger> log;         // operational messages
  std::shared_ptr<const logging::access_log> access_log;  // one line per request; null = off
  credentials::credential_source* credentials = nullptr;  // who sends each request
  std::string user_agent;  // "github-proxy/VERSION"
  // The shared ETag cache (docs/contract.md §6); null: every request passes through.
  cache::cache_backend* cache = nullptr;
  cache::front_tier* front = nullptr;  // decoded entries in front of `cache`; null: none
  flight_table* flights = nullptr;     // coalescing across I/O threads
  // Successful writes by path: an entry confirmed before one is not
  // answered without asking GitHub; null: none recorded.
  cache::write_marks* writes = nullptr;
  // Per-client upstream budgets (docs/contract.md §5 "Budgets"); null: not
  // enforced. The in-process ledger, used alone with the memory cache, and
  // as the fallback of the per-thread Redis ledgers when `redis_budgets` is
  // set.
  credentials::memory_budget_ledger* budgets = nullptr;
  const credentials::redis_ledger_settings* redis_budgets = nullptr;
  // The core demand for the status page's one-token replay; null: none.
  status::demand_meter* demand = nullptr;
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
  // Would GitHub have charged this request had the job sent it with one
  // shared token, and from which bucket (docs/contract.md §8 "Status page")?
  bool direct_demand = false;
  credentials::resource resource = credentials::resource::core;
};

// One client request on its way through the pipeline: what every step
// needs, passed by reference instead of the same five parameters each time.
struct request_context {
  request& req;
  response_writer& out;
  const client_endpoint_info& client;
  routed_path route;
  exchange_record record;
  std::chrono::steady_clock::time_point started;
  // The registry snapshot the client was found in: `record.client` views
  // its name, so it lives as long as the request (a reload may replace it).
  std::shared_ptr<const auth::registry_snapshot> registry;
  // The client's base for GitHub's URLs, worked out on first use
  // (respond.cc `client_urls`).
  struct public_urls {
    url_prefix rest;     // base + the client's layout
    url_prefix uploads;  // base + "/api/uploads"
  };
  std::optional<public_urls> urls;
  // A client of the registry sent it (record.client is its name).
  bool known_client = false;
  // The rate-limit bucket the request spends from (inferred from the path,
  // or as GitHub's answer names it), and the client's view of it, settled
  // once before the answer (rate_limits.cc); empty: GitHub's fields pass.
  credentials::resource limit_resource = credentials::resource::core;
  std::optional<credentials::rate_view> rate_view;
  // The client's budget as the ledger last answered (a check or a charge).
  std::optional<credentials::budget_status> budget_seen;
  // The answer is GitHub's rate-limit refusal of the credentials asked
  // (rate_limits.cc `view_of_refusal`).
  bool limit_refusal = false;
  // A GraphQL request's operation as authorisation classified it (its cost
  // under GitHub's secondary limits).
  auth::graphql_operation_cost graphql_cost = auth::graphql_operation_cost::query;
};

// rate_limits.cc: X-RateLimit-* (any case) …
bool is_rate_limit_field(std::string_view name);
// … replaced by the five fields of `v`.
void set_rate_limit_fields(boost::beast::http::fields& fields, const credentials::rate_view& v);

// This I/O thread's upstream client: keep-alive pools to `shared.rest` and
// `shared.graphql`, each with this thread's share of
// upstream.max_connections_per_host.
std::unique_ptr<upstream::client> make_upstream_client(const shared_state& shared,
                                                       boost::asio::any_io_executor executor);

class request_pipeline {
 public:
  // `upstream` is this thread's client; see upstream::make_pooled_client.
  request_pipeline(const shared_state& shared, boost::asio::any_io_executor executor,
                   std::unique_ptr<upstream::client> upstream);
  ~request_pipeline();

  // Answers `req` through `out`. Returns normally even when the client went
  // away; `out` reports write errors to the session.
  boost::asio::awaitable<void> handle(request& req, response_writer& out,
                                      const client_endpoint_info& client);

  // Closes idle upstream connections and the cache handle; called at
  // shutdown once the io_context has stopped, before it goes away.
  void close_idle_connections();

  // The head of a request whose body has not been read yet: refuses (and
  // answers, counts and logs; returns true) a target that cannot be routed,
  // an unknown token or a method and path no scope of the client allows,
  // so that nobody's body is buffered before they are known. The session
  // then closes the connection, the body unread. When it returns false,
  // `client_name` is the name of the client the head authenticates.
  boost::asio::awaitable<bool> refuse_head(request& head, response_writer& out,
                                           const client_endpoint_info& client, std::string& client_name);

  // A 429 for a request whose body would take its client over its share of
  // the body budget (the session's), counted as that client's `budget`
  // rejection; the session then closes the connection, the body unread.
  boost::asio::awaitable<void> refuse_body_share(std::string_view client_name, response_writer& out,
                                                 const client_endpoint_info& client);

  // An error answer produced by the session itself (400, 413, 431, 503), with
  // the same metrics and access log as any other request.
  boost::asio::awaitable<void> reject_malformed(unsigned status, std::string_view message,
                                                response_writer& out,
                                                const client_endpoint_info& client);

 private:
  // One upstream exchange with its body held or relayed (fetch_upstream.cc).
  struct upstream_answer {
    bool answered = false;   // a response head arrived
    bool timed_out = false;  // when not answered, or the body stalled
    unsigned status = 0;
    response_header head;
    std::string body;        // the whole body, unless `streamed`
    bool streamed = false;   // too large to hold: relayed to the client as it came
    bool failed = false;     // the body broke off (not streamed: nothing was sent yet)
    bool too_many_streams = false;  // failed: this thread relays all the long transfers it may
    bool stream_refused = false;    // failed: too large to hold, and the caller would not relay it
    // X-RateLimit-* and Retry-After of a streamed answer (whose head went
    // to the client), for the credential pool.
    boost::beast::http::fields limit_fields;
    // Set by `before_streaming`: the streamed answer costs the client a
    // credit, charged before its head goes out (so the head's view counts
    // it); `charged` once that is done.
    bool charge_at_head = false;
    bool charged = false;
  };
  // An answer sent with a pooled credential (send_pooled.cc).
  struct pooled_answer {
    upstream_answer answer;
    // No credential could send the request: why, and when one comes back.
    bool refused = false;
    credentials::selection_outcome outcome = credentials::selection_outcome::selected;
    std::optional<std::chrono::seconds> retry_after;
    bool all_broken = false;  // every credential is rejected by GitHub (401)
    // No credential had room under GitHub's secondary limits
    // (credentials::acquisition::paced).
    bool paced = false;
    // GitHub refused `answer` for a rate limit (and no other credential
    // could send it).
    bool rate_limited = false;
    // … and that refusal was a secondary limit.
    bool secondary_limited = false;
    // The credential that got `answer` (the cache records it).
    std::string_view credential;
    std::string authorization;
  };
  // Adapts the upstream request to the credential chosen (the cache's
  // per-credential validators).
  using credential_hook = std::function<void(request& up, const credentials::lease& l)>;
  // How a send is made: the credential to prefer, the validators, whether
  // GitHub is expected to answer with a free 304, and the Cache-Status of
  // an answer too large to hold (relayed as it comes).
  struct send_options {
    std::string_view preferred;
    const credential_hook* prepare = nullptr;
    bool free_revalidation = false;
    std::string_view streamed_cache_status;
    // Runs when the answer turns out too large to hold, before its body is
    // relayed (a coalescing leader releases its followers there).
    const std::function<void()>* on_streaming = nullptr;
    // An answer too large to hold is not relayed (an over-budget client's
    // changed resource): the answer comes back failed, `stream_refused`.
    bool refuse_streaming = false;
    // The caller can answer without GitHub (an entry GitHub's max-age still
    // covers): when only secondary-limit room is missing, come back refused
    // and `paced` at once rather than wait for room.
    bool answer_when_paced = false;
  };

  // request_pipeline.cc: route, authorise, choose cache or pass-through.
  boost::asio::awaitable<void> dispatch(request_context& ctx);
  // An answer the session gives before any request is known (reject_malformed,
  // refuse_body_share): counted, logged and answered like a request.
  boost::asio::awaitable<void> refuse_before_request(response_writer& out, const client_endpoint_info& client,
                                                     std::string_view client_name, metrics::reject_reason reason,
                                                     unsigned status, std::string_view message,
                                                     std::optional<std::chrono::seconds> retry_after);
  // 501 for GHES's /api/uploads layout (not relayed).
  boost::asio::awaitable<void> refuse_uploads(request_context& ctx);

  // pass_through.cc: a request that is not served through the cache, or a
  // cold conditional GET whose full 200 may be stored under `store`.
  struct store_target {
    std::string key;
    cache::body_encoding encoding = cache::body_encoding::identity;
  };
  boost::asio::awaitable<void> pass_through(request_context& ctx, const store_target* store = nullptr);

  // serve_cacheable.cc: a GET or HEAD through the shared ETag cache.
  boost::asio::awaitable<void> serve_cacheable(request_context& ctx, bool may_store);
  struct cache_fetch;
  boost::asio::awaitable<cache_fetch> fetch_for_cache(request_context& ctx,
                                                      const std::shared_ptr<const cache::entry>& cached,
                                                      const store_target& target,
                                                      const std::function<void()>* on_streaming,
                                                      bool refuse_streaming);
  boost::asio::awaitable<std::shared_ptr<const cache::entry>> lookup(const std::string& key);
  // True when the entry was stored.
  boost::asio::awaitable<bool> store(const std::string& key, std::shared_ptr<const cache::entry> e);
  boost::asio::awaitable<void> erase(const std::string& key);

  // send_pooled.cc: which credential sends `up`, and the move to another
  // when GitHub says that one is spent (docs/contract.md §7 "Rotation");
  // charges the client's budget for what the final answer cost.
  boost::asio::awaitable<pooled_answer> send_pooled(request_context& ctx, request& up, credentials::resource r,
                                                    const send_options& options);

  // fetch_upstream.cc: one upstream exchange; a body over max_object_bytes
  // is relayed to the client as it comes.
  // `before_streaming`, when set, runs once the head of an answer too large
  // to hold has arrived, before its body is relayed (the credential lease
  // is completed there rather than held for the whole transfer).
  using stream_hook = std::function<void(upstream_answer&)>;
  request upstream_request(request_context& ctx);
  boost::asio::awaitable<upstream_answer> fetch_upstream(request_context& ctx, request& up,
                                                         credentials::resource r,
                                                         std::string_view streamed_cache_status,
                                                         const stream_hook* before_streaming = nullptr,
                                                         bool refuse_streaming = false);

  // budget_gate.cc: refuses (429, true) a client over its upstream_budget
  // before a request that would spend a credit; charges an answer that did.
  boost::asio::awaitable<bool> refuse_over_budget(request_context& ctx);
  // When the client is over its budget: the Retry-After to give it.
  boost::asio::awaitable<std::optional<std::chrono::seconds>> budget_exceeded(request_context& ctx);
  boost::asio::awaitable<void> respond_over_budget(request_context& ctx, std::chrono::seconds retry_after);
  boost::asio::awaitable<void> charge_credit(request_context& ctx, unsigned status);

  // rate_limits.cc: what X-RateLimit-* and GET /rate_limit tell the client
  // (docs/contract.md §5 "Rate limits as the client sees them").
  bool client_view_on() const;
  // The client's view of resource `r` now; empty for an unknown client, with
  // pool.rate_limit_headers: github, or a source that keeps no numbers.
  boost::asio::awaitable<std::optional<credentials::rate_view>> client_rate_view(request_context& ctx,
                                                                                 credentials::resource r);
  // Sets ctx.rate_view, once per request, for ctx.limit_resource.
  boost::asio::awaitable<void> settle_rate_view(request_context& ctx);
  // A rate-limit refusal while the pool still has credits on other
  // credentials: the view says nothing is left for a second, and the
  // Retry-After to give (1 s); empty otherwise. After settle_rate_view.
  std::optional<std::chrono::seconds> view_of_refusal(request_context& ctx);
  // GitHub's answer names the bucket it charged: the view describes that one.
  void name_rate_limit_resource(request_context& ctx, const boost::beast::http::fields& answer);
  // GET or HEAD /rate_limit of a known client, in an API version the proxy
  // knows the body of: answered by answer_rate_limit.
  bool answers_rate_limit(const request_context& ctx, std::string_view normalised_path) const;
  boost::asio::awaitable<void> answer_rate_limit(request_context& ctx);

  // respond.cc: every answer the client gets.
  // Rewrites Link/Location for the client and sets Cache-Status.
  void prepare_for_client(boost::beast::http::fields& fields, request_context& ctx,
                          std::string_view cache_status) const;
  // The client's base for GitHub's URLs (docs/contract.md §5 "Rewriting").
  url_replacements client_urls(request_context& ctx) const;
  // A JSON body GitHub compressed, inflated with the client's URLs; nullopt
  // when it holds none of GitHub's URLs (sent as it is) or cannot be read.
  std::optional<std::string> inflate_for_client(request_context& ctx, std::string_view gzip) const;
  boost::asio::awaitable<void> relay_buffered(request_context& ctx, upstream_answer& answer,
                                              std::string_view cache_status);
  // Sets record.status to what was written (304 when the client's own
  // validators match the entry).
  boost::asio::awaitable<void> respond_from_entry(request_context& ctx, const cache::entry& e,
                                                  std::string_view cache_status);
  // The same with `lines` as the entry's header lines: a 304 merged into it
  // as views (cache::merged_not_modified_lines), the entry left as stored.
  boost::asio::awaitable<void> respond_from_entry(request_context& ctx, const cache::entry& e,
                                                  const cache::header_lines& lines, std::string_view cache_status);
  // 429 (every credential exhausted, or none has room under GitHub's
  // secondary limits) or 503 (all busy), docs/contract.md §5 "Errors".
  boost::asio::awaitable<void> answer_refusal(request_context& ctx, const pooled_answer& pooled);
  // The 429 of a request paced past pacing_wait, in GitHub's shape for a
  // secondary limit.
  boost::asio::awaitable<void> respond_secondary_limited(request_context& ctx, std::chrono::seconds retry_after);
  // serve_cacheable.cc: the last write to the request's path (write_marks.h).
  std::chrono::system_clock::time_point last_write(const request_context& ctx) const;
  boost::asio::awaitable<void> answer_failure(request_context& ctx, const upstream_answer& answer);
  boost::asio::awaitable<void> respond_rate_limited(request_context& ctx, std::chrono::seconds retry_after,
                                                    std::string_view message);
  boost::asio::awaitable<void> respond_error(request_context& ctx, unsigned status, std::string_view message,
                                             std::optional<std::chrono::seconds> retry_after = std::nullopt);

  // request_pipeline.cc: metrics and the access log line.
  void finish(const request_context& ctx);

  const shared_state& shared_;
  boost::asio::any_io_executor executor_;
  std::unique_ptr<upstream::client> upstream_;
  std::unique_ptr<cache::cache_store> store_;  // null: no cache
  std::unique_ptr<credentials::budget_ledger> redis_budgets_;  // this thread's, with Redis
  credentials::budget_ledger* budgets_ = nullptr;             // the one to use; null: none
  metrics::request_counters counters_;
};

}  // namespace github_proxy::proxy
