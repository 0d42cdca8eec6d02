// request_pipeline::send_pooled — which credential sends a request, and the
// move to another when GitHub says that one is spent (SPEC §7), read top to
// bottom: acquire a lease → send → tell the pool what GitHub answered →
// once, on a rate limit or a 401, again with another credential.
#include <boost/beast/http.hpp>
#include <fmt/format.h>

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
    request& up, bool graphql, credentials::resource r, std::string_view preferred,
    const credential_hook& prepare, relay_context relay, exchange_record& record, bool free_revalidation) {
  pooled_answer result;
  std::optional<pooled_answer> first;  // GitHub's answer to the first credential
  verdict_kind first_kind = verdict_kind::ok;
  std::array<std::string_view, 1> tried{};
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto got = co_await shared_.pool->acquire(r, attempt == 0 ? preferred : std::string_view{},
                                              std::span<const std::string_view>(tried.data(), attempt),
                                              free_revalidation);
    if (!got.granted && attempt == 1 && first_kind == verdict_kind::bad_credential) {
      // A 401 and no other credential: the same one once more, which
      // renews an App's installation token (or finds a reloaded secret).
      got = co_await shared_.pool->acquire(r, {}, {}, free_revalidation);
    }
    if (!got.granted) {
      // Nobody else can send it: the client gets GitHub's own answer to the
      // first credential, or the pool's 429/503 when nothing was sent.
      if (first) co_return std::move(*first);
      result.refused = true;
      result.outcome = got.outcome;
      result.retry_after = got.retry_after;
      co_return result;
    }
    auto& lease = *got.granted;
    up.set(http::field::authorization, lease.authorization);
    if (prepare) prepare(up, lease);
    record.credential = lease.name;

    result = pooled_answer{};
    result.answer = co_await exchange(up, graphql, r, relay, record);
    auto& answer = result.answer;
    if (!answer.answered) {
      shared_.pool->abandon(lease);
      co_return result;
    }
    result.credential = lease.name;
    result.authorization = lease.authorization;
    const auto& fields = answer.streamed ? answer.limit_fields : answer.head;
    const auto verdict = shared_.pool->complete(lease, answer.status, fields,
                                                answer.streamed ? std::string_view{} : answer.body);
    result.rate_limited = verdict.kind == verdict_kind::primary_limit ||
                          verdict.kind == verdict_kind::secondary_limit;
    if (attempt == 0 && !answer.streamed && !answer.failed && moves_to_another_credential(verdict.kind)) {
      tried[0] = lease.name;
      first_kind = verdict.kind;
      first = std::move(result);
      continue;
    }
    // A rate-limit refusal costs GitHub no credit, so the client neither.
    if (!result.rate_limited) co_await charge_credit(record, answer.status);
    co_return result;
  }
  co_return result;
}

asio::awaitable<void> request_pipeline::answer_refusal(const pooled_answer& pooled, const request& req,
                                                       response_writer& out, exchange_record& record) {
  if (pooled.outcome == credentials::selection_outcome::busy) {
    co_await respond_error(out, 503, "Every GitHub credential of the proxy is busy; retry shortly",
                           req.version(), req.keep_alive(), record);
    co_return;
  }
  // Every credential is spent for this resource until the earliest reset.
  const auto retry_after = pooled.retry_after.value_or(std::chrono::seconds(60));
  co_await respond_rate_limited(out, req, retry_after,
                                "API rate limit exceeded for every credential of the proxy. Retry after the "
                                "time in Retry-After.",
                                record);
}

}  // namespace github_proxy::proxy
