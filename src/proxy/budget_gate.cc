// Per-client upstream budgets (docs/contract.md §5 "Budgets"): a client over
// its budget is refused before a request that would spend a credit, and
// every answer that did spend one is charged to it.
#include <fmt/format.h>

#include "proxy/request_pipeline.h"

namespace github_proxy::proxy {

namespace asio = boost::asio;
using metrics::cache_outcome;

asio::awaitable<std::optional<std::chrono::seconds>> request_pipeline::budget_exceeded(request_context& ctx) {
  const auto& record = ctx.record;
  if (!record.budget || !budgets_) co_return std::nullopt;
  const auto status = co_await budgets_->check(record.client, *record.budget);
  ctx.budget_seen = status;  // what the client is told, unless it spends (rate_limits.cc)
  if (!status.exceeded) co_return std::nullopt;
  co_return status.retry_after;
}

asio::awaitable<void> request_pipeline::respond_over_budget(request_context& ctx, std::chrono::seconds retry_after) {
  auto& record = ctx.record;
  counters_.rejected(record.client, metrics::reject_reason::budget).Increment();
  record.cache = cache_outcome::rejected;
  // Not demand on one shared token (docs/contract.md §8 "Status page"): the
  // client retries after Retry-After, and the retry is the same request.
  record.direct_demand = false;
  // Named, not a temporary: GCC 12 mishandles temporaries in co_await
  // arguments (PR 100611 and relatives).
  const std::string message =
      fmt::format("Upstream budget exceeded for client {}: {} credits per {} s. Answers the cache can "
                  "revalidate for free are still served.",
                  record.client, record.budget->credits, record.budget->window.count());
  co_await respond_rate_limited(ctx, retry_after, message);
}

asio::awaitable<bool> request_pipeline::refuse_over_budget(request_context& ctx) {
  const auto retry_after = co_await budget_exceeded(ctx);
  if (!retry_after) co_return false;
  co_await respond_over_budget(ctx, *retry_after);
  co_return true;
}

asio::awaitable<void> request_pipeline::charge_credit(request_context& ctx, unsigned status) {
  if (!credentials::spends_upstream_credit(status)) co_return;
  const auto& record = ctx.record;
  counters_.client_credits(record.client).Increment();
  if (!record.budget || !budgets_) co_return;
  // What the client is told from now on (rate_limits.cc), from the charge's
  // own answer: no second round trip to a shared ledger.
  ctx.budget_seen = co_await budgets_->charge(record.client, *record.budget, 1);
}

}  // namespace github_proxy::proxy
