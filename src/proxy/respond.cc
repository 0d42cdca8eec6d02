// Every answer the client gets: GitHub's answer held whole, an entry of the
// cache, and the proxy's own errors (docs/contract.md §5 "Errors"), each
// with the client's view of URLs (Link, Location) and a Cache-Status.
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "proxy/request_pipeline.h"

namespace github_proxy::proxy {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using metrics::cache_outcome;

void request_pipeline::prepare_for_client(http::fields& fields, const request_context& ctx,
                                          std::string_view cache_status) const {
  strip_response_hop_by_hop(fields);
  // Where rewritten URLs point: the public base, keeping /api/v3 when the
  // client used it (docs/contract.md §5 "Rewriting").
  const bool has_link = fields.find(http::field::link) != fields.end();
  const auto location = fields.find(http::field::location);
  if (has_link || location != fields.end()) {
    std::string public_prefix =
        public_base(shared_.cfg->listen.public_url, ctx.client.tls, ctx.req[http::field::host]);
    if (!public_prefix.empty()) {
      public_prefix.append(ctx.route.client_prefix);
      if (has_link) {
        std::vector<std::string> links;
        for (auto [it, end] = fields.equal_range(http::field::link); it != end; ++it) {
          links.push_back(rewrite_link(it->value(), shared_.rest_url_prefix, public_prefix));
        }
        fields.erase(http::field::link);
        for (const auto& link : links) fields.insert(http::field::link, link);
      }
      if (location != fields.end()) {
        fields.set(http::field::location,
                   rewrite_location(location->value(), shared_.rest_url_prefix, public_prefix));
      }
    }
  }
  fields.set("Cache-Status", cache_status);
}

asio::awaitable<void> request_pipeline::relay_buffered(request_context& ctx, upstream_answer& answer,
                                                       std::string_view cache_status) {
  response res{std::move(answer.head)};
  prepare_for_client(res.base(), ctx, cache_status);
  res.version(ctx.req.version());
  res.keep_alive(ctx.req.keep_alive());
  const unsigned status = answer.status;
  const bool bodiless = ctx.req.method() == http::verb::head || status == 204 || status == 304 || status < 200;
  if (!bodiless) res.content_length(answer.body.size());
  res.body() = std::move(answer.body);
  ctx.record.status = status;
  co_await ctx.out.write(res);
}

asio::awaitable<void> request_pipeline::respond_from_entry(request_context& ctx, const cache::entry& e,
                                                           std::string_view cache_status) {
  const auto& req = ctx.req;
  response res{static_cast<http::status>(e.status), req.version()};
  for (const auto& [name, value] : e.headers) res.insert(name, value);
  prepare_for_client(res.base(), ctx, cache_status);
  res.keep_alive(req.keep_alive());
  const bool conditional_match =
      e.status == 200 && cache::client_conditional_matches(req[http::field::if_none_match],
                                                           req[http::field::if_modified_since], e);
  if (conditional_match) {
    // RFC 9110 §15.4.5: the validators and caching fields, no content.
    res.result(http::status::not_modified);
    res.erase(http::field::content_length);
    res.erase(http::field::content_type);
    res.erase(http::field::content_encoding);
  } else if (req.method() == http::verb::head) {
    res.content_length(e.body.size());
  } else {
    res.content_length(e.body.size());
    res.body() = e.body;
  }
  ctx.record.status = res.result_int();
  co_await ctx.out.write(res);
}

asio::awaitable<void> request_pipeline::answer_refusal(request_context& ctx, const pooled_answer& pooled) {
  if (pooled.outcome == credentials::selection_outcome::busy) {
    co_await respond_error(ctx, 503, "Every GitHub credential of the proxy is busy; retry shortly");
    co_return;
  }
  if (pooled.all_broken) {
    // Not a rate limit: no Retry-After would bring the credentials back.
    co_await respond_error(ctx, 503,
                           "Every GitHub credential of the proxy is rejected by GitHub (bad credentials); "
                           "the operators have to replace them");
    co_return;
  }
  // Every credential is spent for this resource until the earliest reset.
  const auto retry_after = pooled.retry_after.value_or(std::chrono::seconds(60));
  co_await respond_rate_limited(ctx, retry_after,
                                "API rate limit exceeded for every credential of the proxy. Retry after the "
                                "time in Retry-After.");
}

asio::awaitable<void> request_pipeline::answer_failure(request_context& ctx, const upstream_answer& answer) {
  if (answer.too_many_streams) {
    co_await respond_error(ctx, 503, "Too many large answers are being relayed; retry shortly");
    co_return;
  }
  std::string_view message = "GitHub did not answer in time";
  if (!answer.timed_out) message = answer.answered ? "GitHub closed the connection" : "GitHub is unreachable";
  co_await respond_error(ctx, answer.timed_out ? 504 : 502, message);
}

asio::awaitable<void> request_pipeline::respond_rate_limited(request_context& ctx, std::chrono::seconds retry_after,
                                                             std::string_view message) {
  ctx.record.status = 429;
  if (ctx.out.started()) co_return;
  const auto seconds = std::max<std::int64_t>(1, retry_after.count());
  const auto reset = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count() + seconds;
  response res{http::status::too_many_requests, ctx.req.version()};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.set(http::field::retry_after, std::to_string(seconds));
  res.set("X-RateLimit-Remaining", "0");
  res.set("X-RateLimit-Reset", std::to_string(reset));
  res.set("Cache-Status", "github-proxy; fwd=bypass");
  res.body() = error_body(http::status::too_many_requests, message);
  res.keep_alive(ctx.req.keep_alive());
  res.prepare_payload();
  co_await ctx.out.write(res);
}

asio::awaitable<void> request_pipeline::respond_error(request_context& ctx, unsigned status,
                                                      std::string_view message,
                                                      std::optional<std::chrono::seconds> retry_after) {
  ctx.record.status = status;
  if (ctx.out.started()) co_return;  // too late for a status line: the session closes
  response res{static_cast<http::status>(status), ctx.req.version()};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.set("Cache-Status", ctx.record.cache == cache_outcome::rejected ? "github-proxy; fwd=bypass"
                                                                      : "github-proxy; fwd=miss");
  if (retry_after) res.set(http::field::retry_after, std::to_string(retry_after->count()));
  res.body() = error_body(static_cast<http::status>(status), message);
  res.keep_alive(ctx.req.keep_alive());
  res.prepare_payload();
  co_await ctx.out.write(res);
}

}  // namespace github_proxy::proxy
