// Every answer the client gets: GitHub's answer held whole, an entry of the
// cache, and the proxy's own errors (docs/contract.md §5 "Errors"), each
// with the client's view of URLs (Link, Location) and a Cache-Status.
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <boost/container/small_vector.hpp>
#include <fmt/format.h>

#include "cache/gzip.h"
#include "common/http_fields.h"

#include "proxy/request_pipeline.h"

namespace github_proxy::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using metrics::cache_outcome;

namespace {

// Bounds the inflated size of a compressed JSON answer rewritten for a
// client: past it, the answer goes out compressed and unrewritten.
constexpr std::size_t max_inflated_json_bytes = 64 * 1024 * 1024;

bool gzip_encoded(const http::fields& fields) {
  const auto coding = fields[http::field::content_encoding];
  return beast::iequals(common::trim(coding), "gzip") || beast::iequals(common::trim(coding), "x-gzip");
}

}  // namespace

url_replacements request_pipeline::client_urls(request_context& ctx) const {
  if (!ctx.urls) {
    const bool trusted = ctx.client.peer && !shared_.trusted.empty() && shared_.trusted.contains(*ctx.client.peer);
    const auto base = public_base(shared_.cfg->listen.public_url, ctx.req,
                                  base_inputs{ctx.client.tls, ctx.client.local_authority, trusted});
    auto& urls = ctx.urls.emplace();
    urls.rest = base;
    // A GHES client of /api/graphql reads REST URLs under /api/v3.
    const std::string_view layout = ctx.route.graphql && ctx.route.client_prefix == "/api"
                                        ? std::string_view("/api/v3")
                                        : ctx.route.client_prefix;
    urls.rest.append(layout.begin(), layout.end());
    urls.uploads = base;
    urls.uploads.append("/api/uploads");
  }
  return {std::string_view(ctx.urls->rest.data(), ctx.urls->rest.size()),
          std::string_view(ctx.urls->uploads.data(), ctx.urls->uploads.size())};
}

std::optional<std::string> request_pipeline::inflate_for_client(request_context& ctx, std::string_view gzip) const {
  const auto to = client_urls(ctx);
  streaming_url_rewriter rewriter(shared_.origins, to);
  std::string out;
  std::size_t inflated = 0;
  const bool ok = cache::gunzip_to(gzip, max_inflated_json_bytes, [&](std::string_view piece) {
    inflated += piece.size();
    rewriter.feed(piece, out);
  });
  if (!ok) return std::nullopt;
  rewriter.finish(out);
  if (out.size() == inflated && !rewriter.rewrote()) return std::nullopt;
  return out;
}

void request_pipeline::prepare_for_client(http::fields& fields, request_context& ctx,
                                          std::string_view cache_status) const {
  strip_response_hop_by_hop(fields);
  // GitHub's URLs on the client's base, in the layout it used
  // (docs/contract.md §5 "Rewriting"). A Link that names nothing the client
  // can follow is dropped rather than left pointing at GitHub.
  const bool has_link = fields.find(http::field::link) != fields.end();
  const auto location = fields.find(http::field::location);
  if (has_link || location != fields.end()) {
    const auto to = client_urls(ctx);
    const auto request_path = path_of(ctx.route.path_and_query);
    if (has_link) {
      std::vector<std::string> links;
      for (auto [it, end] = fields.equal_range(http::field::link); it != end; ++it) {
        auto link = rewrite_link(it->value(), shared_.origins.rest, to.rest, request_path);
        if (!link.empty()) links.push_back(std::move(link));
      }
      fields.erase(http::field::link);
      for (const auto& link : links) fields.insert(http::field::link, link);
    }
    if (location != fields.end()) {
      fields.set(http::field::location, rewrite_location(location->value(), shared_.origins.rest, to.rest));
    }
  }
  fields.set("Cache-Status", cache_status);
  // The client's own limit rather than the credential's (rate_limits.cc).
  if (ctx.rate_view) set_rate_limit_fields(fields, *ctx.rate_view);
}

