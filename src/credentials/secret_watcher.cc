#include "github_proxy/credentials/secret_watcher.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/log_escaped.h"

namespace github_proxy::credentials {

namespace asio = boost::asio;

struct secret_watcher::state {
  state(asio::any_io_executor executor, pool& credentials, std::chrono::milliseconds every,
        std::shared_ptr<spdlog::logger> log, prometheus::Family<prometheus::Counter>& reloads_total)
      : strand(asio::make_strand(std::move(executor))),
        timer(strand),
        secrets(credentials),
        interval(every),
        logger(std::move(log)),
        ok(reloads_total.Add({{"result", "ok"}})),
        error(reloads_total.Add({{"result", "error"}})) {}

  asio::strand<asio::any_io_executor> strand;
  asio::steady_timer timer;  // strand only
  bool started = false;      // strand only
  bool stopped = false;      // strand only
  pool& secrets;
  const std::chrono::milliseconds interval;
  const std::shared_ptr<spdlog::logger> logger;
  prometheus::Counter& ok;
  prometheus::Counter& error;

  poll_result poll_once() {
    poll_result result;
    for (const auto& change : secrets.reload_changed_secrets()) {
      if (!change.error.empty()) {
        ++result.failed;
        error.Increment();
        logger->error("{}; keeping the previous secret, and reading the file again every {} ms", change.error,
                      interval.count());
        continue;
      }
      ++result.reloaded;
      ok.Increment();
      if (change.replaced) {
        logger->info("credential {}: {} changed; the new secret is in use", change.credential, change.file);
      } else {
        logger->info("credential {}: {} changed but holds the same token", change.credential, change.file);
      }
    }
    return result;
  }

  void reload_all() {
    const auto errors = secrets.reload_secrets();  // at most one per credential
    for (const auto& e : errors) logger->error("{}; keeping the previous secret", e.to_string());
    error.Increment(static_cast<double>(errors.size()));
    ok.Increment(static_cast<double>(secrets.size() - errors.size()));
    logger->info("SIGHUP: {} of {} credentials' secrets re-read", secrets.size() - errors.size(), secrets.size());
  }

  // The timer loop, on the strand. Holds `self` so that destroying the
  // watcher while a wait is pending is safe.
  static asio::awaitable<void> poll_loop(std::shared_ptr<state> self) {
    while (!self->stopped) {
      self->timer.expires_after(self->interval);
      const auto [ec] = co_await self->timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec || self->stopped) co_return;
      try {
        self->poll_once();
      } catch (const std::exception& e) {
        // Keep polling: the previous secrets stay and the failure is visible.
        self->error.Increment();
        self->logger->error("secret reload failed: {}", e.what());
      }
    }
  }
};

secret_watcher::secret_watcher(asio::any_io_executor executor, pool& credentials, std::chrono::milliseconds interval,
                               std::shared_ptr<spdlog::logger> logger,
                               prometheus::Family<prometheus::Counter>& reloads_total)
    : state_(std::make_shared<state>(std::move(executor), credentials, interval, std::move(logger),
                                     reloads_total)) {}

secret_watcher::~secret_watcher() { stop(); }

secret_watcher::poll_result secret_watcher::poll_once() { return state_->poll_once(); }

void secret_watcher::reload_all() {
  asio::dispatch(state_->strand, [self = state_] {
    try {
      self->reload_all();
    } catch (const std::exception& e) {
      self->error.Increment();
      self->logger->error("secret reload failed: {}", e.what());
    }
  });
}

void secret_watcher::start() {
  asio::dispatch(state_->strand, [self = state_] {
    if (self->started || self->stopped || self->interval.count() <= 0) return;
    self->started = true;
    asio::co_spawn(self->strand, state::poll_loop(self), common::log_escaped("secret reload", self->logger));
  });
}

void secret_watcher::stop() {
  asio::dispatch(state_->strand, [self = state_] {
    self->stopped = true;
    self->timer.cancel();
  });
}

}  // namespace github_proxy::credentials
