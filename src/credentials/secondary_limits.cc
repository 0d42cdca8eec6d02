#include "github_proxy/credentials/secondary_limits.h"

#include <algorithm>

namespace github_proxy::credentials {

namespace {

constexpr std::int64_t slots = 60;

std::int64_t slot_of(time_point t, std::int64_t slot_seconds) {
  const auto s = to_epoch_seconds(t);
  return s >= 0 ? s / slot_seconds : (s - slot_seconds + 1) / slot_seconds;
}

}  // namespace

secondary_costs secondary_cost(std::string_view method, bool graphql, bool graphql_mutation) {
  secondary_costs c;
  if (graphql) {
    c.kind = point_kind::graphql;
    c.points = graphql_mutation ? 5 : 1;
    c.creates_content = graphql_mutation;
    return c;
  }
  const bool read = method == "GET" || method == "HEAD" || method == "OPTIONS";
  c.points = read ? 1 : 5;
  c.creates_content = method == "POST" || method == "PATCH" || method == "PUT";
  return c;
}

std::int64_t secondary_window::ring::sum(time_point now) const { return counted_at(now, now); }

// What is counted at `now` and still inside the window at `at` (≥ now):
// the slots newer than `at`'s window start, no newer than `now`'s slot.
std::int64_t secondary_window::ring::counted_at(time_point now, time_point at) const {
  const auto current = slot_of(now, slot_seconds);
  const auto oldest = slot_of(at, slot_seconds) - slots + 1;
  std::int64_t total = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (stamps[i] >= oldest && stamps[i] <= current) total += counts[i];
  }
  return total;
}

time_point secondary_window::ring::down_to(time_point now, time_point start, std::int64_t at_most) const {
  auto total = counted_at(now, start);
  if (total <= at_most) return start;
  const auto current = slot_of(now, slot_seconds);
  // A slot counted at `start` leaves the window `slots` slots after its own.
  for (auto s = slot_of(start, slot_seconds) - slots + 1; s <= current; ++s) {
    const auto i = static_cast<std::size_t>(((s % slots) + slots) % slots);
    if (stamps[i] != s) continue;
    total -= counts[i];
    if (total <= at_most) return from_epoch_seconds((s + slots) * slot_seconds);
  }
  return from_epoch_seconds((current + slots) * slot_seconds);  // all gone (at_most ≥ 0)
}

void secondary_window::ring::add(std::int64_t n, time_point now) {
  const auto current = slot_of(now, slot_seconds);
  const auto i = static_cast<std::size_t>(((current % slots) + slots) % slots);
  if (stamps[i] != current) {
    stamps[i] = current;
    counts[i] = 0;
  }
  counts[i] += n;
}

secondary_window::secondary_window(secondary_policy policy) : policy_(policy) {
  for (auto* r : {&rest_, &graphql_, &content_minute_}) {
    r->slot_seconds = 1;
    r->stamps.fill(-slots * 2);
  }
  content_hour_.slot_seconds = 60;
  content_hour_.stamps.fill(-slots * 2);
}

std::int64_t secondary_window::cap(std::int64_t limit) const {
  if (limit <= 0) return 0;
  return std::max<std::int64_t>(1, limit * policy_.share_percent / 100);
}

bool secondary_window::fits(const secondary_costs& c, std::int64_t points, std::int64_t minute,
                            std::int64_t hour) const {
  const bool graphql = c.kind == point_kind::graphql;
  const auto points_cap = cap(graphql ? policy_.graphql_points_per_minute : policy_.rest_points_per_minute);
  if (points_cap > 0 && points + c.points > points_cap) return false;
  if (!c.creates_content) return true;
  const auto minute_cap = cap(policy_.content_per_minute);
  const auto hour_cap = cap(policy_.content_per_hour);
  return (minute_cap == 0 || minute + 1 <= minute_cap) && (hour_cap == 0 || hour + 1 <= hour_cap);
}

bool secondary_window::admits(const secondary_costs& c, time_point now) const {
  if (others_.filled) return false;
  // Only the windows the request counts against (on every request: the
  // content windows are summed for writes alone).
  const bool graphql = c.kind == point_kind::graphql;
  const auto points = (graphql ? graphql_ : rest_).sum(now) + (graphql ? others_.graphql_points : others_.rest_points);
  if (!c.creates_content) return fits(c, points, 0, 0);
  return fits(c, points, content_minute_.sum(now) + others_.content_minute,
              content_hour_.sum(now) + others_.content_hour);
}

std::optional<time_point> secondary_window::room_at(const secondary_costs& c, time_point now) const {
  const bool graphql = c.kind == point_kind::graphql;
  const auto& points = graphql ? graphql_ : rest_;
  const auto points_cap = cap(graphql ? policy_.graphql_points_per_minute : policy_.rest_points_per_minute);
  if (points_cap > 0 && c.points > points_cap) return std::nullopt;
  // Another replica's cool-down, as of the last exchange (at most a second ago).
  const auto start =
      others_.filled ? now + std::chrono::seconds(std::max<std::int64_t>(1, others_.cooling_seconds)) : now;
  const auto others_points = graphql ? others_.graphql_points : others_.rest_points;
  // Own counts only leave; the others' are taken as they were last
  // exchanged. Each window's count only falls, so the answer is the latest
  // of the instants at which each window the request counts against has
  // room: one pass over each ring (this runs for every waiting request on
  // every wake, under the credential's lock).
  auto at = start;
  bool only_others = false;  // the others' spending alone leaves no room
  const auto room_in = [&](const ring& r, std::int64_t limit_cap, std::int64_t cost, std::int64_t others) {
    if (limit_cap == 0) return;
    const auto at_most = limit_cap - cost - others;
    if (at_most < 0) {
      only_others = true;
      return;
    }
    at = std::max(at, r.down_to(now, start, at_most));
  };
  room_in(points, points_cap, c.points, others_points);
  if (c.creates_content) {
    room_in(content_minute_, cap(policy_.content_per_minute), 1, others_.content_minute);
    room_in(content_hour_, cap(policy_.content_per_hour), 1, others_.content_hour);
  }
  // The other replicas' spending slides too, and the next exchange (every
  // second) tells by how much.
  if (only_others) return start + std::chrono::seconds(1);
  return at;
}

void secondary_window::spend(const secondary_costs& c, time_point now) {
  (c.kind == point_kind::graphql ? graphql_ : rest_).add(c.points, now);
  if (c.creates_content) {
    content_minute_.add(1, now);
    content_hour_.add(1, now);
  }
}

secondary_usage secondary_window::usage(time_point now) const {
  secondary_usage u;
  u.rest_points = rest_.sum(now);
  u.graphql_points = graphql_.sum(now);
  u.content_minute = content_minute_.sum(now);
  u.content_hour = content_hour_.sum(now);
  return u;
}

secondary_usage secondary_window::counted(time_point now) const {
  auto u = usage(now);
  u.rest_points += others_.rest_points;
  u.graphql_points += others_.graphql_points;
  u.content_minute += others_.content_minute;
  u.content_hour += others_.content_hour;
  u.filled = u.filled || others_.filled;
  return u;
}

}  // namespace github_proxy::credentials
