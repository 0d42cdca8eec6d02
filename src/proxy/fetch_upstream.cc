// request_pipeline::fetch_upstream — one upstream exchange, read top to
// bottom: send through the upstream client → count the answer → hold the
// body when it fits max_object_bytes (the cache may store it) or relay it to
// the client as it comes when it does not.
#include <algorithm>

#include <boost/beast/http.hpp>

#include "github_proxy/credentials/resource.h"
#include "proxy/request_pipeline.h"

namespace github_proxy::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::size_t relay_chunk_bytes = 64 * 1024;

// The fields the credential source needs of an answer whose head went to
// the client as it came.
void keep_limit_fields(const http::fields& head, http::fields& out) {
  for (const auto& field : head) {
    if (is_rate_limit_field(field.name_string())) {
      out.insert(field.name_string(), field.value());
    } else if (field.name() == http::field::retry_after) {
      out.insert(field.name(), field.value());
    }
  }
}

}  // namespace

request request_pipeline::upstream_request(request_context& ctx) {
  // Method, target and body byte for byte, end-to-end fields and a fixed
  // User-Agent (docs/contract.md §5); send_pooled adds the credential.
  auto& req = ctx.req;
  const auto& route = ctx.route;
  const auto& endpoint = route.graphql ? shared_.graphql : shared_.rest;
  request up;
  up.version(11);
  if (req.method() == http::verb::unknown) {
    up.method_string(req.method_string());
  } else {
    up.method(req.method());
  }
  up.target(route.graphql ? graphql_upstream_target(endpoint.base_path, route.path_and_query)
                          : upstream_target(endpoint.base_path, route.path_and_query));
  copy_request_fields(req.base(), up.base());
  up.set(http::field::host, endpoint.host_header);
  up.set(http::field::user_agent, shared_.user_agent);
  up.body() = std::move(req.body());  // no copy of the body
  up.keep_alive(true);
  return up;
}

