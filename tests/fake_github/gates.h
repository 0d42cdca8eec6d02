// Gates: a fault rule with "gate": NAME holds the matching answers at the gate
// until a test releases them (POST /_fake/gates/release), so a test can make
// "a request is in flight upstream" an event it waits for (GET /_fake/gates
// counts the waiters) instead of a latency it hopes is long enough.
//
// Thread-safety: every member locks; a waiter is woken on its own executor.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

namespace fake_github {

class gate_table {
 public:
  // Waits until `gate` is released, or `longest` has passed (a forgotten gate
  // must not hold a connection for ever). True when released.
  boost::asio::awaitable<bool> wait(std::string gate, std::chrono::steady_clock::duration longest);
  // Lets every request waiting at `gate` go; returns how many there were.
  std::size_t release(const std::string& gate);
  // Lets every waiting request go (POST /_fake/reset).
  void release_all();
  // {"NAME": waiting, ...} for every gate with waiters.
  boost::json::object to_json() const;

 private:
  struct waiter {
    explicit waiter(boost::asio::any_io_executor executor) : timer(std::move(executor)) {}
    boost::asio::steady_timer timer;  // used on its executor only
    bool released = false;            // under mutex_
  };
  static void wake(const std::shared_ptr<waiter>& w);

  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::shared_ptr<waiter>>> waiting_;
};

}  // namespace fake_github
