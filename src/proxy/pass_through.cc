// request_pipeline::pass_through — a request that does not go through the
// cache (writes, GraphQL, /search, …), read top to bottom: the budget gate
// → build the upstream request → send it with a pooled credential → relay
// the answer. A cold conditional GET comes here too, with a `store` target:
// its full 200 is stored, its 304 never.
#include <boost/beast/http.hpp>

#include "common/http_fields.h"
#include "github_proxy/credentials/resource.h"
#include "proxy/request_pipeline.h"

namespace github_proxy::proxy {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using metrics::cache_outcome;

namespace {

constexpr std::string_view status_bypass = "github-proxy; fwd=bypass";
constexpr std::string_view status_not_stored = "github-proxy; fwd=miss";
constexpr std::string_view status_stored = "github-proxy; fwd=miss; stored";

}  // namespace

asio::awaitable<void> request_pipeline::pass_through(request_context& ctx, const store_target* store_key) {
  auto& req = ctx.req;
  if (!store_key) ctx.record.cache = cache_outcome::bypass;
  if (co_await refuse_over_budget(ctx)) co_return;
  auto up = upstream_request(ctx);
  if (store_key) {
    // Stored bodies are identity or gzip, as the key says.
    up.set(http::field::accept_encoding, store_key->encoding == cache::body_encoding::gzip ? "gzip" : "identity");
  } else if (ctx.route.graphql) {
    // GraphQL's rate-limit errors come in a 200's body, which the credential
    // source must be able to read.
    up.set(http::field::accept_encoding, "identity");
  } else {
    // Only codings the proxy can read: a JSON answer is rewritten for the
    // client (docs/contract.md §5 "Rewriting"), which br or zstd would hide.
    up.set(http::field::accept_encoding, common::accepts_gzip(req[http::field::accept_encoding]) ? "gzip" : "identity");
  }
  send_options options;
  options.streamed_cache_status = store_key ? status_not_stored : status_bypass;
  // What GitHub answers is as of this instant at the latest (see cache_fetch::sent_at).
  const auto sent_at = std::chrono::system_clock::now();
  auto pooled = co_await send_pooled(ctx, up, ctx.limit_resource, options);
  if (pooled.refused) {
    co_await answer_refusal(ctx, pooled);
    co_return;
  }
  auto& answer = pooled.answer;
  // A write that may have reached GitHub: what the cache holds for the path
  // is not answered again without asking GitHub (RFC 9111 §4.4). Only a
  // client error says it was not applied; a failure, a timeout or a 5xx may
  // hide one that was, and marking it costs no more than a revalidation.
  const auto method = req.method();
  const bool client_error = answer.answered && !answer.failed && answer.status >= 400 && answer.status < 500;
  if (shared_.writes && !ctx.route.graphql && !client_error && method != http::verb::get &&
      method != http::verb::head && method != http::verb::options) {
    shared_.writes->mark(path_of(ctx.route.path_and_query), std::chrono::system_clock::now());
  }
  if (answer.streamed) co_return;
  if (!answer.answered || answer.failed) {
    co_await answer_failure(ctx, answer);
    co_return;
  }
  if (store_key && req.method() == http::verb::get &&
      cache::response_storable(answer.status, answer.head, answer.body.size(), shared_.cfg->cache.max_object_bytes)) {
    auto e = std::make_shared<cache::entry>(cache::make_entry(answer.status, answer.head, answer.body,
                                                              pooled.credential, pooled.authorization,
                                                              up[http::field::accept], sent_at));
    cache::keep_json_inflated(*e, shared_.cfg->cache.max_object_bytes);
    // Stored before answering, so that Cache-Status can say whether it was.
    const bool stored = co_await store(store_key->key, std::move(e));
    co_await relay_buffered(ctx, answer, stored ? status_stored : status_not_stored);
    co_return;
  }
  ctx.limit_refusal = pooled.rate_limited;
  co_await relay_buffered(ctx, answer, options.streamed_cache_status);
}

}  // namespace github_proxy::proxy
