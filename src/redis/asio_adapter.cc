#include "redis/asio_adapter.h"

#include <array>
#include <csignal>
#include <memory>
#include <mutex>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/system/system_error.hpp>
#include <hiredis/async.h>

namespace github_proxy::redis {

namespace {

namespace asio = boost::asio;

// One per redisAsyncContext. hiredis asks for read and write interest
// (level-triggered: "wake me while the socket is readable"); each interest
// is one outstanding async_wait, re-armed after every wake-up while hiredis
// still wants it. Asio re-arms its edge-triggered epoll registration on every
// async_wait, so data already buffered in the socket wakes the wait at once.
class asio_adapter : public std::enable_shared_from_this<asio_adapter> {
 public:
  asio_adapter(redisAsyncContext* context, const asio::any_io_executor& executor)
      : context_(context), socket_(executor, context->c.fd) {}

  ~asio_adapter() {
    // hiredis closes the fd; reaching here with it still wrapped would only
    // happen if the cleanup hook never ran. Release, never close.
    if (socket_.is_open()) socket_.release();
  }

  void install() {
    context_->ev.data = this;
    context_->ev.addRead = [](void* self) { static_cast<asio_adapter*>(self)->want(reading, true); };
    context_->ev.delRead = [](void* self) { static_cast<asio_adapter*>(self)->want(reading, false); };
    context_->ev.addWrite = [](void* self) { static_cast<asio_adapter*>(self)->want(writing, true); };
    context_->ev.delWrite = [](void* self) { static_cast<asio_adapter*>(self)->want(writing, false); };
    context_->ev.cleanup = [](void* self) { static_cast<asio_adapter*>(self)->cleanup(); };
    hiredis_reference_ = shared_from_this();
  }

 private:
  enum direction : std::size_t { reading, writing };

  struct interest {
    bool wanted = false;   // hiredis asked for it (addRead/addWrite) and has not withdrawn it
    bool waiting = false;  // an async_wait is outstanding
  };

  void want(direction d, bool wanted) {
    interest_[d].wanted = wanted;
    arm(d);
  }

  void arm(direction d) {
    interest& i = interest_[d];
    if (!context_ || !i.wanted || i.waiting) return;
    i.waiting = true;
    const auto wait = d == reading ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write;
    socket_.async_wait(wait, [self = shared_from_this(), d](const boost::system::error_code& ec) {
      self->on_ready(d, ec);
    });
  }

  void on_ready(direction d, const boost::system::error_code& ec) {
    interest& i = interest_[d];
    i.waiting = false;
    // Aborted: released in cleanup. Not wanted any more: hiredis will ask again.
    if (ec || !context_ || !i.wanted) return;
    // Runs reply, connect and disconnect callbacks, and may free the context
    // (cleanup() has then run and context_ is null).
    if (d == reading) {
      redisAsyncHandleRead(context_);
    } else {
      redisAsyncHandleWrite(context_);
    }
    arm(d);
  }

  // hiredis is about to close the fd and free the context.
  void cleanup() {
    context_->ev = {};
    context_ = nullptr;
    interest_ = {};
    // Deregisters the fd from the reactor and aborts the pending waits
    // without closing it.
    socket_.release();
    // Pending waits still hold the adapter; otherwise it goes with this.
    auto last_reference = std::move(hiredis_reference_);
  }

  redisAsyncContext* context_;
  asio::posix::stream_descriptor socket_;
  std::array<interest, 2> interest_{};
  std::shared_ptr<asio_adapter> hiredis_reference_;
};

}  // namespace

bool attach_to_executor(redisAsyncContext* context, const asio::any_io_executor& executor) {
  if (!context || context->ev.data != nullptr || context->c.fd < 0) return false;
  ignore_sigpipe_once();
  try {
    auto adapter = std::make_shared<asio_adapter>(context, executor);
    adapter->install();
  } catch (const boost::system::system_error&) {
    return false;  // the reactor refused the fd (e.g. out of memory)
  }
  return true;
}

void ignore_sigpipe_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      struct sigaction ignore {};
      ignore.sa_handler = SIG_IGN;
      sigemptyset(&ignore.sa_mask);
      ::sigaction(SIGPIPE, &ignore, nullptr);
    }
  });
}

}  // namespace github_proxy::redis
