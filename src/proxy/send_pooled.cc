// request_pipeline::send_pooled — which credential sends a request, and the
// move to another when GitHub says that one is spent (docs/contract.md §7),
// read top to bottom: acquire a lease → send → tell the credential source
// what GitHub answered → once, on a rate limit or a 401, again with another
// credential.
#include <boost/beast/http.hpp>

#include "proxy/request_pipeline.h"

namespace github_proxy::proxy {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using credentials::verdict_kind;

namespace {

bool moves_to_another_credential(verdict_kind kind) {
  return kind == verdict_kind::primary_limit || kind == verdict_kind::secondary_limit ||
         kind == verdict_kind::bad_credential;
}

}  // namespace

asio::awaitable<request_pipeline::pooled_answer> request_pipeline::send_pooled(
    request_context& ctx, request& up, credentials::resource r, const send_options& options) {
  auto& source = *shared_.credentials;
  pooled_answer result;
  std::optional<pooled_answer> first;  // GitHub's answer to the first credential
  verdict_kind first_kind = verdict_kind::ok;
  std::array<std::string_view, 1> tried{};
  // What it costs under GitHub's secondary limits (docs/github-api.md §3.4).
  credentials::secondary_demand demand{
      credentials::secondary_cost(ctx.req.method_string(), ctx.route.graphql,
                                  ctx.graphql_cost != auth::graphql_operation_cost::query),
      !options.answer_when_paced};
  if (ctx.graphql_cost == auth::graphql_operation_cost::unknown) demand.cost.creates_content = false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const std::span<const std::string_view> exclude(tried.data(), attempt);
    auto got = co_await source.acquire(r, attempt == 0 ? options.preferred : std::string_view{}, exclude,
                                       options.free_revalidation, demand);
    if (!got.granted && attempt == 1 && first_kind == verdict_kind::bad_credential) {
      // A 401 and no other credential: the same one once more, which
      // renews an App's installation token (or finds a reloaded secret).
      got = co_await source.acquire(r, {}, {}, options.free_revalidation, demand);
    }
    if (!got.granted) {
      // Nobody else can send it: the client gets GitHub's own answer to the
      // first credential, or the source's 429/503 when nothing was sent.
      if (first) co_return std::move(*first);
      result.refused = true;
      result.outcome = got.outcome;
      result.retry_after = got.retry_after;
      result.all_broken = got.all_broken;
      result.paced = got.paced;
      co_return result;
    }
    auto& lease = *got.granted;
    up.set(http::field::authorization, lease.authorization);
    if (options.prepare && *options.prepare) (*options.prepare)(up, lease);
    ctx.record.credential = lease.name;

    result = pooled_answer{};
    // A large answer is relayed for as long as the client reads: the lease
    // (an in-flight slot of the credential) is completed at its head.
    // One pointer captured: the std::function holds it inline, no allocation.
    struct at_head {
      credentials::credential_source& source;
      credentials::lease& lease;
      const send_options& options;
      std::optional<credentials::verdict> verdict;
    } head_state{source, lease, options, std::nullopt};
    const stream_hook complete_at_head = [state = &head_state](upstream_answer& head) {
      state->verdict = state->source.complete(state->lease, head.status, head.limit_fields, {});
      // A rate-limit refusal costs GitHub no credit, so the client neither.
      head.charge_at_head = state->verdict->kind != verdict_kind::primary_limit &&
                            state->verdict->kind != verdict_kind::secondary_limit;
      if (state->options.on_streaming && *state->options.on_streaming) (*state->options.on_streaming)();
    };
    result.answer = co_await fetch_upstream(ctx, up, r, options.streamed_cache_status, &complete_at_head,
                                            options.refuse_streaming);
    auto& answer = result.answer;
    if (!answer.answered) {
      source.abandon(lease);
      co_return result;
    }
    result.credential = lease.name;
    result.authorization = lease.authorization;
    const auto verdict = head_state.verdict ? *head_state.verdict
                                          : source.complete(lease, answer.status, answer.head, answer.body);
    result.rate_limited = verdict.kind == verdict_kind::primary_limit ||
                          verdict.kind == verdict_kind::secondary_limit;
    result.secondary_limited = verdict.kind == verdict_kind::secondary_limit;
    if (attempt == 0 && !answer.streamed && !answer.failed && moves_to_another_credential(verdict.kind)) {
      tried[0] = lease.name;
      first_kind = verdict.kind;
      first = std::move(result);
      continue;
    }
    // A rate-limit refusal costs GitHub no credit, so the client neither.
    if (!result.rate_limited && !answer.charged) co_await charge_credit(ctx, answer.status);
    co_return result;
  }
  co_return result;
}

}  // namespace github_proxy::proxy
