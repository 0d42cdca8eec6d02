#include "redis/reconnect_fsm.h"

#include <algorithm>

namespace github_proxy::redis {

namespace {
// Past the cap the count no longer changes the delay; stop before it wraps.
constexpr unsigned max_counted_failures = 1000;
}  // namespace

std::chrono::milliseconds reconnect_fsm::next_delay() const {
  // Doubling stops once the cap is reached, so the shift never overflows.
  auto delay = policy_.initial_delay;
  for (unsigned i = 0; i < failures_ && delay < policy_.max_delay; ++i) delay *= 2;
  return std::min(delay, policy_.max_delay);
}

link_step reconnect_fsm::enter_backoff(link_clock::time_point now) {
  const auto delay = next_delay();
  if (failures_ < max_counted_failures) ++failures_;
  state_ = link_state::backoff;
  return {link_action::wait, now + delay};
}

link_step reconnect_fsm::on(link_event event, link_clock::time_point now) {
  if (event == link_event::stop) {
    state_ = link_state::disconnected;
    return {link_action::close, now};
  }
  switch (state_) {
    case link_state::disconnected:
      if (event != link_event::start) break;
      state_ = link_state::connecting;
      return {link_action::connect, now + policy_.connect_timeout};

    case link_state::connecting:
      if (event == link_event::tcp_connected) {
        state_ = link_state::authenticating;
        return {link_action::handshake, now + policy_.connect_timeout};
      }
      if (event == link_event::tcp_failed) return enter_backoff(now);
      break;

    case link_state::authenticating:
      if (event == link_event::handshake_done) {
        state_ = link_state::ready;
        ready_since_ = now;
        return {link_action::serve, now};
      }
      if (event == link_event::handshake_failed) return enter_backoff(now);
      break;

    case link_state::ready:
      if (event != link_event::connection_lost) break;
      if (now - ready_since_ >= policy_.stable_after) failures_ = 0;
      return enter_backoff(now);

    case link_state::backoff:
      if (event != link_event::backoff_elapsed) break;
      state_ = link_state::connecting;
      return {link_action::connect, now + policy_.connect_timeout};
  }
  return {link_action::none, now};
}

std::string_view to_string(link_state state) {
  switch (state) {
    case link_state::disconnected: return "disconnected";
    case link_state::connecting: return "connecting";
    case link_state::authenticating: return "authenticating";
    case link_state::ready: return "ready";
    case link_state::backoff: return "backoff";
  }
  return "unknown";
}

std::string_view to_string(link_event event) {
  switch (event) {
    case link_event::start: return "start";
    case link_event::tcp_connected: return "tcp_connected";
    case link_event::tcp_failed: return "tcp_failed";
    case link_event::handshake_done: return "handshake_done";
    case link_event::handshake_failed: return "handshake_failed";
    case link_event::connection_lost: return "connection_lost";
    case link_event::backoff_elapsed: return "backoff_elapsed";
    case link_event::stop: return "stop";
  }
  return "unknown";
}

}  // namespace github_proxy::redis
