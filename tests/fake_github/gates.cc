#include "gates.h"

#include <algorithm>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace fake_github {

namespace asio = boost::asio;

boost::asio::awaitable<bool> gate_table::wait(std::string gate, std::chrono::steady_clock::duration longest) {
  auto w = std::make_shared<waiter>(co_await asio::this_coro::executor);
  w->timer.expires_after(longest);
  {
    std::lock_guard lock(mutex_);
    waiting_[gate].push_back(w);
  }
  // However the wait ends (released, timed out, or this frame destroyed
  // with its io_context at exit), the waiter leaves the table: it never
  // outlives the io_context its timer belongs to.
  struct leave_gate {
    gate_table& table;
    const std::string& gate;
    const std::shared_ptr<waiter>& w;
    ~leave_gate() {
      std::lock_guard lock(table.mutex_);
      if (auto it = table.waiting_.find(gate); it != table.waiting_.end()) {
        std::erase(it->second, w);
        if (it->second.empty()) table.waiting_.erase(it);
      }
    }
  } leave{*this, gate, w};
  // A release on another thread posts the cancel to this executor, so it
  // runs after this wait has started.
  co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  bool released = false;
  {
    std::lock_guard lock(mutex_);
    released = w->released;
  }
  co_return released;
}

void gate_table::wake(const std::shared_ptr<waiter>& w) {
  asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
}

std::size_t gate_table::release(const std::string& gate) {
  std::vector<std::shared_ptr<waiter>> released;
  {
    std::lock_guard lock(mutex_);
    auto it = waiting_.find(gate);
    if (it == waiting_.end()) return 0;
    released = std::move(it->second);
    waiting_.erase(it);
    for (auto& w : released) w->released = true;
  }
  for (auto& w : released) wake(w);
  return released.size();
}

void gate_table::release_all() {
  std::map<std::string, std::vector<std::shared_ptr<waiter>>> released;
  {
    std::lock_guard lock(mutex_);
    released.swap(waiting_);
    for (auto& [name, waiters] : released)
      for (auto& w : waiters) w->released = true;
  }
  for (auto& [name, waiters] : released)
    for (auto& w : waiters) wake(w);
}

boost::json::object gate_table::to_json() const {
  std::lock_guard lock(mutex_);
  boost::json::object out;
  for (const auto& [name, waiters] : waiting_) out[name] = waiters.size();
  return out;
}

}  // namespace fake_github
