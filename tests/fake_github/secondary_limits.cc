#include "secondary_limits.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace fake_github {
namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }
std::size_t ring_index(std::int64_t stamp, std::int64_t size) {
  return static_cast<std::size_t>(((stamp % size) + size) % size);
}

bool over(std::int64_t limit, std::int64_t used, std::int64_t cost) {
  return limit > 0 && cost > 0 && used + cost > limit;
}

// Seconds from `now` until enough of the oldest slots leave the window for
// used + cost to be within limit. A slot (stamp s, of slot_length seconds)
// leaves the window at (s + ring_size) * slot_length. A cost above the
// limit never fits: the whole window then.
template <class Ring, class Value>
std::int64_t until_fits(const Ring& ring, std::int64_t slot_length, std::int64_t used, std::int64_t cost,
                        std::int64_t limit, std::int64_t now, Value value) {
  const auto size = static_cast<std::int64_t>(ring.size());
  if (cost > limit) return size * slot_length;
  const std::int64_t current = floor_div(now, slot_length);
  std::vector<std::pair<std::int64_t, std::int64_t>> live;  // (stamp, value), oldest first
  live.reserve(ring.size());
  for (const auto& slot : ring)
    if (slot.stamp > current - size && slot.stamp <= current && value(slot) > 0)
      live.emplace_back(slot.stamp, value(slot));
  std::sort(live.begin(), live.end());
  const std::int64_t excess = used + cost - limit;
  std::int64_t freed = 0;
  for (const auto& [stamp, n] : live) {
    freed += n;
    if (freed >= excess) return (stamp + size) * slot_length - now;
  }
  return size * slot_length;  // not reached while `used` is the ring's own sum
}

}  // namespace

secondary_cost rest_secondary_cost(std::string_view method) {
  if (method == "GET" || method == "HEAD" || method == "OPTIONS") return {1, 0, false};
  return {5, 0, method == "POST" || method == "PATCH" || method == "PUT"};
}

secondary_cost graphql_secondary_cost(bool mutation) { return {0, mutation ? 5 : 1, mutation}; }

secondary_limits::secondary_limits(secondary_limit_settings initial, std::size_t max_tokens)
    : initial_(initial), settings_(initial), max_tokens_(std::max<std::size_t>(1, max_tokens)) {}

secondary_usage secondary_limits::usage_of(const token_window& w, std::int64_t now) {
  secondary_usage u;
  for (const auto& s : w.seconds) {
    if (s.stamp <= now - slots || s.stamp > now) continue;
    u.rest += s.rest;
    u.graphql += s.graphql;
    u.content_minute += s.content;
  }
  const std::int64_t minute = floor_div(now, 60);
  for (const auto& m : w.minutes)
    if (m.stamp > minute - slots && m.stamp <= minute) u.content_hour += m.content;
  return u;
}

bool secondary_limits::idle(const token_window& w, std::int64_t now) {
  if (w.block_from <= now && now < w.block_until) return false;
  const secondary_usage u = usage_of(w, now);
  return u.rest == 0 && u.graphql == 0 && u.content_minute == 0 && u.content_hour == 0;
}

std::int64_t secondary_limits::seconds_until_fits(const token_window& w, const secondary_usage& used,
                                                  const secondary_cost& cost, std::int64_t now) const {
  const secondary_limit_settings& s = settings_;
  std::int64_t wait = 1;
  if (over(s.rest_points, used.rest, cost.rest))
    wait = std::max(wait, until_fits(w.seconds, 1, used.rest, cost.rest, s.rest_points, now,
                                     [](const second_slot& slot) { return slot.rest; }));
  if (over(s.graphql_points, used.graphql, cost.graphql))
    wait = std::max(wait, until_fits(w.seconds, 1, used.graphql, cost.graphql, s.graphql_points, now,
                                     [](const second_slot& slot) { return slot.graphql; }));
  if (cost.content && over(s.content_per_minute, used.content_minute, 1))
    wait = std::max(wait, until_fits(w.seconds, 1, used.content_minute, 1, s.content_per_minute, now,
                                     [](const second_slot& slot) { return slot.content; }));
  if (cost.content && over(s.content_per_hour, used.content_hour, 1))
    wait = std::max(wait, until_fits(w.minutes, 60, used.content_hour, 1, s.content_per_hour, now,
                                     [](const minute_slot& slot) { return slot.content; }));
  return wait;
}