asio::awaitable<void> request_pipeline::relay_buffered(request_context& ctx, upstream_answer& answer,
                                                       std::string_view cache_status) {
  name_rate_limit_resource(ctx, answer.head);
  co_await settle_rate_view(ctx);
  const auto retry_now = ctx.limit_refusal ? view_of_refusal(ctx) : std::nullopt;
  response res{std::move(answer.head)};
  prepare_for_client(res.base(), ctx, cache_status);
  if (retry_now) res.set(http::field::retry_after, std::to_string(retry_now->count()));
  res.version(ctx.req.version());
  res.keep_alive(ctx.req.keep_alive());
  const unsigned status = answer.status;
  const bool head = ctx.req.method() == http::verb::head;
  const bool bodiless = head || status == 204 || status == 304 || status < 200;
  const bool json = is_json_media_type(res[http::field::content_type]);
  if (!bodiless && json) {
    if (gzip_encoded(res)) {
      if (auto inflated = inflate_for_client(ctx, answer.body)) {
        res.erase(http::field::content_encoding);
        answer.body = std::move(*inflated);
      }
    } else {
      rewrite_api_urls_in_place(answer.body, shared_.origins, client_urls(ctx));
    }
  } else if (head && json) {
    // GitHub's length is that of its bytes; a GET through the proxy gets
    // other URLs (and, from the cache, no compression): no length is
    // better than a wrong one.
    res.erase(http::field::content_length);
    res.erase(http::field::content_encoding);
  }
  if (!bodiless) res.content_length(answer.body.size());
  res.body() = std::move(answer.body);
  ctx.record.status = status;
  co_await ctx.out.write(res);
}

asio::awaitable<void> request_pipeline::respond_from_entry(request_context& ctx, const cache::entry& e,
                                                           std::string_view cache_status) {
  cache::header_lines lines(e.headers.begin(), e.headers.end());
  co_await respond_from_entry(ctx, e, lines, cache_status);
}