asio::awaitable<request_pipeline::upstream_answer> request_pipeline::fetch_upstream(
    request_context& ctx, request& up, credentials::resource resource, std::string_view streamed_cache_status,
    const stream_hook* before_streaming, bool refuse_streaming) {
  auto& record = ctx.record;
  const auto sent_at = steady::now();
  auto exchange = co_await upstream_->send(up, ctx.route.graphql ? upstream::api::graphql : upstream::api::rest);
  record.upstream_seconds = std::chrono::duration<double>(steady::now() - sent_at).count();

  upstream_answer answer;
  if (!exchange.answered) {
    answer.timed_out = exchange.timed_out;
    counters_.upstream(record.credential, credentials::to_string(resource),
                       answer.timed_out ? metrics::upstream_timeout : metrics::upstream_error)
        .Increment();
    co_return answer;
  }
  answer.answered = true;
  answer.status = exchange.head.result_int();
  record.status = answer.status;
  if (auto id = exchange.head.find("X-GitHub-Request-Id"); id != exchange.head.end()) {
    record.github_request_id = std::string(id->value());
  }
  counters_.upstream(record.credential, credentials::to_string(resource), answer.status).Increment();
  shared_.metrics->upstream_duration(resource).Observe(record.upstream_seconds);

  // A body that fits is held whole (the cache may store it); one declared or
  // found to be over max_object_bytes is relayed as it comes, never held.
  auto& body = *exchange.body;
  const std::size_t max_held = shared_.cfg->cache.max_object_bytes;
  const bool over = exchange.content_length && *exchange.content_length > max_held;
  beast::error_code error;
  if (!over) {
    error = co_await upstream::read_whole(body, answer.body, max_held, exchange.content_length);
    if (!error) {
      answer.head = std::move(exchange.head);
      co_return answer;
    }
    if (error != http::error::body_limit) {
      answer.failed = true;
      answer.timed_out = error == beast::error::timeout;
      co_return answer;
    }
  }

  // Streaming: the head goes to the client now, then each piece as it comes.
  if (refuse_streaming) {
    answer.failed = true;
    answer.stream_refused = true;
    answer.body.clear();
    co_return answer;
  }
  if (ctx.req.method() == http::verb::head) {
    // A HEAD answered from a GET (a cache revalidation): the head alone. The
    // unread body closes that upstream connection.
    answer.streamed = true;
    keep_limit_fields(exchange.head, answer.limit_fields);
    if (before_streaming && *before_streaming) (*before_streaming)(answer);
    if (answer.charge_at_head) {
      co_await charge_credit(ctx, answer.status);
      answer.charged = true;
    }
    name_rate_limit_resource(ctx, exchange.head);
    co_await settle_rate_view(ctx);
    response res{std::move(exchange.head)};
    prepare_for_client(res.base(), ctx, streamed_cache_status);
    res.version(ctx.req.version());
    res.keep_alive(ctx.req.keep_alive());
    answer.failed = static_cast<bool>(co_await ctx.out.write(res));
    co_return answer;
  }
  if (!body.begin_stream()) {
    answer.failed = true;
    answer.too_many_streams = true;
    answer.body.clear();
    co_return answer;
  }
  answer.streamed = true;
  answer.status = exchange.head.result_int();
  keep_limit_fields(exchange.head, answer.limit_fields);
  if (before_streaming && *before_streaming) (*before_streaming)(answer);
  if (answer.charge_at_head) {
    co_await charge_credit(ctx, answer.status);  // before the head, whose view counts it
    answer.charged = true;
  }
  name_rate_limit_resource(ctx, exchange.head);
  co_await settle_rate_view(ctx);
  streamed_response streamed;
  streamed.base() = std::move(exchange.head);
  prepare_for_client(streamed.base(), ctx, streamed_cache_status);
  streamed.version(ctx.req.version());
  streamed.keep_alive(ctx.req.keep_alive());
  // A JSON body gets the client's URLs as it passes (docs/contract.md §5
  // "Rewriting"); its length changes, so it goes chunked. A compressed one
  // passes as it is (README "Limits").
  std::optional<streaming_url_rewriter> rewriter;
  std::string rewritten;
  if (is_json_media_type(streamed[http::field::content_type]) &&
      streamed.find(http::field::content_encoding) == streamed.end()) {
    rewriter.emplace(shared_.origins, client_urls(ctx));
    streamed.erase(http::field::content_length);
    streamed.chunked(true);
  }
  // Sends one piece of the body, rewritten when it is JSON.
  auto relay = [&](const char* data, std::size_t size) -> asio::awaitable<beast::error_code> {
    if (!rewriter) co_return co_await ctx.out.chunk(data, size);
    rewritten.clear();
    rewriter->feed(std::string_view(data, size), rewritten);
    if (rewritten.empty()) co_return beast::error_code{};
    co_return co_await ctx.out.chunk(rewritten.data(), rewritten.size());
  };
  if (!exchange.content_length) streamed.chunked(true);
  error = co_await ctx.out.begin(streamed);
  if (!error && !answer.body.empty()) error = co_await relay(answer.body.data(), answer.body.size());
  answer.body.clear();
  answer.body.shrink_to_fit();
  if (!error) {
    // Allocated only now: a held body never needs it.
    const auto piece = std::make_unique<char[]>(relay_chunk_bytes);
    // A client that reads slower than upstream.min_stream_rate on average
    // (after a grace of request_timeout) is cut off: it would hold an
    // upstream connection for as long as it liked. Only the time spent
    // writing to the client counts, not GitHub's own pace. (A client that
    // stops reading altogether is cut by the write deadline,
    // listen.read_timeout, once the socket buffers are full.)
    const auto grace = shared_.cfg->upstream.request_timeout;
    const std::uint64_t min_rate = std::max<std::uint64_t>(shared_.cfg->upstream.min_stream_rate, 1);
    steady::duration writing{};
    std::uint64_t relayed = 0;
    while (!error && !body.done()) {
      const auto got = co_await body.read_some(piece.get(), relay_chunk_bytes);
      if (got.error) {
        error = got.error;
      } else if (got.size) {
        const auto write_started = steady::now();
        error = co_await relay(piece.get(), got.size);
        writing += steady::now() - write_started;
        relayed += got.size;
        const auto allowed = grace + std::chrono::milliseconds(relayed * 1000 / min_rate);
        const bool too_slow = !error && writing > allowed;
        if (too_slow) error = beast::error::timeout;
        if (error == beast::error::timeout && shared_.log) {
          shared_.log->warn("streamed answer to client {} cut off after {} bytes and {} ms of writing: {}",
                            ctx.record.client, relayed,
                            std::chrono::duration_cast<std::chrono::milliseconds>(writing).count(),
                            too_slow ? "it read slower than upstream.min_stream_rate"
                                     : "a write took longer than listen.read_timeout");
        }
      }
    }
  }
  if (!error && rewriter) {
    rewritten.clear();
    rewriter->finish(rewritten);
    if (!rewritten.empty()) error = co_await ctx.out.chunk(rewritten.data(), rewritten.size());
  }
  if (!error) error = co_await ctx.out.end();
  // An error after the head was sent can only be signalled by closing; the
  // session sees `out` failed or closes because the body is short.
  answer.failed = static_cast<bool>(error);
  co_return answer;
}

}  // namespace github_proxy::proxy
