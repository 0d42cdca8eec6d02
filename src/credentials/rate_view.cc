#include "github_proxy/credentials/rate_view.h"

#include <algorithm>
#include <cmath>

namespace github_proxy::credentials {

rate_view pool_view(resource r, std::span<const bucket_view> buckets, std::int64_t reserve, time_point now) {
  rate_view out;
  out.r = r;
  std::optional<time_point> next;
  const auto earliest = [&](time_point t) {
    if (t > now && (!next || t < *next)) next = t;
  };
  for (const auto& b : buckets) {
    if (b.state == credential_state::broken) continue;  // comes back only when an operator acts
    const std::int64_t share = std::max<std::int64_t>(0, b.limit - reserve);
    out.limit += share;
    if (b.state == credential_state::ok) {
      const std::int64_t headroom = b.remaining - static_cast<std::int64_t>(b.in_flight) - reserve;
      out.remaining += std::clamp<std::int64_t>(headroom, 0, share);
      if (b.reset && b.remaining < b.limit) earliest(*b.reset);
    } else if (b.available_at) {
      earliest(*b.available_at);  // exhausted or cooling: back at its reset or cool-down end
    }
  }
  out.used = out.limit - out.remaining;
  out.reset = next.value_or(now + default_window(r));
  return out;
}

rate_view budget_view(resource r, const budget_status& status, auth::budget limit, time_point now) {
  rate_view out;
  out.r = r;
  out.limit = static_cast<std::int64_t>(limit.credits);
  // The estimate rounded down; below the budget exactly when not exceeded.
  const double spent = std::clamp(std::floor(status.spent), 0.0, static_cast<double>(out.limit));
  out.remaining = status.exceeded ? 0 : out.limit - static_cast<std::int64_t>(spent);
  out.used = out.limit - out.remaining;
  out.reset = now + (status.exceeded ? status.retry_after : status.unspent_after);
  return out;
}

rate_view client_view(const rate_view& pool, const std::optional<rate_view>& budget) {
  if (!budget) return pool;
  if (budget->remaining < pool.remaining) return *budget;
  if (pool.remaining < budget->remaining) return pool;
  if (pool.remaining == 0) return budget->reset >= pool.reset ? *budget : pool;
  return *budget;
}

}  // namespace github_proxy::credentials