secondary_limits::token_window& secondary_limits::window_for(std::string_view token, std::int64_t now) {
  auto it = tokens_.find(token);
  if (it == tokens_.end()) {
    if (tokens_.size() >= max_tokens_) {
      std::erase_if(tokens_, [now](const auto& entry) { return idle(entry.second, now); });
      if (tokens_.size() >= max_tokens_) {
        auto oldest = std::min_element(tokens_.begin(), tokens_.end(), [](const auto& a, const auto& b) {
          return a.second.last_seen < b.second.last_seen;
        });
        tokens_.erase(oldest);
      }
    }
    it = tokens_.emplace(std::string(token), token_window{}).first;
  }
  it->second.last_seen = now;
  return it->second;
}

secondary_admission secondary_limits::admit(std::string_view token, const secondary_cost& cost,
                                            std::int64_t now) {
  std::lock_guard lock(mutex_);
  token_window& w = window_for(token, now);
  if (w.block_from <= now && now < w.block_until) return {w.block_reason, w.block_until - now};

  const secondary_usage used = usage_of(w, now);
  const secondary_limit_settings& s = settings_;
  secondary_refusal refusal = secondary_refusal::none;
  if (over(s.rest_points, used.rest, cost.rest) || over(s.graphql_points, used.graphql, cost.graphql))
    refusal = secondary_refusal::points;
  else if (cost.content && (over(s.content_per_minute, used.content_minute, 1) ||
                            over(s.content_per_hour, used.content_hour, 1)))
    refusal = secondary_refusal::content;
  if (refusal != secondary_refusal::none) {
    std::int64_t wait = seconds_until_fits(w, used, cost, now);
    if (s.block_seconds > 0) {
      wait = std::max(wait, s.block_seconds);
      w.block_from = now;
      w.block_until = now + wait;
      w.block_reason = refusal;
    }
    return {refusal, wait};
  }

  second_slot& second = w.seconds[ring_index(now, slots)];
  if (second.stamp != now) second = second_slot{now};
  second.rest += cost.rest;
  second.graphql += cost.graphql;
  if (cost.content) {
    ++second.content;
    const std::int64_t minute = floor_div(now, 60);
    minute_slot& m = w.minutes[ring_index(minute, slots)];
    if (m.stamp != minute) m = minute_slot{minute};
    ++m.content;
  }
  return {};
}

secondary_usage secondary_limits::usage(std::string_view token, std::int64_t now) const {
  std::lock_guard lock(mutex_);
  auto it = tokens_.find(token);
  return it == tokens_.end() ? secondary_usage{} : usage_of(it->second, now);
}

secondary_limit_settings secondary_limits::settings() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

secondary_limit_settings secondary_limits::update(const secondary_settings_update& u) {
  std::lock_guard lock(mutex_);
  if (u.rest_points) settings_.rest_points = std::max<std::int64_t>(0, *u.rest_points);
  if (u.graphql_points) settings_.graphql_points = std::max<std::int64_t>(0, *u.graphql_points);
  if (u.content_per_minute) settings_.content_per_minute = std::max<std::int64_t>(0, *u.content_per_minute);
  if (u.content_per_hour) settings_.content_per_hour = std::max<std::int64_t>(0, *u.content_per_hour);
  if (u.block_seconds) settings_.block_seconds = std::max<std::int64_t>(0, *u.block_seconds);
  return settings_;
}

void secondary_limits::reset() {
  std::lock_guard lock(mutex_);
  tokens_.clear();
  settings_ = initial_;
}

std::size_t secondary_limits::tracked_tokens() const {
  std::lock_guard lock(mutex_);
  return tokens_.size();
}

}  // namespace fake_github
