// Coroutines of the credential pool waiting for "something changed": a
// request in flight completed (a concurrency slot or headroom came free), an
// App's renewal finished, secrets were reloaded. Each waiter sleeps on a
// timer of its own executor until its deadline; `notify` (any thread) posts
// the cancellation of every waiter's timer to that waiter's executor, so a
// waiter always resumes on its own executor and its timer is only ever
// touched there.
//
// No lost wake-ups: a waiter reads `generation()` before it looks at the
// pool, and `wait` returns at once when a notify came in between. `notify`
// costs one atomic increment and one atomic load while nobody waits.
//
// Threading: all members may be called from any thread. The waiter's
// executor must not run the waiting coroutine on two threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace github_proxy::credentials::detail {

class wake_list {
 public:
  using steady_time = std::chrono::steady_clock::time_point;

  std::uint64_t generation() const { return generation_.load(); }

  // Wakes every current waiter.
  void notify();

  // Until a notify after `observed`, `deadline`, or the caller's
  // cancellation, whichever comes first.
  boost::asio::awaitable<void> wait(std::uint64_t observed, steady_time deadline);

  std::size_t waiting() const { return waiting_.load(); }

 private:
  struct waiter;
  void remove(const std::shared_ptr<waiter>& w);

  std::mutex mutex_;
  std::vector<std::shared_ptr<waiter>> waiters_;
  // Sequentially consistent on purpose: notify writes generation_ then
  // reads waiting_; wait writes waiting_ then reads generation_, so one of
  // the two always sees the other.
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::size_t> waiting_{0};
};

}  // namespace github_proxy::credentials::detail
