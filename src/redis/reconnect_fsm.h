// When the Redis link connects, authenticates, serves and backs off, as a
// state machine without I/O (STYLE.md principle 7). The connection feeds it
// events with the current time and carries out the step it returns; tests
// feed it a fake clock and never open a socket.
//
//   disconnected --start--> connecting --tcp_connected--> authenticating
//   authenticating --handshake_done--> ready --connection_lost--> backoff
//   connecting --tcp_failed--> backoff    authenticating --handshake_failed--> backoff
//   backoff --backoff_elapsed--> connecting          any --stop--> disconnected
//
// Backoff doubles from `initial_delay` up to `max_delay` with each failure in
// a row; a connection that stayed ready for `stable_after` starts the series
// again, so a Redis that accepts and then drops at once is not hammered.
#pragma once

#include <chrono>
#include <string_view>

namespace github_proxy::redis {

using link_clock = std::chrono::steady_clock;

enum class link_state { disconnected, connecting, authenticating, ready, backoff };

enum class link_event {
  start,             // begin connecting (from disconnected)
  tcp_connected,     // the socket is connected
  tcp_failed,        // resolve/connect failed or passed its deadline
  handshake_done,    // AUTH, SELECT and PING answered OK
  handshake_failed,  // one of them failed, or the deadline passed
  connection_lost,   // the ready connection dropped
  backoff_elapsed,   // the backoff deadline passed
  stop,              // the owner goes away
};

enum class link_action {
  none,       // the event does not apply to the current state: nothing changed
  connect,    // resolve and connect; give up at `deadline`
  handshake,  // send AUTH/SELECT/PING; give up at `deadline`
  serve,      // accept commands until the connection is lost
  wait,       // drop what is left of the connection; wait until `deadline`
  close,      // drop the connection and do nothing more
};

struct link_step {
  link_action action = link_action::none;
  link_clock::time_point deadline{};  // for connect, handshake and wait
};

struct reconnect_policy {
  std::chrono::milliseconds initial_delay{100};
  std::chrono::milliseconds max_delay{5000};
  std::chrono::milliseconds connect_timeout{1000};  // TCP connect; the handshake gets as much again
  std::chrono::milliseconds stable_after{5000};     // ready this long: the backoff series restarts
};

class reconnect_fsm {
 public:
  explicit reconnect_fsm(reconnect_policy policy = {}) : policy_(policy) {}

  link_step on(link_event event, link_clock::time_point now);

  link_state state() const { return state_; }
  bool accepts_commands() const { return state_ == link_state::ready; }
  // Failures in a row since the last stable connection.
  unsigned failures() const { return failures_; }
  // How long the next failure will wait before reconnecting.
  std::chrono::milliseconds next_delay() const;

 private:
  link_step enter_backoff(link_clock::time_point now);

  reconnect_policy policy_;
  link_state state_ = link_state::disconnected;
  unsigned failures_ = 0;
  link_clock::time_point ready_since_{};
};

std::string_view to_string(link_state state);
std::string_view to_string(link_event event);

}  // namespace github_proxy::redis
