#include "redis/connection.h"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <hiredis/async.h>
#include <spdlog/logger.h>

#include "github_proxy/cache/cache_store.h"
#include "redis/asio_adapter.h"
#include "redis/pending_command.h"
#include "common/log_escaped.h"

namespace github_proxy::redis {

namespace asio = boost::asio;
using cache::store_error;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

class connection::impl {
 public:
  impl(asio::any_io_executor executor, connection_options options)
      : executor_(std::move(executor)),
        options_(std::move(options)),
        fsm_(options_.reconnect),
        wake_(executor_, asio::steady_timer::time_point::max()),
        resolver_(executor_) {}

  ~impl() { close_context(); }

  const connection_options& options() const { return options_; }
  link_state state() const { return fsm_.state(); }
  std::size_t in_flight() const { return in_flight_; }

  // The background coroutine: the reconnect state machine's steps, carried out.
  asio::awaitable<void> run();

  // One command from start to reply, within `deadline`.
  asio::awaitable<command_result> execute(std::span<const std::string_view> argv, link_clock::time_point deadline);

  void stop() {
    stopped_ = true;
    advance(link_event::stop);
    close_context();
    wake_.cancel();
    resolver_.cancel();
  }

  // Sends `argv`, or returns an already completed command when it cannot be
  // sent. `handshake` commands go out before the connection is ready.
  pending_ptr submit(std::span<const std::string_view> argv, bool handshake = false);
  pending_ptr submit(std::initializer_list<std::string_view> argv, bool handshake) {
    return submit(std::span<const std::string_view>(argv.begin(), argv.size()), handshake);
  }

 private:
  asio::awaitable<bool> open(link_clock::time_point deadline);
  asio::awaitable<bool> handshake(link_clock::time_point deadline);
  asio::awaitable<std::vector<std::string>> resolve(link_clock::time_point deadline);
  asio::awaitable<bool> connect_to(const std::string& address, link_clock::time_point deadline);
  // Until `done()`, `deadline` or stop(), woken by hiredis' connect and disconnect callbacks.
  template <typename Predicate>
  asio::awaitable<void> wait_until(link_clock::time_point deadline, Predicate done);
  // Feeds the state machine; wakes the commands waiting for the first attempt once it is decided.
  link_step advance(link_event event);
  // Connecting for the first time (start-up): commands wait for the outcome
  // instead of failing while the connection may be a few ms from ready. Later
  // attempts follow a failure, and commands fail at once meanwhile.
  bool first_attempt_pending() const {
    const auto state = fsm_.state();
    return !stopped_ && fsm_.failures() == 0 &&
           (state == link_state::disconnected || state == link_state::connecting ||
            state == link_state::authenticating);
  }
  void close_context();
  void log_failure(std::string_view what, const link_step& retry);

  static void on_connect(const redisAsyncContext* context, int status);
  static void on_disconnect(const redisAsyncContext* context, int status);
  static void on_reply(redisAsyncContext* context, void* reply, void* privdata);

  enum class connect_status { pending, connected, failed };

