// The reconnect state machine, through every transition, on a fake clock.
#include "redis/reconnect_fsm.h"

#include <vector>

#include <gtest/gtest.h>

namespace github_proxy::redis {
namespace {

using namespace std::chrono_literals;

class RedisReconnectFsm : public ::testing::Test {
 protected:
  reconnect_policy policy() const {
    reconnect_policy p;
    p.initial_delay = 100ms;
    p.max_delay = 5s;
    p.connect_timeout = 1s;
    p.stable_after = 5s;
    return p;
  }

  link_step on(link_event e) { return fsm.on(e, now); }

  // disconnected → connecting → authenticating → ready, checking each step.
  void reach_ready() {
    auto step = on(link_event::start);
    ASSERT_EQ(step.action, link_action::connect);
    step = on(link_event::tcp_connected);
    ASSERT_EQ(step.action, link_action::handshake);
    step = on(link_event::handshake_done);
    ASSERT_EQ(step.action, link_action::serve);
    ASSERT_EQ(fsm.state(), link_state::ready);
  }

  // From backoff to connecting to backoff again, failing at TCP.
  link_step fail_again() {
    now += 10s;  // any backoff has passed
    auto step = on(link_event::backoff_elapsed);
    EXPECT_EQ(step.action, link_action::connect);
    return on(link_event::tcp_failed);
  }

