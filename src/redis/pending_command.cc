#include "redis/pending_command.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "github_proxy/cache/cache_store.h"

namespace github_proxy::redis {

void complete(pending_command& p) {
  p.done = true;
  p.wake.cancel();
}

boost::asio::awaitable<command_result> await_reply(pending_ptr p, link_clock::time_point deadline) {
  if (!p->done) {
    p->wake.expires_at(deadline);
    auto [ec] = co_await p->wake.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (!p->done) {
      p->abandoned = true;
      // Expired: Redis is slow. Aborted without a reply: the caller was cancelled.
      const bool cancelled = ec == boost::asio::error::operation_aborted;
      co_return command_result{cancelled ? ec : make_error_code(cache::store_error::timeout), {}};
    }
  }
  co_return std::move(p->result);
}

}  // namespace github_proxy::redis
