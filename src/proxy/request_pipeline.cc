#include "proxy/request_pipeline.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "common/logging.h"
#include "credentials/redis_budget_ledger.h"
#include "github_proxy/credentials/resource.h"
#include "proxy/forwarding.h"

namespace github_proxy::proxy {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using metrics::cache_outcome;

namespace {

upstream::pool_limits limits_for(const config::config& cfg) {
  upstream::pool_limits limits;
  const unsigned threads = std::max(1u, cfg.listen.threads);
  limits.max_connections = std::max<std::size_t>(1, cfg.upstream.max_connections_per_host / threads);
  limits.connect_timeout = cfg.upstream.connect_timeout;
  return limits;
}

metrics::reject_reason reason_of(auth::verdict_kind kind) {
  switch (kind) {
    case auth::verdict_kind::unauthenticated: return metrics::reject_reason::unauthenticated;
    case auth::verdict_kind::forbidden: return metrics::reject_reason::scope;
    default: return metrics::reject_reason::bad_request;
  }
}

}  // namespace

request_pipeline::request_pipeline(const shared_state& shared, asio::any_io_executor executor)
    : shared_(shared), executor_(executor), counters_(*shared.metrics) {
  if (shared.cache) store_ = shared.cache->for_thread(executor);
  budgets_ = shared.budgets;
  if (shared.budgets && shared.redis_budgets) {
    redis_budgets_ = std::make_unique<credentials::redis_budget_ledger>(
        executor, *shared.redis_budgets, credentials::system_clock_source(), *shared.budgets);
    budgets_ = redis_budgets_.get();
  }
  const auto limits = limits_for(*shared.cfg);
  rest_pool_ = std::make_unique<upstream::connection_pool>(executor, shared.rest,
                                                           shared.upstream_tls, limits);
  if (!shared.graphql.same_origin(shared.rest)) {
    graphql_pool_ = std::make_unique<upstream::connection_pool>(executor, shared.graphql,
                                                                shared.upstream_tls, limits);
  }
}

request_pipeline::~request_pipeline() = default;

void request_pipeline::close_idle_connections() {
  rest_pool_->close_idle();
  if (graphql_pool_) graphql_pool_->close_idle();
  store_.reset();
  budgets_ = shared_.budgets;
  redis_budgets_.reset();
}

asio::awaitable<void> request_pipeline::handle(request& req, response_writer& out,
                                               const client_endpoint_info& client) {
  const auto started = std::chrono::steady_clock::now();
  exchange_record record;
  routed_path route;
  if (!route_target(req.target(), route)) {
    counters_.rejected(record.client, metrics::reject_reason::bad_request).Increment();
    record.cache = cache_outcome::rejected;
    co_await respond_error(out, 400, "Request target must be an absolute path", req.version(),
                           req.keep_alive(), record);
    finish(req, record, started);
    co_return;
  }

  // Authenticate and authorise against the client registry (SPEC §4, §5).
  const auth::request_view view{req.method_string(), req.target(), req[http::field::authorization],
                                req.body()};
  const auto verdict = auth::authorize(shared_.registry->current(), view,
                                       std::chrono::system_clock::now());
  if (verdict.who) {
    record.client = verdict.who->name;
    record.budget = verdict.who->upstream_budget;
  }
  if (verdict.kind != auth::verdict_kind::allowed) {
    counters_.rejected(record.client, reason_of(verdict.kind)).Increment();
    record.cache = cache_outcome::rejected;
    const unsigned status = verdict.kind == auth::verdict_kind::unauthenticated ? 401
                            : verdict.kind == auth::verdict_kind::forbidden     ? 403
                                                                                : 400;
    co_await respond_error(out, status, verdict.message, req.version(), req.keep_alive(), record);
    finish(req, record, started);
    co_return;
  }

  // GET and HEAD go through the cache unless the policy says otherwise
  // (SPEC §6: /search, /rate_limit, GraphQL, Range, …).
  const auto method = req.method();
  if (store_ && !route.graphql && (method == http::verb::get || method == http::verb::head) &&
      cache::request_cacheability(req.method_string(), path_of(route.path_and_query), req.base()).cacheable) {
    co_await serve_cacheable(req, route, out, client, record);
  } else {
    co_await forward(req, route, out, client, record);
  }
  finish(req, record, started);
}

asio::awaitable<void> request_pipeline::reject_malformed(unsigned status, std::string_view message,
                                                         response_writer& out,
                                                         const client_endpoint_info&) {
  const auto started = std::chrono::steady_clock::now();
  exchange_record record;
  record.cache = cache_outcome::rejected;
  counters_.rejected(record.client, metrics::reject_reason::bad_request).Increment();
  co_await respond_error(out, status, message, 11, false, record);
  request empty;
  empty.method_string("-");
  empty.target("-");
  finish(empty, record, started);
}

asio::awaitable<void> request_pipeline::respond_error(response_writer& out, unsigned status,
                                                      std::string_view message, unsigned version,
                                                      bool keep_alive, exchange_record& record) {
  record.status = status;
  if (out.started()) co_return;  // too late for a status line: the session closes
  response res{static_cast<http::status>(status), version};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.set("Cache-Status", record.cache == cache_outcome::rejected ? "github-proxy; fwd=bypass"
                                                                  : "github-proxy; fwd=miss");
  res.body() = error_body(static_cast<http::status>(status), message);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  co_await out.write(res);
}

asio::awaitable<bool> request_pipeline::refuse_over_budget(const request& req, response_writer& out,
                                                          exchange_record& record) {
  if (!record.budget || !budgets_) co_return false;
  const auto status = co_await budgets_->check(record.client, *record.budget);
  if (!status.exceeded) co_return false;
  counters_.rejected(record.client, metrics::reject_reason::budget).Increment();
  record.cache = cache_outcome::rejected;
  co_await respond_rate_limited(
      out, req, status.retry_after,
      fmt::format("Upstream budget exceeded for client {}: {} credits per {} s. Answers the cache can "
                  "revalidate for free are still served.",
                  record.client, record.budget->credits, record.budget->window.count()),
      record);
  co_return true;
}

asio::awaitable<void> request_pipeline::charge_credit(const exchange_record& record, unsigned status) {
  if (!credentials::spends_upstream_credit(status)) co_return;
  counters_.client_credits(record.client).Increment();
  if (record.budget && budgets_) co_await budgets_->charge(record.client, *record.budget, 1);
}

asio::awaitable<void> request_pipeline::respond_rate_limited(response_writer& out, const request& req,
                                                            std::chrono::seconds retry_after,
                                                            std::string_view message,
                                                            exchange_record& record) {
  record.status = 429;
  if (out.started()) co_return;
  const auto seconds = std::max<std::int64_t>(1, retry_after.count());
  const auto reset = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count() + seconds;
  response res{http::status::too_many_requests, req.version()};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.set(http::field::retry_after, std::to_string(seconds));
  res.set("X-RateLimit-Remaining", "0");
  res.set("X-RateLimit-Reset", std::to_string(reset));
  res.set("Cache-Status", "github-proxy; fwd=bypass");
  res.body() = error_body(http::status::too_many_requests, message);
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  co_await out.write(res);
}

void request_pipeline::finish(const request& req, const exchange_record& record,
                              std::chrono::steady_clock::time_point started) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  counters_.requests(record.client, metrics::classify_method(req.method_string()), record.status,
                     record.cache)
      .Increment();
  shared_.metrics->request_duration[static_cast<std::size_t>(record.cache)]->Observe(seconds);
  if (shared_.access_log) {
    logging::access_line line{record.client,
                              req.method_string(),
                              loggable_target(req.target()),
                              record.status,
                              metrics::to_string(record.cache),
                              record.credential,
                              record.upstream_seconds,
                              seconds,
                              record.github_request_id};
    logging::write_access_line(*shared_.access_log, line,
                               shared_.cfg->logging.format == config::log_format::json);
  }
}

}  // namespace github_proxy::proxy