  link_clock::time_point now = link_clock::time_point{} + 1000h;  // the injected clock
  reconnect_fsm fsm{policy()};
};

TEST_F(RedisReconnectFsm, StartsDisconnectedAndRefusesCommands) {
  EXPECT_EQ(fsm.state(), link_state::disconnected);
  EXPECT_FALSE(fsm.accepts_commands());
  EXPECT_EQ(fsm.failures(), 0u);
}

TEST_F(RedisReconnectFsm, StartConnectsWithTheConnectTimeout) {
  auto step = on(link_event::start);
  EXPECT_EQ(step.action, link_action::connect);
  EXPECT_EQ(step.deadline, now + 1s);
  EXPECT_EQ(fsm.state(), link_state::connecting);
  EXPECT_FALSE(fsm.accepts_commands());
}

TEST_F(RedisReconnectFsm, TcpConnectedHandshakesWithItsOwnDeadline) {
  on(link_event::start);
  now += 300ms;
  auto step = on(link_event::tcp_connected);
  EXPECT_EQ(step.action, link_action::handshake);
  EXPECT_EQ(step.deadline, now + 1s);
  EXPECT_EQ(fsm.state(), link_state::authenticating);
  EXPECT_FALSE(fsm.accepts_commands());
}

TEST_F(RedisReconnectFsm, HandshakeDoneServes) {
  reach_ready();
  EXPECT_TRUE(fsm.accepts_commands());
  EXPECT_EQ(fsm.failures(), 0u);
}

TEST_F(RedisReconnectFsm, TcpFailureBacksOffFromTheInitialDelay) {
  on(link_event::start);
  auto step = on(link_event::tcp_failed);
  EXPECT_EQ(step.action, link_action::wait);
  EXPECT_EQ(step.deadline, now + 100ms);
  EXPECT_EQ(fsm.state(), link_state::backoff);
  EXPECT_FALSE(fsm.accepts_commands());
  EXPECT_EQ(fsm.failures(), 1u);
}

TEST_F(RedisReconnectFsm, HandshakeFailureBacksOff) {
  on(link_event::start);
  on(link_event::tcp_connected);
  auto step = on(link_event::handshake_failed);
  EXPECT_EQ(step.action, link_action::wait);
  EXPECT_EQ(step.deadline, now + 100ms);
  EXPECT_EQ(fsm.state(), link_state::backoff);
}

TEST_F(RedisReconnectFsm, BackoffElapsedConnectsAgain) {
  on(link_event::start);
  on(link_event::tcp_failed);
  now += 100ms;
  auto step = on(link_event::backoff_elapsed);
  EXPECT_EQ(step.action, link_action::connect);
  EXPECT_EQ(step.deadline, now + 1s);
  EXPECT_EQ(fsm.state(), link_state::connecting);
}

TEST_F(RedisReconnectFsm, DelayDoublesUpToTheCap) {
  on(link_event::start);
  auto waited = [&](const link_step& step) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(step.deadline - now);
  };
  std::vector<std::chrono::milliseconds> delays{waited(on(link_event::tcp_failed))};
  for (int i = 0; i < 8; ++i) delays.push_back(waited(fail_again()));
  const std::vector<std::chrono::milliseconds> expected{100ms, 200ms, 400ms, 800ms, 1600ms,
                                                        3200ms, 5000ms, 5000ms, 5000ms};
  EXPECT_EQ(delays, expected);
  EXPECT_EQ(fsm.next_delay(), 5s);
}

TEST_F(RedisReconnectFsm, AStableConnectionRestartsTheSeries) {
  on(link_event::start);
  on(link_event::tcp_failed);
  fail_again();
  fail_again();  // next: 800 ms
  EXPECT_EQ(fsm.next_delay(), 800ms);
  now += 10s;
  on(link_event::backoff_elapsed);
  on(link_event::tcp_connected);
  on(link_event::handshake_done);
  now += 5s;  // stable_after
  auto step = on(link_event::connection_lost);
  EXPECT_EQ(step.action, link_action::wait);
  EXPECT_EQ(step.deadline, now + 100ms);
  EXPECT_EQ(fsm.state(), link_state::backoff);
  EXPECT_EQ(fsm.failures(), 1u);
}

TEST_F(RedisReconnectFsm, AFlappingConnectionKeepsBackingOffLonger) {
  on(link_event::start);
  on(link_event::tcp_failed);  // 100 ms
  for (int i = 0; i < 3; ++i) {
    now += 10s;
    on(link_event::backoff_elapsed);
    on(link_event::tcp_connected);
    on(link_event::handshake_done);
    now += 1s;  // dropped before stable_after
    on(link_event::connection_lost);
  }
  EXPECT_EQ(fsm.failures(), 4u);
  EXPECT_EQ(fsm.next_delay(), 1600ms);
}

TEST_F(RedisReconnectFsm, ConnectionLostWhileReadyBacksOff) {
  reach_ready();
  now += 1h;
  auto step = on(link_event::connection_lost);
  EXPECT_EQ(step.action, link_action::wait);
  EXPECT_EQ(step.deadline, now + 100ms);
  EXPECT_FALSE(fsm.accepts_commands());
}

TEST_F(RedisReconnectFsm, StopFromEveryStateDisconnects) {
  for (int stage = 0; stage < 5; ++stage) {
    reconnect_fsm machine(policy());
    if (stage >= 1) machine.on(link_event::start, now);
    if (stage >= 2) machine.on(link_event::tcp_connected, now);
    if (stage >= 3) machine.on(link_event::handshake_done, now);
    if (stage >= 4) machine.on(link_event::connection_lost, now);
    auto step = machine.on(link_event::stop, now);
    EXPECT_EQ(step.action, link_action::close) << stage;
    EXPECT_EQ(machine.state(), link_state::disconnected) << stage;
    EXPECT_FALSE(machine.accepts_commands());
  }
}

TEST_F(RedisReconnectFsm, StartAfterStopConnectsAgain) {
  reach_ready();
  on(link_event::stop);
  EXPECT_EQ(on(link_event::start).action, link_action::connect);
}

// Every event that does not apply leaves the state alone and asks for nothing.
TEST_F(RedisReconnectFsm, IrrelevantEventsAreIgnored) {
  struct case_ {
    int stage;  // 0 disconnected, 1 connecting, 2 authenticating, 3 ready, 4 backoff
    link_event event;
  };
  const case_ cases[] = {
      {0, link_event::tcp_connected},   {0, link_event::tcp_failed},       {0, link_event::handshake_done},
      {0, link_event::handshake_failed}, {0, link_event::connection_lost},  {0, link_event::backoff_elapsed},
      {1, link_event::start},           {1, link_event::handshake_done},   {1, link_event::handshake_failed},
      {1, link_event::connection_lost}, {1, link_event::backoff_elapsed},  {2, link_event::start},
      {2, link_event::tcp_connected},   {2, link_event::tcp_failed},       {2, link_event::connection_lost},
      {2, link_event::backoff_elapsed}, {3, link_event::start},            {3, link_event::tcp_connected},
      {3, link_event::tcp_failed},      {3, link_event::handshake_done},   {3, link_event::handshake_failed},
      {3, link_event::backoff_elapsed}, {4, link_event::start},            {4, link_event::tcp_connected},
      {4, link_event::tcp_failed},      {4, link_event::handshake_done},   {4, link_event::handshake_failed},
      {4, link_event::connection_lost},
  };
  for (const auto& c : cases) {
    reconnect_fsm machine(policy());
    if (c.stage >= 1) machine.on(link_event::start, now);
    if (c.stage >= 2) machine.on(link_event::tcp_connected, now);
    if (c.stage >= 3) machine.on(link_event::handshake_done, now);
    if (c.stage >= 4) machine.on(link_event::connection_lost, now);
    const auto before = machine.state();
    const auto failures = machine.failures();
    auto step = machine.on(c.event, now);
    EXPECT_EQ(step.action, link_action::none) << to_string(before) << " + " << to_string(c.event);
    EXPECT_EQ(machine.state(), before) << to_string(before) << " + " << to_string(c.event);
    EXPECT_EQ(machine.failures(), failures);
  }
}

TEST_F(RedisReconnectFsm, NamesEveryStateAndEvent) {
  EXPECT_EQ(to_string(link_state::authenticating), "authenticating");
  EXPECT_EQ(to_string(link_state::backoff), "backoff");
  EXPECT_EQ(to_string(link_event::backoff_elapsed), "backoff_elapsed");
  EXPECT_EQ(to_string(link_event::stop), "stop");
}

}  // namespace
}  // namespace github_proxy::redis
