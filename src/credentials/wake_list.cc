#include "credentials/wake_list.h"

#include <algorithm>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace github_proxy::credentials::detail {

namespace asio = boost::asio;

struct wake_list::waiter {
  waiter(asio::any_io_executor executor, steady_time deadline) : timer(std::move(executor), deadline) {}
  asio::steady_timer timer;  // touched only on its executor
};

void wake_list::notify() {
  generation_.fetch_add(1);
  if (waiting_.load() == 0) return;
  std::vector<std::shared_ptr<waiter>> woken;
  {
    const std::lock_guard lock(mutex_);
    woken.swap(waiters_);
    waiting_.store(0);
  }
  for (auto& w : woken) {
    auto executor = w->timer.get_executor();
    asio::post(executor, [w = std::move(w)] { w->timer.cancel(); });
  }
}

void wake_list::remove(const std::shared_ptr<waiter>& w) {
  const std::lock_guard lock(mutex_);
  const auto it = std::find(waiters_.begin(), waiters_.end(), w);
  if (it == waiters_.end()) return;  // already taken by notify
  *it = std::move(waiters_.back());
  waiters_.pop_back();
  waiting_.store(waiters_.size());
}

asio::awaitable<void> wake_list::wait(std::uint64_t observed, steady_time deadline) {
  const auto executor = co_await asio::this_coro::executor;
  auto w = std::make_shared<waiter>(executor, deadline);
  bool missed = false;
  {
    const std::lock_guard lock(mutex_);
    waiters_.push_back(w);
    waiting_.store(waiters_.size());
    missed = generation_.load() != observed;
  }
  // Deregisters however this frame ends (woken, timed out, cancelled, or
  // destroyed with its io_context), so notify never posts to a dead waiter.
  struct registration {
    wake_list& list;
    const std::shared_ptr<waiter>& entry;
    ~registration() { list.remove(entry); }
  } guard{*this, w};
  if (missed) co_return;
  co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace github_proxy::credentials::detail