  asio::any_io_executor executor_;
  connection_options options_;
  reconnect_fsm fsm_;
  redisAsyncContext* context_ = nullptr;  // null while not connected
  asio::steady_timer wake_;               // the background coroutine's alarm clock
  asio::ip::tcp::resolver resolver_;
  connect_status connect_status_ = connect_status::pending;
  bool lost_ = false;
  bool stopped_ = false;
  std::size_t in_flight_ = 0;  // sent and not yet called back, timed-out ones included
  std::vector<pending_ptr> awaiting_first_attempt_;  // `done` once it is decided
  std::string last_error_;
};

asio::awaitable<void> connection::impl::run() {
  auto step = advance(link_event::start);
  while (!stopped_) {
    switch (step.action) {
      case link_action::connect: {
        const bool connected = co_await open(step.deadline);
        if (stopped_) break;
        step = advance(connected ? link_event::tcp_connected : link_event::tcp_failed);
        if (!connected) log_failure("cannot connect to", step);
        break;
      }
      case link_action::handshake: {
        const bool accepted = co_await handshake(step.deadline);
        if (stopped_) break;
        step = advance(accepted ? link_event::handshake_done : link_event::handshake_failed);
        if (!accepted) {
          log_failure("handshake failed with", step);
        } else if (options_.logger) {
          options_.logger->info("redis: connected to {}", describe(options_.target));
        }
        break;
      }
      case link_action::serve:
        co_await wait_until(link_clock::time_point::max(), [this] { return lost_; });
        if (stopped_) break;
        step = advance(link_event::connection_lost);
        log_failure("lost the connection to", step);
        break;
      case link_action::wait:
        close_context();
        co_await wait_until(step.deadline, [] { return false; });
        if (stopped_) break;
        step = advance(link_event::backoff_elapsed);
        break;
      case link_action::none:
      case link_action::close:
        co_return;
    }
  }
}

link_step connection::impl::advance(link_event event) {
  auto step = fsm_.on(event, link_clock::now());
  if (!first_attempt_pending()) {
    for (auto& waiter : awaiting_first_attempt_) complete(*waiter);
    awaiting_first_attempt_.clear();
  }
  return step;
}

asio::awaitable<command_result> connection::impl::execute(std::span<const std::string_view> argv,
                                                          link_clock::time_point deadline) {
  if (first_attempt_pending()) {
    if (in_flight_ + awaiting_first_attempt_.size() >= options_.max_in_flight) {
      co_return command_result{make_error_code(store_error::unavailable), {}};
    }
    auto waiter = std::make_shared<pending_command>(executor_);
    awaiting_first_attempt_.push_back(waiter);
    auto waited = co_await await_reply(waiter, deadline);
    if (waited.error) {  // timed out or cancelled before the attempt was decided
      std::erase(awaiting_first_attempt_, waiter);
      co_return waited;
    }
  }
  co_return co_await await_reply(submit(argv), deadline);
}

template <typename Predicate>
asio::awaitable<void> connection::impl::wait_until(link_clock::time_point deadline, Predicate done) {
  while (!stopped_ && !done() && link_clock::now() < deadline) {
    wake_.expires_at(deadline);
    co_await wake_.async_wait(use_tuple);
  }
}

asio::awaitable<std::vector<std::string>> connection::impl::resolve(link_clock::time_point deadline) {
  using namespace asio::experimental::awaitable_operators;
  boost::system::error_code ec;
  asio::ip::make_address(options_.target.host, ec);
  if (!ec) co_return std::vector<std::string>{options_.target.host};  // an IP literal needs no lookup
  // hiredis would resolve with a blocking getaddrinfo; Asio's resolver does
  // it off this thread.
  wake_.expires_at(deadline);
  const std::string service = std::to_string(options_.target.port);
  auto outcome = co_await (resolver_.async_resolve(options_.target.host, service, use_tuple) ||
                           wake_.async_wait(use_tuple));
  std::vector<std::string> addresses;
  if (outcome.index() != 0) {
    last_error_ = "name resolution timed out";
    co_return addresses;
  }
  auto [resolve_ec, results] = std::get<0>(std::move(outcome));
  if (resolve_ec) last_error_ = "cannot resolve " + options_.target.host + ": " + resolve_ec.message();
  for (const auto& entry : results) addresses.push_back(entry.endpoint().address().to_string());
  co_return addresses;
}

asio::awaitable<bool> connection::impl::open(link_clock::time_point deadline) {
  lost_ = false;
  last_error_.clear();
  // "localhost" may give ::1 first while Redis listens on 127.0.0.1 only: try each.
  const std::vector<std::string> addresses = co_await resolve(deadline);
  for (const std::string& address : addresses) {
    if (stopped_ || link_clock::now() >= deadline) break;
    if (co_await connect_to(address, deadline)) co_return true;
  }
  co_return false;
}

asio::awaitable<bool> connection::impl::connect_to(const std::string& address, link_clock::time_point deadline) {
  connect_status_ = connect_status::pending;
  // Non-blocking: the connect completes (or fails) on the first write event.
  redisAsyncContext* context = redisAsyncConnect(address.c_str(), options_.target.port);
  if (!context) {
    last_error_ = "out of memory";
    co_return false;
  }
  if (context->err || !attach_to_executor(context, executor_)) {
    last_error_ = context->err ? context->errstr : "cannot watch the socket";
    redisAsyncFree(context);
    co_return false;
  }
  context->data = this;
  context_ = context;
  redisEnableKeepAlive(&context->c);  // notices a peer that vanished without a FIN
  redisAsyncSetDisconnectCallback(context, &impl::on_disconnect);
  redisAsyncSetConnectCallback(context, &impl::on_connect);  // asks for the first write event

  co_await wait_until(deadline, [this] { return connect_status_ != connect_status::pending; });
  if (connect_status_ == connect_status::connected && context_) co_return true;
  if (connect_status_ == connect_status::pending) last_error_ = "connect timed out";
  close_context();
  co_return false;
}

asio::awaitable<bool> connection::impl::handshake(link_clock::time_point deadline) {
  const endpoint& target = options_.target;
  std::vector<pending_ptr> steps;
  if (!target.password.empty()) {
    if (target.user.empty()) {
      steps.push_back(submit({"AUTH", target.password}, true));
    } else {
      steps.push_back(submit({"AUTH", target.user, target.password}, true));
    }
  }
  const std::string db = std::to_string(target.db);
  if (target.db != 0) steps.push_back(submit({"SELECT", db}, true));
  // PING also fails while Redis is still loading its data set (-LOADING).
  steps.push_back(submit({"PING"}, true));

  for (auto& step : steps) {
    auto result = co_await await_reply(step, deadline);
    if (stopped_) co_return false;
    if (result.error) {
      last_error_ = result.error == store_error::timeout ? "no answer to AUTH/SELECT/PING in time"
                                                          : "disconnected during AUTH/SELECT/PING";
      co_return false;
    }
    if (result.value.is_error()) {
      last_error_ = result.value.text;  // e.g. WRONGPASS: never contains the password
      co_return false;
    }
  }
  co_return true;
}

pending_ptr connection::impl::submit(std::span<const std::string_view> argv, bool handshake) {
  auto pending = std::make_shared<pending_command>(executor_);
  const bool sendable = !stopped_ && context_ && (handshake || fsm_.accepts_commands()) &&
                        in_flight_ < options_.max_in_flight;
  if (sendable) {
    std::vector<const char*> args;
    std::vector<std::size_t> lengths;
    args.reserve(argv.size());
    lengths.reserve(argv.size());
    for (std::string_view arg : argv) {
      args.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    auto holder = std::make_unique<pending_ptr>(pending);
    if (redisAsyncCommandArgv(context_, &impl::on_reply, holder.get(), static_cast<int>(args.size()), args.data(),
                              lengths.data()) == REDIS_OK) {
      holder.release();  // now hiredis' until on_reply
      ++in_flight_;
      return pending;
    }
  }
  pending->done = true;
  pending->result.error = make_error_code(store_error::unavailable);
  return pending;
}

void connection::impl::close_context() {
  if (!context_) return;
  // Runs the callbacks still pending with a null reply (their commands fail
  // with `unavailable`), then the adapter's cleanup hook; closes the fd.
  redisAsyncFree(std::exchange(context_, nullptr));
}

void connection::impl::log_failure(std::string_view what, const link_step& retry) {
  if (!options_.logger) return;
  // The first failure in a row is news; the retries that follow are not.
  const auto level = fsm_.failures() <= 1 ? spdlog::level::warn : spdlog::level::debug;
  const auto retry_in = std::chrono::duration_cast<std::chrono::milliseconds>(retry.deadline - link_clock::now());
  options_.logger->log(level, "redis: {} {}: {}; retrying in {} ms (failure {} in a row)", what,
                       describe(options_.target), last_error_.empty() ? "closed" : last_error_,
                       std::max<std::int64_t>(retry_in.count(), 0), fsm_.failures());
}

void connection::impl::on_connect(const redisAsyncContext* context, int status) {
  auto* self = static_cast<impl*>(context->data);
  if (status == REDIS_OK) {
    self->connect_status_ = connect_status::connected;
  } else {
    // hiredis frees the context as soon as this returns.
    self->connect_status_ = connect_status::failed;
    self->last_error_ = context->c.errstr[0] ? context->c.errstr : "connection refused";
    if (self->context_ == context) self->context_ = nullptr;
  }
  self->wake_.cancel();
}

void connection::impl::on_disconnect(const redisAsyncContext* context, int status) {
  // Also reached from our own redisAsyncFree (status OK); hiredis frees the
  // context as soon as this returns.
  auto* self = static_cast<impl*>(context->data);
  if (status != REDIS_OK && context->c.errstr[0]) self->last_error_ = context->c.errstr;
  if (self->context_ == context) self->context_ = nullptr;
  self->lost_ = true;
  self->wake_.cancel();
}

void connection::impl::on_reply(redisAsyncContext* context, void* reply, void* privdata) {
  std::unique_ptr<pending_ptr> holder(static_cast<pending_ptr*>(privdata));
  auto* self = static_cast<impl*>(context->data);
  --self->in_flight_;
  pending_command& pending = **holder;
  if (!pending.abandoned) {
    if (reply) {
      pending.result.value = copy_reply(*static_cast<const redisReply*>(reply));
    } else {
      pending.result.error = make_error_code(store_error::unavailable);  // the connection went
    }
  }
  complete(pending);
}

connection::connection(asio::any_io_executor executor, connection_options options)
    : impl_(std::make_shared<impl>(executor, std::move(options))) {
  // The coroutine holds the impl; it ends soon after stop().
  asio::co_spawn(executor, [self = impl_] { return self->run(); }, common::log_escaped("Redis connection"));
}

connection::~connection() { impl_->stop(); }

asio::awaitable<command_result> connection::command(std::span<const std::string_view> argv) {
  const auto deadline = link_clock::now() + impl_->options().command_timeout;
  // The impl, not *this: the connection may go while the command waits.
  auto self = impl_;
  co_return co_await self->execute(argv, deadline);
}

link_state connection::state() const { return impl_->state(); }
std::size_t connection::in_flight() const { return impl_->in_flight(); }

}  // namespace github_proxy::redis
