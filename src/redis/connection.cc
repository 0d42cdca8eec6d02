#include "redis/connection.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/logger.h>

#include "github_proxy/cache/cache_store.h"
#include "redis/link.h"
#include "redis/pending_command.h"
#include "redis/sentinel.h"
#include "common/log_escaped.h"

namespace github_proxy::redis {

namespace asio = boost::asio;
using cache::store_error;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

class connection::impl : public std::enable_shared_from_this<connection::impl> {
 public:
  impl(asio::any_io_executor executor, connection_options options)
      : executor_(std::move(executor)),
        options_(std::move(options)),
        fsm_(options_.reconnect),
        wake_(executor_, asio::steady_timer::time_point::max()) {}

  ~impl() { close_link("closed"); }

  const connection_options& options() const { return options_; }
  link_state state() const { return fsm_.state(); }
  std::size_t in_flight() const { return link_ ? link_->in_flight() : 0; }

  // The background coroutine: the reconnect state machine's steps, carried out.
  asio::awaitable<void> run();

  // One command from start to reply, within `deadline`.
  asio::awaitable<command_result> execute(std::span<const std::string_view> argv, link_clock::time_point deadline,
                                          bool asking);

  void stop() {
    stopped_ = true;
    advance(link_event::stop);
    close_link("closed");
    wake_.cancel();
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
  // Until `done()`, `deadline` or stop(), woken when the link closes.
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
  bool link_lost() const { return !link_ || !link_->is_open(); }
  // How long a link may go without any reply while commands wait: three
  // command timeouts, at least a second (a slow command is not a dead server).
  std::chrono::milliseconds stall_limit() const {
    return std::max<std::chrono::milliseconds>(3 * options_.command_timeout, std::chrono::seconds(1));
  }
  static asio::awaitable<void> watch_master(std::shared_ptr<impl> self, std::weak_ptr<link> data,
                                            link_clock::time_point deadline);
  void close_link(std::string_view reason);
  void log_failure(std::string_view what, const link_step& retry);
  // What this connection dials: servers[0], or the master Sentinel named.
  std::string where() const { return describe(dialled_); }

  asio::any_io_executor executor_;
  connection_options options_;
  reconnect_fsm fsm_;
  std::shared_ptr<link> link_;  // null while not connected
  std::shared_ptr<link> switch_watch_;  // Sentinel: the +switch-master subscription of link_
  asio::steady_timer wake_;     // the background coroutine's alarm clock
  server_address dialled_;
  server_address sentinel_;  // the sentinel that named dialled_
  std::size_t next_sentinel_ = 0;  // where the next lookup starts in target.servers
  bool stopped_ = false;
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
          options_.logger->info("redis: connected to {}{}", options_.target.tls ? "rediss://" : "", where());
          // Only a master ROLE accepted is news worth a log line.
          if (options_.target.mode == topology::sentinel) note_master(options_.target, dialled_, options_.logger.get());
        }
        break;
      }
      case link_action::serve:
        co_await wait_until(link_clock::time_point::max(), [this] { return link_lost(); });
        if (stopped_) break;
        last_error_ = link_ ? link_->close_reason() : "closed";
        step = advance(link_event::connection_lost);
        log_failure("lost the connection to", step);
        break;
      case link_action::wait:
        close_link("backing off");
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
                                                          link_clock::time_point deadline, bool asking) {
  if (first_attempt_pending()) {
    if (awaiting_first_attempt_.size() >= options_.max_in_flight) {
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
  auto sent_on = link_;
  if (asking) {
    // ASKING and its command go together or not at all: an ASKING sent
    // alone would apply to whichever command came next on this link.
    if (link_lost() || link_->in_flight() + 2 > options_.max_in_flight) {
      co_return command_result{make_error_code(store_error::unavailable), {}};
    }
    auto asked = submit({"ASKING"}, false);
    asked->abandoned = true;  // pipelined right before the command
  }
  auto sent = submit(argv);
  auto result = co_await await_reply(std::move(sent), deadline);
  // Nothing at all from Redis for a while: it froze, or its host vanished
  // (TCP would take minutes). Drop the link; the next attempt finds the
  // server again (under Sentinel, whichever master the sentinels name now).
  if (result.error == store_error::timeout && sent_on && sent_on == link_ && sent_on->stalled(stall_limit())) {
    sent_on->close("no reply for " + std::to_string(stall_limit().count()) + " ms: Redis stopped answering");
  }
  // READONLY (also inside a script's error, as Redis 6 words it): the
  // server was demoted under this link. Drop it: the next attempt asks the
  // sentinels again, resolves a managed primary endpoint's name again, and
  // ROLE refuses a server that is still a replica (a cluster client then
  // asks for the slot map).
  if (!result.error && result.value.is_error() && result.value.text.find("READONLY") != std::string::npos &&
      sent_on && sent_on == link_) {
    sent_on->close("the server became a replica (READONLY)");
  }
  co_return result;
}

template <typename Predicate>
asio::awaitable<void> connection::impl::wait_until(link_clock::time_point deadline, Predicate done) {
  while (!stopped_ && !done() && link_clock::now() < deadline) {
    wake_.expires_at(deadline);
    co_await wake_.async_wait(use_tuple);
  }
}

asio::awaitable<bool> connection::impl::open(link_clock::time_point deadline) {
  last_error_.clear();
  const endpoint& target = options_.target;
  if (target.servers.empty()) {
    last_error_ = "no server to connect to";
    co_return false;
  }
  dialled_ = target.servers.front();
  if (target.mode == topology::sentinel) {
    auto master = co_await locate_master(executor_, target, options_.tls, options_.reconnect.connect_timeout,
                                         next_sentinel_);
    if (stopped_) co_return false;
    if (!master.ok()) {
      last_error_ = master.error;
      co_return false;
    }
    dialled_ = master.address;
    sentinel_ = master.sentinel;
    next_sentinel_ = master.sentinel_index;  // ask it first next time, unless its answer proves stale
    // The master gets a connect timeout of its own, whatever the sentinels took.
    deadline = link_clock::now() + options_.reconnect.connect_timeout;
  }
  auto opened = co_await link::open(executor_, dialled_, options_.tls, deadline);
  if (stopped_ || !opened.value) {
    if (opened.value) opened.value->close("closed");
    last_error_ = opened.error;
    co_return false;
  }
  link_ = std::move(opened.value);
  link_->on_close([weak = weak_from_this()] {
    if (auto self = weak.lock()) self->wake_.cancel();
  });
  if (target.mode == topology::sentinel) {
    // The subscription is made in the background: the data link serves meanwhile.
    asio::co_spawn(executor_,
                   watch_master(shared_from_this(), link_, link_clock::now() + options_.reconnect.connect_timeout),
                   common::log_escaped("Redis Sentinel switch watch"));
  }
  co_return true;
}

asio::awaitable<void> connection::impl::watch_master(std::shared_ptr<impl> self, std::weak_ptr<link> data,
                                                    link_clock::time_point deadline) {
  std::function<void()> switched = [data] {
    if (auto l = data.lock()) l->close("Sentinel switched the master");
  };
  auto watch = co_await watch_switches(self->executor_, self->options_.target, self->sentinel_, self->options_.tls,
                                       deadline, std::move(switched));
  if (!watch) {
    // A dropped link, READONLY and a stalled link still lead back to the sentinels.
    if (self->options_.logger) {
      self->options_.logger->warn("redis: cannot subscribe to +switch-master on {}; a failover is noticed when the "
                                  "old master stops answering or refuses a write",
                                  describe(self->sentinel_));
    }
    co_return;
  }
  auto current = data.lock();
  if (self->stopped_ || !current || current != self->link_ || !current->is_open()) {
    watch->close("no longer needed");
    co_return;
  }
  if (self->switch_watch_) self->switch_watch_->close("replaced");
  self->switch_watch_ = std::move(watch);
}

asio::awaitable<bool> connection::impl::handshake(link_clock::time_point deadline) {
  const endpoint& target = options_.target;
  struct step {
    std::string_view name;
    pending_ptr reply;
  };
  std::vector<step> steps;
  if (!target.password.empty()) {
    if (target.user.empty()) {
      steps.push_back({"AUTH", submit({"AUTH", target.password}, true)});
    } else {
      steps.push_back({"AUTH", submit({"AUTH", target.user, target.password}, true)});
    }
  }
  const std::string db = std::to_string(target.db);
  if (target.db != 0) steps.push_back({"SELECT", submit({"SELECT", db}, true)});
  steps.push_back({"ROLE", submit({"ROLE"}, true)});
  // PING also fails while Redis is still loading its data set (-LOADING).
  steps.push_back({"PING", submit({"PING"}, true)});

  for (auto& [name, pending] : steps) {
    auto result = co_await await_reply(pending, deadline);
    if (stopped_) co_return false;
    if (result.error) {
      last_error_ = result.error == store_error::timeout ? "no answer to " + std::string(name) + " in time"
                                                          : "disconnected during " + std::string(name);
      co_return false;
    }
    const reply& r = result.value;
    if (name == "ROLE") {
      // ["master", …] or ["slave", …]. An error (an ACL user without +role,
      // a renamed command) leaves the question open rather than refusing.
      const bool replica = !r.is_error() && r.type == reply::kind::array && !r.elements.empty() &&
                           r.elements[0].text != "master";
      if (replica) {
        last_error_ = "it is a replica (ROLE " + r.elements[0].text + "), not a master: the proxy writes";
        // A sentinel that named a replica is stale: start with the next one.
        if (target.mode == topology::sentinel) next_sentinel_ = (next_sentinel_ + 1) % target.servers.size();
        co_return false;
      }
      continue;
    }
    if (r.is_error()) {
      last_error_ = r.text;  // e.g. WRONGPASS: never contains the password
      co_return false;
    }
  }
  co_return true;
}

pending_ptr connection::impl::submit(std::span<const std::string_view> argv, bool handshake) {
  const bool sendable = !stopped_ && !link_lost() && (handshake || fsm_.accepts_commands()) &&
                        link_->in_flight() < options_.max_in_flight;
  if (sendable) return link_->submit(argv);
  auto pending = std::make_shared<pending_command>(executor_);
  pending->done = true;
  pending->result.error = make_error_code(store_error::unavailable);
  return pending;
}

void connection::impl::close_link(std::string_view reason) {
  if (auto watch = std::move(switch_watch_)) watch->close(reason);
  if (!link_) return;
  // Completes the commands still waiting with `unavailable`; the link's
  // reader and writer end on their next turn.
  auto gone = std::move(link_);
  gone->on_close(nullptr);
  gone->close(reason);
}

void connection::impl::log_failure(std::string_view what, const link_step& retry) {
  if (!options_.logger) return;
  // The first failure in a row is news; the retries that follow are not.
  const auto level = fsm_.failures() <= 1 ? spdlog::level::warn : spdlog::level::debug;
  const auto retry_in = std::chrono::duration_cast<std::chrono::milliseconds>(retry.deadline - link_clock::now());
  options_.logger->log(level, "redis: {} {}: {}; retrying in {} ms (failure {} in a row)", what,
                       where(), last_error_.empty() ? "closed" : last_error_,
                       std::max<std::int64_t>(retry_in.count(), 0), fsm_.failures());
}

connection_options connection_options_from(const config::redis_cache_config& config) {
  auto url = parse_redis_url(config.url);
  if (!url.ok()) throw std::invalid_argument("cache.redis.url: " + url.error);
  connection_options out;
  out.target = std::move(url.value);
  out.command_timeout = config.timeout;
  if (out.target.tls) out.tls = make_tls_settings(config.tls);
  return out;
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
  co_return co_await self->execute(argv, deadline, false);
}

asio::awaitable<command_result> connection::command_after_asking(std::span<const std::string_view> argv) {
  const auto deadline = link_clock::now() + impl_->options().command_timeout;
  auto self = impl_;
  co_return co_await self->execute(argv, deadline, true);
}

link_state connection::state() const { return impl_->state(); }
std::size_t connection::in_flight() const { return impl_->in_flight(); }

}  // namespace github_proxy::redis