asio::awaitable<void> request_pipeline::respond_from_entry(request_context& ctx, const cache::entry& e,
                                                           const cache::header_lines& lines,
                                                           std::string_view cache_status) {
  co_await settle_rate_view(ctx);
  const auto& req = ctx.req;
  pieced_response res{static_cast<http::status>(e.status), req.version()};
  // The stored X-RateLimit-* are a credential's: the client's view replaces them.
  const bool own_view = ctx.rate_view.has_value();
  for (const auto& [name, value] : lines) {
    if (!own_view || !is_rate_limit_field(name)) res.insert(name, value);
  }
  prepare_for_client(res.base(), ctx, cache_status);
  res.keep_alive(req.keep_alive());
  const bool conditional_match =
      e.status == 200 && cache::client_conditional_matches(req[http::field::if_none_match],
                                                           req[http::field::if_modified_since], e);
  ctx.record.status = conditional_match ? 304 : res.result_int();
  if (conditional_match) {
    // RFC 9110 §15.4.5: the validators and caching fields, no content.
    res.result(http::status::not_modified);
    res.erase(http::field::content_length);
    res.erase(http::field::content_type);
    res.erase(http::field::content_encoding);
    co_await ctx.out.write_pieces(res, {});
    co_return;
  }
  // The stored body goes out in pieces with the client's URLs between them:
  // it is neither copied nor changed in the cache (docs/contract.md §5
  // "Rewriting"). A compressed JSON body is inflated to be rewritten.
  std::string_view body = e.body;
  std::optional<std::string> inflated;
  url_cuts cuts;
  boost::container::small_vector<asio::const_buffer, 64> pieces;
  if (is_json_media_type(res[http::field::content_type])) {
    if (e.encoding == cache::body_encoding::gzip) {
      inflated = inflate_for_client(ctx, e.body);
      if (inflated) {
        res.erase(http::field::content_encoding);
        body = *inflated;
      }
    } else {
      find_api_urls(body, shared_.origins, cuts);
    }
  }
  const bool head = req.method() == http::verb::head;
  if (cuts.empty()) {
    res.content_length(body.size());
    if (!head) pieces.push_back(asio::buffer(body));
  } else {
    const auto to = client_urls(ctx);
    res.content_length(rewritten_size(body.size(), cuts, shared_.origins, to));
    if (!head) {
      for_each_piece(body, cuts, shared_.origins, to,
                     [&](std::string_view piece) { pieces.push_back(asio::buffer(piece)); });
    }
  }
  co_await ctx.out.write_pieces(res, pieces);
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
  if (pooled.paced) {
    co_await respond_secondary_limited(ctx, pooled.retry_after.value_or(std::chrono::seconds(60)));
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
  co_await settle_rate_view(ctx);
  auto seconds = std::chrono::seconds(std::max<std::int64_t>(1, retry_after.count()));
  const auto now = credentials::system_clock_source().now();
  response res{http::status::too_many_requests, ctx.req.version()};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  if (auto& view = ctx.rate_view) {
    // The view and Retry-After say the same (docs/contract.md §5): nothing
    // left until its reset, and the client waits for whichever of its
    // budget and the pool comes back later.
    if (const auto again = view_of_refusal(ctx)) {
      seconds = *again;  // the pool has credits on other credentials
    } else {
      seconds = std::max(seconds, view->reset - now);
      view->reset = now + seconds;
    }
    set_rate_limit_fields(res.base(), *view);
  } else {
    res.set("X-RateLimit-Remaining", "0");
    res.set("X-RateLimit-Reset", std::to_string(credentials::to_epoch_seconds(now + seconds)));
  }
  res.set(http::field::retry_after, std::to_string(seconds.count()));
  res.set("Cache-Status", "github-proxy; fwd=bypass");
  res.body() = error_body(http::status::too_many_requests, message);
  res.keep_alive(ctx.req.keep_alive());
  res.prepare_payload();
  co_await ctx.out.write(res);
}

asio::awaitable<void> request_pipeline::respond_secondary_limited(request_context& ctx,
                                                                  std::chrono::seconds retry_after) {
  ctx.record.status = 429;
  if (ctx.out.started()) co_return;
  co_await settle_rate_view(ctx);
  // GitHub's own shape (docs/github-api.md §3.4), so that clients back off
  // as they would from GitHub: octokit's throttling matches "secondary rate"
  // in the message, go-github the documentation_url, both honour
  // Retry-After. The primary view stays what it is: the credits are there,
  // only not this minute (a remaining of 0 would read as the primary limit).
  response res{http::status::too_many_requests, ctx.req.version()};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  if (ctx.rate_view) set_rate_limit_fields(res.base(), *ctx.rate_view);
  res.set(http::field::retry_after, std::to_string(std::max<std::int64_t>(1, retry_after.count())));
  res.set("Cache-Status", "github-proxy; fwd=bypass; detail=secondary-limit");
  res.body() = error_body(http::status::too_many_requests,
                          "You have exceeded a secondary rate limit: no credential of the proxy has room under "
                          "GitHub's secondary rate limits now. Retry after the time in Retry-After.",
                          "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits");
  res.keep_alive(ctx.req.keep_alive());
  res.prepare_payload();
  co_await ctx.out.write(res);
}

asio::awaitable<void> request_pipeline::respond_error(request_context& ctx, unsigned status,
                                                      std::string_view message,
                                                      std::optional<std::chrono::seconds> retry_after) {
  ctx.record.status = status;
  if (ctx.out.started()) co_return;  // too late for a status line: the session closes
  co_await settle_rate_view(ctx);
  response res{static_cast<http::status>(status), ctx.req.version()};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  if (ctx.rate_view) set_rate_limit_fields(res.base(), *ctx.rate_view);
  res.set("Cache-Status", ctx.record.cache == cache_outcome::rejected ? "github-proxy; fwd=bypass"
                                                                      : "github-proxy; fwd=miss");
  if (retry_after) res.set(http::field::retry_after, std::to_string(retry_after->count()));
  res.body() = error_body(static_cast<http::status>(status), message);
  res.keep_alive(ctx.req.keep_alive());
  res.prepare_payload();
  co_await ctx.out.write(res);
}

}  // namespace github_proxy::proxy
