// One command between hiredis and the coroutine that sent it.
//
// hiredis' reply callback fills `result`, sets `done` and cancels `wake`;
// the coroutine waits on `wake` until its deadline. Both hold a reference:
// hiredis from the send until it calls back (with the reply, or with null
// when the connection goes), whether or not anyone still waits. A waiter
// that gives up marks the command `abandoned` so the late reply is dropped.
// Single-threaded: the executor's thread.
#pragma once

#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "redis/reconnect_fsm.h"
#include "redis/reply.h"

namespace github_proxy::redis {

struct pending_command {
  explicit pending_command(const boost::asio::any_io_executor& executor)
      : wake(executor, boost::asio::steady_timer::time_point::max()) {}
  boost::asio::steady_timer wake;  // cancelled when `done` becomes true
  bool done = false;
  bool abandoned = false;
  command_result result;
};
using pending_ptr = std::shared_ptr<pending_command>;

// Marks `p` done and wakes its waiter.
void complete(pending_command& p);

// Waits for `p` until `deadline`: its result; store_error::timeout when the
// deadline passes first; operation_aborted when the caller is cancelled.
// Touches nothing but `p`.
boost::asio::awaitable<command_result> await_reply(pending_ptr p, link_clock::time_point deadline);

}  // namespace github_proxy::redis
