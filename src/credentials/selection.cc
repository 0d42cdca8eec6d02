#include "github_proxy/credentials/selection.h"

namespace github_proxy::credentials {

candidate make_candidate(const credential_limits& limits, resource r, time_point now,
                         std::uint64_t last_selected) {
  const auto view = limits.bucket(r, now);
  candidate out;
  out.state = view.state;
  out.available_at = view.available_at;
  out.remaining = view.remaining;
  out.reset = view.reset;
  out.in_flight_resource = view.in_flight;
  out.in_flight_total = limits.in_flight();
  out.last_selected = last_selected;
  return out;
}

selection select_credential(std::span<const candidate> candidates, const selection_policy& policy,
                            std::optional<std::size_t> preferred, time_point now) {
  std::optional<std::size_t> best;
  std::int64_t best_headroom = 0;
  bool busy = false;
  std::optional<time_point> retry_at;
  const auto consider_retry = [&](std::optional<time_point> at) {
    if (at && *at > now && (!retry_at || *at < *retry_at)) retry_at = at;
  };

  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const auto& c = candidates[i];
    if (c.state != credential_state::ok) {
      consider_retry(c.available_at);
      continue;
    }
    const std::int64_t headroom = c.remaining - static_cast<std::int64_t>(c.in_flight_resource);
    if (c.in_flight_total >= policy.max_concurrent) {
      busy = true;  // a slot frees when one of its requests completes
      continue;
    }
    if (headroom <= policy.reserve) {
      if (c.remaining > policy.reserve) {
        busy = true;  // the credits are held by requests in flight; some may come back free (304)
      } else {
        consider_retry(c.reset);  // at the reserve until the window resets
      }
      continue;
    }
    if (preferred && *preferred == i) return {selection_outcome::selected, i, std::nullopt};
    const bool better = !best || headroom > best_headroom ||
                        (headroom == best_headroom && c.last_selected < candidates[*best].last_selected);
    if (better) {
      best = i;
      best_headroom = headroom;
    }
  }
  if (best) return {selection_outcome::selected, *best, std::nullopt};
  return {busy ? selection_outcome::busy : selection_outcome::exhausted, 0, retry_at};
}

}  // namespace github_proxy::credentials
