// The flight table's followers leave their flight however their wait ends
// (issue 20): timed out, or their frame destroyed with its io_context at
// shutdown. A follower that stayed registered counted against max_followers
// for ever, and the leader then posted its wake-up to an io_context that was
// already destroyed.
#include "proxy/flight_table.h"

#include <chrono>
#include <memory>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace github_proxy::proxy {
namespace {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

shared_answer answer_with_entry() {
  auto stored = std::make_shared<cache::entry>();
  stored->status = 200;
  return shared_answer{std::move(stored), std::nullopt};
}

// Starts one follower's wait on `io` and runs it until it waits (or ends);
// `out` is set when the wait returns.
void start_follower(asio::io_context& io, const std::shared_ptr<flight_table::flight>& f,
                    steady::time_point deadline, std::optional<std::optional<shared_answer>>& out) {
  asio::co_spawn(
      io,
      [f, deadline, &io, &out]() -> asio::awaitable<void> {
        out.emplace(co_await flight_table::wait(f, io.get_executor(), deadline));
      },
      asio::detached);
  io.restart();
  io.poll();
}

TEST(FlightTable, FollowersThatTimedOutNoLongerCountAgainstTheBound) {
  flight_table table;
  auto leader = table.join("key");
  ASSERT_TRUE(leader.lead);
  asio::io_context io;
  for (std::size_t i = 0; i < flight_table::max_followers; ++i) {
    auto follower = table.join("key");
    ASSERT_TRUE(follower.follow);
    std::optional<std::optional<shared_answer>> out;
    start_follower(io, follower.follow, steady::now(), out);  // its deadline has passed
    io.restart();
    io.run();
    ASSERT_TRUE(out) << "follower " << i;
    ASSERT_FALSE(*out) << "follower " << i << ": timed out, fetches alone";
  }

  // Nobody waits any more: a new follower gets the leader's answer.
  std::optional<std::optional<shared_answer>> waiting;
  start_follower(io, table.join("key").follow, steady::now() + std::chrono::hours(1), waiting);
  EXPECT_FALSE(waiting) << "refused as one follower too many";
  leader.lead->publish(answer_with_entry());
  io.restart();
  io.run();
  ASSERT_TRUE(waiting);
  ASSERT_TRUE(*waiting);
  ASSERT_TRUE((*waiting)->entry);
  EXPECT_EQ((*waiting)->entry->status, 200u);
  EXPECT_EQ(table.size(), 0u);
}

TEST(FlightTable, FollowersDestroyedWithTheirIoContextLeaveTheFlight) {
  flight_table table;
  auto leader = table.join("key");
  ASSERT_TRUE(leader.lead);
  {
    // Another I/O thread's io_context, destroyed at shutdown with its
    // followers still waiting (as server.cc destroys them one by one).
    auto doomed = std::make_unique<asio::io_context>();
    std::vector<std::optional<std::optional<shared_answer>>> outs(flight_table::max_followers);
    for (auto& out : outs) {
      start_follower(*doomed, table.join("key").follow, steady::now() + std::chrono::hours(1), out);
      ASSERT_FALSE(out) << "the follower waits";
    }
    doomed.reset();  // stopped, never run again: the frames are destroyed
  }

  asio::io_context io;
  std::optional<std::optional<shared_answer>> waiting;
  start_follower(io, table.join("key").follow, steady::now() + std::chrono::hours(1), waiting);
  EXPECT_FALSE(waiting) << "refused as one follower too many";
  // Must post only to the live follower's io_context.
  leader.lead->publish(answer_with_entry());
  io.restart();
  io.run();
  ASSERT_TRUE(waiting);
  ASSERT_TRUE(*waiting);
  EXPECT_TRUE((*waiting)->entry);
}

TEST(FlightTable, LeaderGivingUpReleasesFollowersWithAnEmptyAnswer) {
  flight_table table;
  asio::io_context io;
  std::optional<std::optional<shared_answer>> out;
  {
    auto leader = table.join("key");
    start_follower(io, table.join("key").follow, steady::now() + std::chrono::hours(1), out);
    ASSERT_FALSE(out);
  }  // destroyed unpublished (an exception, or the leader's frame destroyed)
  io.restart();
  io.run();
  ASSERT_TRUE(out);
  ASSERT_TRUE(*out);
  EXPECT_FALSE((*out)->entry);
  EXPECT_FALSE((*out)->fetched);
  EXPECT_EQ(table.size(), 0u);
}

// A leader that nobody followed answers from views of its entry and
// publishes nothing worth reading; stop_joining tells it so, and closes the
// flight so that no request joins between the check and the publish.
TEST(FlightTable, StopJoiningSaysWhetherAnyRequestFollowedAndClosesTheFlight) {
  flight_table table;
  auto alone = table.join("alone");
  ASSERT_TRUE(alone.lead);
  EXPECT_FALSE(alone.lead->stop_joining());
  EXPECT_EQ(table.size(), 0u);
  const auto after = table.join("alone");  // a new flight, not a follower of the closed one
  EXPECT_TRUE(after.lead);
  EXPECT_FALSE(after.follow);
  alone.lead->publish(shared_answer{});  // the closed flight finishes
  EXPECT_EQ(table.size(), 1u) << "finishing the closed flight left the new one in the table";

  asio::io_context io;
  std::optional<std::optional<shared_answer>> out;
  auto leader = table.join("followed");
  start_follower(io, table.join("followed").follow, steady::now() + std::chrono::hours(1), out);
  EXPECT_TRUE(leader.lead->stop_joining());
  leader.lead->publish(answer_with_entry());
  io.restart();
  io.run();
  ASSERT_TRUE(out && *out);
  EXPECT_TRUE((*out)->entry) << "the follower still gets what was published";
}

}  // namespace
}  // namespace github_proxy::proxy
