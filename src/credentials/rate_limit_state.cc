#include "github_proxy/credentials/rate_limit_state.h"

#include <algorithm>

namespace github_proxy::credentials {

namespace {

std::size_t index_of(resource r) { return static_cast<std::size_t>(r); }

std::optional<time_point> later(std::optional<time_point> a, std::optional<time_point> b) {
  if (!a) return b;
  if (!b) return a;
  return std::max(*a, *b);
}

}  // namespace

std::string_view to_string(credential_state s) {
  switch (s) {
    case credential_state::ok: return "ok";
    case credential_state::exhausted: return "exhausted";
    case credential_state::cooling: return "cooling";
    case credential_state::broken: return "broken";
  }
  return "ok";
}

credential_limits::credential_limits(limits_policy policy) : policy_(policy) {}

void credential_limits::begin(resource r) {
  ++buckets_[index_of(r)].in_flight;
  ++in_flight_total_;
}

void credential_limits::end(resource r) {
  auto& b = buckets_[index_of(r)];
  if (b.in_flight == 0) return;  // unmatched: ignore rather than underflow
  --b.in_flight;
  --in_flight_total_;
}

void credential_limits::record(resource r, const rate_limit_headers& headers) {
  if (!headers.any()) return;
  auto& b = buckets_[index_of(r)];
  if (b.observed && b.reset && headers.reset && *headers.reset < *b.reset) {
    return;  // an answer from a window that has since been replaced
  }
  const bool same_window = b.observed && b.reset && headers.reset && *headers.reset == *b.reset;
  if (!b.observed) {
    b.limit = default_limit(r);
    b.remaining = b.limit;
    b.used = 0;
  }
  if (headers.limit) b.limit = *headers.limit;
  if (headers.remaining) {
    b.remaining = same_window ? std::min(b.remaining, *headers.remaining) : *headers.remaining;
  }
  if (headers.used) b.used = same_window ? std::max(b.used, *headers.used) : *headers.used;
  if (headers.reset) b.reset = headers.reset;
  b.observed = true;
  if (b.remaining <= 0 && b.reset) b.spent_until = b.reset;
}

void credential_limits::park_primary(resource r, const verdict& v, time_point now) {
  auto& b = buckets_[index_of(r)];
  if (!b.observed) {
    b.limit = default_limit(r);
    b.used = b.limit;
    b.observed = true;
  }
  b.remaining = 0;
  // GitHub's reset when it is ahead of us; otherwise (absent, or our clock
  // runs ahead of GitHub's) a synthetic one, so the bucket is retried later.
  const auto until = v.reset && *v.reset > now ? *v.reset : now + policy_.primary_fallback;
  b.reset = later(b.reset, until);
  b.spent_until = b.reset;
}

void credential_limits::park_secondary(const verdict& v, time_point now) {
  time_point until;
  if (v.retry_after) {
    until = now + std::max(*v.retry_after, std::chrono::seconds(1));
  } else if (v.remaining_zero && v.reset && *v.reset > now) {
    until = *v.reset;  // "If x-ratelimit-remaining is 0 … wait until x-ratelimit-reset"
  } else {
    // "Otherwise, wait for at least one minute", backing off exponentially.
    auto wait = policy_.secondary_default;
    for (unsigned i = 0; i < secondary_strikes_ && wait < policy_.secondary_max; ++i) wait *= 2;
    until = now + std::min(wait, policy_.secondary_max);
    ++secondary_strikes_;
  }
  cooling_until_ = later(cooling_until_, until);
}

resource credential_limits::on_response(resource inferred, const rate_limit_headers& headers,
                                        const verdict& v, time_point now) {
  const resource target = headers.named.value_or(inferred);
  if (!headers.unknown_resource) record(target, headers);
  switch (v.kind) {
    case verdict_kind::ok:
      secondary_strikes_ = 0;
      break;
    case verdict_kind::primary_limit:
      park_primary(target, v, now);
      break;
    case verdict_kind::secondary_limit:
      park_secondary(v, now);
      break;
    case verdict_kind::bad_credential:
      broken_ = true;
      break;
  }
  return target;
}

void credential_limits::renewed() { broken_ = false; }

bool credential_limits::exhausted(const bucket_state& b, time_point now) {
  return b.observed && b.remaining <= 0 && b.reset && *b.reset > now;
}

credential_state credential_limits::state(time_point now) const {
  return state(resource::core, now);
}

credential_state credential_limits::state(resource r, time_point now) const {
  if (broken_) return credential_state::broken;
  if (cooling_until_ && *cooling_until_ > now) return credential_state::cooling;
  if (exhausted(buckets_[index_of(r)], now)) return credential_state::exhausted;
  return credential_state::ok;
}

bucket_view credential_limits::bucket(resource r, time_point now) const {
  const auto& b = buckets_[index_of(r)];
  bucket_view view;
  view.in_flight = b.in_flight;
  view.observed = b.observed;
  if (!b.observed) {
    view.limit = view.remaining = default_limit(r);
  } else if (b.reset && *b.reset <= now) {
    // The window GitHub told us about is over: a fresh one starts with the
    // next request, and its reset is not known yet.
    view.limit = view.remaining = b.limit;
  } else {
    view.limit = b.limit;
    view.remaining = b.remaining;
    view.used = b.used;
    view.reset = b.reset;
  }
  view.state = state(r, now);
  switch (view.state) {
    case credential_state::ok:
      if (cooling_until_ && *cooling_until_ <= now) view.returned_at = cooling_until_;
      if (b.spent_until && *b.spent_until <= now) view.returned_at = later(view.returned_at, b.spent_until);
      break;
    case credential_state::broken:
      break;
    case credential_state::exhausted:
      view.available_at = b.reset;
      break;
    case credential_state::cooling:
      view.available_at = exhausted(b, now) ? later(cooling_until_, b.reset) : cooling_until_;
      break;
  }
  return view;
}

}  // namespace github_proxy::credentials
