#include "github_proxy/credentials/selection.h"

#include <algorithm>

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
  out.returned_at = view.returned_at;
  return out;
}

candidate for_free_revalidation(candidate c) {
  if (c.state == credential_state::exhausted) {
    c.state = credential_state::ok;
    c.available_at.reset();
    c.remaining = 0;
  }
  const auto in_flight = static_cast<std::int64_t>(c.in_flight_resource);
  if (c.state == credential_state::ok && c.remaining - in_flight <= 0) {
    c.last_resort = true;
    c.remaining = in_flight + 1;
  }
  return c;
}

std::uint32_t concurrency_cap(const candidate& c, const selection_policy& policy, time_point now) {
  const auto full = policy.max_concurrent;
  if (!c.returned_at || policy.ramp_up.count() <= 0 || now < *c.returned_at) return full;
  const auto elapsed = now - *c.returned_at;
  if (elapsed >= policy.ramp_up) return full;
  const std::uint64_t start = std::min(policy.ramp_up_start, full);
  const auto grown = (full - start) * static_cast<std::uint64_t>(elapsed.count()) /
                     static_cast<std::uint64_t>(policy.ramp_up.count());
  return static_cast<std::uint32_t>(std::max<std::uint64_t>(1, start + grown));
}

selection select_credential(std::span<const candidate> candidates, const selection_policy& policy,
                            std::optional<std::size_t> preferred, time_point now) {
  std::optional<std::size_t> best;
  std::int64_t best_headroom = 0;
  std::optional<std::size_t> fallback;  // the last resort
  bool busy = false;
  std::optional<time_point> retry_at;
  const auto consider_retry = [&](std::optional<time_point> at) {
    if (at && *at > now && (!retry_at || *at < *retry_at)) retry_at = at;
  };
  const auto is_preferred = [&](std::size_t i) { return preferred && *preferred == i; };

  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const auto& c = candidates[i];
    if (c.state != credential_state::ok) {
      consider_retry(c.available_at);
      continue;
    }
    if (c.in_flight_total >= policy.max_concurrent || c.in_flight_resource >= concurrency_cap(c, policy, now)) {
      busy = true;  // a slot frees when one of its requests completes
      continue;
    }
    if (c.last_resort) {
      const bool better = !fallback || is_preferred(i) ||
                          (!is_preferred(*fallback) && c.last_selected < candidates[*fallback].last_selected);
      if (better) fallback = i;
      continue;
    }
    const std::int64_t headroom = c.remaining - static_cast<std::int64_t>(c.in_flight_resource);
    if (headroom <= policy.reserve) {
      if (c.remaining > policy.reserve) {
        busy = true;  // the credits are held by requests in flight; some may come back free (304)
      } else {
        consider_retry(c.reset);  // at the reserve until the window resets
      }
      continue;
    }
    if (is_preferred(i)) return {selection_outcome::selected, i, std::nullopt};
    const bool better = !best || headroom > best_headroom ||
                        (headroom == best_headroom && c.last_selected < candidates[*best].last_selected);
    if (better) {
      best = i;
      best_headroom = headroom;
    }
  }
  if (best) return {selection_outcome::selected, *best, std::nullopt};
  // A credential that has headroom but is busy is worth waiting for rather
  // than sending on a spent bucket.
  if (busy) return {selection_outcome::busy, 0, retry_at};
  if (fallback) return {selection_outcome::selected, *fallback, std::nullopt};
  return {selection_outcome::exhausted, 0, retry_at};
}

}  // namespace github_proxy::credentials
