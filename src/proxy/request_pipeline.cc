#include "proxy/request_pipeline.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "common/logging.h"
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
    : shared_(shared), counters_(*shared.metrics) {
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
  if (verdict.who) record.client = verdict.who->name;
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

  co_await forward(req, route, out, client, record);
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
