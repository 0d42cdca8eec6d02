// request_pipeline::handle — one client request, read top to bottom:
// route the target → authenticate and authorise against the registry →
// serve it through the cache (GET/HEAD the policy allows) or pass it through
// → count it and write the access log line.
#include "proxy/request_pipeline.h"

#include <boost/beast/http.hpp>

#include "auth/path_normalizer.h"
#include "common/logging.h"
#include "credentials/redis_budget_ledger.h"
#include "github_proxy/credentials/classify.h"
#include "proxy/request_fields.h"

namespace github_proxy::proxy {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using metrics::cache_outcome;

namespace {

// Marks what one shared token would have paid for (docs/contract.md §8
// "Status page"): any request of a known client that GitHub would have seen,
// whether this proxy allows it or refuses it for its scope, except
// GET /rate_limit, which GitHub does not charge (docs/github-api.md §3).
// A refusal as malformed or over budget clears the mark again.
void note_direct_demand(exchange_record& record, std::string_view method, const auth::verdict& verdict) {
  if (!verdict.who) return;
  if (verdict.kind != auth::verdict_kind::allowed && verdict.kind != auth::verdict_kind::forbidden) return;
  if (verdict.path == "/rate_limit" && (method == "GET" || method == "HEAD")) return;
  record.direct_demand = true;
  record.resource = credentials::infer_resource(method, verdict.path);
}

metrics::reject_reason reason_of(auth::verdict_kind kind) {
  switch (kind) {
    case auth::verdict_kind::unauthenticated: return metrics::reject_reason::unauthenticated;
    case auth::verdict_kind::forbidden: return metrics::reject_reason::scope;
    default: return metrics::reject_reason::bad_request;
  }
}

unsigned status_of(auth::verdict_kind kind) {
  switch (kind) {
    case auth::verdict_kind::unauthenticated: return 401;
    case auth::verdict_kind::forbidden: return 403;
    default: return 400;
  }
}

}  // namespace

std::unique_ptr<upstream::client> make_upstream_client(const shared_state& shared,
                                                       asio::any_io_executor executor) {
  const auto& cfg = *shared.cfg;
  upstream::client_options options;
  const unsigned threads = std::max(1u, cfg.listen.threads);
  options.max_connections = std::max<std::size_t>(1, cfg.upstream.max_connections_per_host / threads);
  options.connect_timeout = cfg.upstream.connect_timeout;
  options.request_timeout = cfg.upstream.request_timeout;
  return upstream::make_pooled_client(std::move(executor), shared.rest, shared.graphql, shared.upstream_tls,
                                      options);
}

request_pipeline::request_pipeline(const shared_state& shared, asio::any_io_executor executor,
                                   std::unique_ptr<upstream::client> upstream)
    : shared_(shared), executor_(executor), upstream_(std::move(upstream)), counters_(*shared.metrics) {
  if (shared.cache) store_ = shared.cache->for_thread(executor);
  budgets_ = shared.budgets;
  if (shared.budgets && shared.redis_budgets) {
    redis_budgets_ = std::make_unique<credentials::redis_budget_ledger>(
        executor, *shared.redis_budgets, credentials::system_clock_source(), *shared.budgets);
    budgets_ = redis_budgets_.get();
  }
}

request_pipeline::~request_pipeline() = default;

void request_pipeline::close_idle_connections() {
  upstream_->close_idle();
  store_.reset();
  budgets_ = shared_.budgets;
  redis_budgets_.reset();
}

asio::awaitable<void> request_pipeline::handle(request& req, response_writer& out,
                                               const client_endpoint_info& client) {
  request_context ctx{req, out, client, {}, {}, std::chrono::steady_clock::now()};
  // Whatever goes wrong inside, the client gets an answer (or a closed
  // connection once its answer has started), and the request is counted and
  // logged like any other.
  std::string escaped;
  try {
    co_await dispatch(ctx);
  } catch (const std::exception& e) {
    escaped = e.what();
  } catch (...) {
    escaped = "an exception of unknown type";
  }
  if (!escaped.empty()) {
    if (shared_.log) {
      shared_.log->error("request {} {} failed inside the proxy: {}", ctx.req.method_string(),
                         loggable_target(ctx.req.target()), escaped);
    }
    co_await respond_error(ctx, 500, "The proxy failed to handle this request");
  }
  finish(ctx);
}

asio::awaitable<void> request_pipeline::dispatch(request_context& ctx) {
  auto& req = ctx.req;
  if (!route_target(req.target(), ctx.route)) {
    counters_.rejected(ctx.record.client, metrics::reject_reason::bad_request).Increment();
    ctx.record.cache = cache_outcome::rejected;
    co_await respond_error(ctx, 400, "Request target must be an absolute path");
    co_return;
  }
  if (ctx.route.uploads) {
    co_await refuse_uploads(ctx);
    co_return;
  }
  if (const auto refused = normalise_request_fields(req); !refused.empty()) {
    counters_.rejected(ctx.record.client, metrics::reject_reason::bad_request).Increment();
    ctx.record.cache = cache_outcome::rejected;
    co_await respond_error(ctx, 400, refused);
    co_return;
  }
  if (req.method() == http::verb::trace && !req.body().empty()) {
    // RFC 9110 §9.3.8: a TRACE request has no content.
    counters_.rejected(ctx.record.client, metrics::reject_reason::bad_request).Increment();
    ctx.record.cache = cache_outcome::rejected;
    co_await respond_error(ctx, 400, "A TRACE request must not have a body");
    co_return;
  }

  // Authenticate and authorise against the client registry (docs/contract.md §4, §5).
  const auth::request_view view{req.method_string(), req.target(), req[http::field::authorization],
                                req.body(), req[http::field::content_type]};
  const auto verdict = auth::authorize(shared_.registry->current(), view,
                                       std::chrono::system_clock::now());
  ctx.registry = verdict.snapshot;
  if (verdict.who) {
    ctx.record.client = verdict.who->name;
    ctx.record.budget = verdict.who->upstream_budget;
    ctx.known_client = true;
  }
  ctx.graphql_cost = verdict.graphql_cost;
  ctx.limit_resource = credentials::infer_resource(req.method_string(), path_of(ctx.route.path_and_query));
  note_direct_demand(ctx.record, req.method_string(), verdict);
  // GitHub answers GET /rate_limit to any token; the proxy answers it from
  // the client's own view, whatever the client's scopes (rate_limits.cc).
  if ((verdict.kind == auth::verdict_kind::allowed || verdict.kind == auth::verdict_kind::forbidden) &&
      answers_rate_limit(ctx, verdict.path)) {
    co_await answer_rate_limit(ctx);
    co_return;
  }
  if (verdict.kind != auth::verdict_kind::allowed) {
    counters_.rejected(ctx.record.client, reason_of(verdict.kind)).Increment();
    ctx.record.cache = cache_outcome::rejected;
    co_await respond_error(ctx, status_of(verdict.kind), verdict.message);
    co_return;
  }
  // Endpoints GitHub serves only to an App's own JWT: no credential of the
  // pool is one, so GitHub's 401 would be the only possible answer (and
  // says nothing about the credential that was sent).
  if (credentials::requires_app_jwt(verdict.path)) {
    counters_.rejected(ctx.record.client, metrics::reject_reason::scope).Increment();
    ctx.record.cache = cache_outcome::rejected;
    co_await respond_error(ctx, 403,
                           "This endpoint needs a GitHub App's own JWT, which the proxy does not have: call "
                           "GitHub directly with your App's JWT for it");
    co_return;
  }
  // The scope was checked on the normalised path; the request is routed on
  // the bytes. Both must agree on GraphQL (`/%67raphql` is GraphQL to one
  // and REST to the other: the wrong resource, no GraphQL limit detection).
  if ((verdict.path == auth::graphql_path) != ctx.route.graphql) {
    ctx.record.direct_demand = false;  // malformed: GitHub would not have seen it as sent
    counters_.rejected(ctx.record.client, metrics::reject_reason::bad_request).Increment();
    ctx.record.cache = cache_outcome::rejected;
    co_await respond_error(ctx, 400, "non-canonical GraphQL path: use /graphql or /api/graphql");
    co_return;
  }

  // GET and HEAD go through the cache unless the policy says otherwise
  // (docs/contract.md §6: /search, /rate_limit, GraphQL, Range, …).
  const auto method = req.method();
  if (store_ && !ctx.route.graphql && (method == http::verb::get || method == http::verb::head)) {
    const auto cacheability =
        cache::request_cacheability(req.method_string(), path_of(ctx.route.path_and_query), req.base());
    if (cacheability.cacheable) {
      co_await serve_cacheable(ctx, cacheability.may_store);
      co_return;
    }
  }
  co_await pass_through(ctx);
}

asio::awaitable<bool> request_pipeline::refuse_head(request& head, response_writer& out,
                                                    const client_endpoint_info& client, std::string& client_name) {
  request_context ctx{head, out, client, {}, {}, std::chrono::steady_clock::now()};
  auth::request_view view{head.method_string(), head.target(), head[http::field::authorization], {},
                          head[http::field::content_type]};
  view.body_pending = true;
  const bool routable = route_target(head.target(), ctx.route);
  if (routable && ctx.route.uploads) {
    head.keep_alive(false);  // the body is left unread
    co_await refuse_uploads(ctx);
    finish(ctx);
    co_return true;
  }
  const auto verdict = auth::authorize(shared_.registry->current(), view, std::chrono::system_clock::now());
  if (routable && verdict.kind == auth::verdict_kind::allowed) {
    client_name = verdict.who ? std::string(verdict.who->name) : std::string();
    co_return false;
  }
  ctx.registry = verdict.snapshot;
  if (verdict.who) ctx.record.client = verdict.who->name;
  if (routable) note_direct_demand(ctx.record, head.method_string(), verdict);
  const auto kind = routable ? verdict.kind : auth::verdict_kind::bad_request;
  counters_.rejected(ctx.record.client, reason_of(kind)).Increment();
  ctx.record.cache = cache_outcome::rejected;
  head.keep_alive(false);  // the body is left unread
  co_await respond_error(ctx, status_of(kind),
                         routable ? std::string_view(verdict.message) : "Request target must be an absolute path");
  finish(ctx);
  co_return true;
}

asio::awaitable<void> request_pipeline::refuse_uploads(request_context& ctx) {
  // Release assets go to GitHub's uploads host, which the proxy does not
  // relay. Bodies' upload_url point here (public_urls.h) so that no proxy
  // token is ever sent to GitHub by a client that follows them; README
  // "Uploads" says what to do instead.
  counters_.rejected(ctx.record.client, metrics::reject_reason::bad_request).Increment();
  ctx.record.cache = cache_outcome::rejected;
  co_await respond_error(ctx, 501,
                         "github-proxy does not relay uploads (release assets): send them to GitHub's uploads "
                         "host with a GitHub token of your own");
}

asio::awaitable<void> request_pipeline::reject_malformed(unsigned status, std::string_view message,
                                                         response_writer& out,
                                                         const client_endpoint_info& client) {
  // A 503 of the session (the body budget) is over as soon as others finish.
  const auto retry_after = status == 503 ? std::optional(std::chrono::seconds(1)) : std::nullopt;
  co_await refuse_before_request(out, client, "unauthenticated", metrics::reject_reason::bad_request, status,
                                 message, retry_after);
}

asio::awaitable<void> request_pipeline::refuse_body_share(std::string_view client_name, response_writer& out,
                                                          const client_endpoint_info& client) {
  co_await refuse_before_request(out, client, client_name, metrics::reject_reason::budget, 429,
                                 "Too many request bodies of this client in flight; retry shortly",
                                 std::chrono::seconds(1));
}

asio::awaitable<void> request_pipeline::refuse_before_request(response_writer& out, const client_endpoint_info& client,
                                                              std::string_view client_name,
                                                              metrics::reject_reason reason, unsigned status,
                                                              std::string_view message,
                                                              std::optional<std::chrono::seconds> retry_after) {
  request empty;
  empty.method_string("-");
  empty.target("-");
  empty.keep_alive(false);
  request_context ctx{empty, out, client, {}, {}, std::chrono::steady_clock::now()};
  ctx.record.client = client_name;  // outlives ctx: the caller holds it
  ctx.record.cache = cache_outcome::rejected;
  counters_.rejected(ctx.record.client, reason).Increment();
  co_await respond_error(ctx, status, message, retry_after);
  finish(ctx);
}

void request_pipeline::finish(const request_context& ctx) {
  const auto& record = ctx.record;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.started).count();
  // The log line before the counters: whoever sees the count (a test, a
  // scrape) can rely on the line being written.
  if (shared_.access_log) {
    const auto path = loggable_target(ctx.req.target());
    logging::access_line line{record.client,
                              ctx.req.method_string(),
                              path,
                              record.status,
                              metrics::to_string(record.cache),
                              record.credential,
                              record.upstream_seconds,
                              seconds,
                              record.github_request_id};
    shared_.access_log->write(line);
  }
  // A 304 answers the client's own conditional request, which GitHub
  // would have answered for free too (docs/github-api.md §1.2). Demand is
  // counted with the request, before it: whoever sees one sees both.
  const bool demand = record.direct_demand && record.status != 304;
  if (demand && record.resource == credentials::resource::core && shared_.demand) shared_.demand->add(1);
  counters_
      .count_request(record.client, metrics::classify_method(ctx.req.method_string()), record.status, record.cache,
                     demand ? &record.resource : nullptr)
      .Increment();
  shared_.metrics->request_duration[static_cast<std::size_t>(record.cache)]->Observe(seconds);
}

}  // namespace github_proxy::proxy
