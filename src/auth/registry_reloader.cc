#include "github_proxy/auth/registry_reloader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>

#include "auth/digest.h"
#include "common/log_escaped.h"

namespace github_proxy::auth {
namespace {

namespace asio = boost::asio;

constexpr std::size_t max_registry_bytes = 16 * 1024 * 1024;

// What a poll saw at the path: the resolved target's identity and content,
// or the errno that kept it from being read.
struct fingerprint {
  int open_error = 0;
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0;
  sha256_digest content{};

  bool operator==(const fingerprint& other) const {
    return open_error == other.open_error && device == other.device && inode == other.inode &&
           size == other.size && mtime_ns == other.mtime_ns && content == other.content;
  }
};

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

struct file_read {
  fingerprint print;
  std::string content;
  bool in_flux = false;  // changed while being read
  std::string error;     // set when it could not be read
};

// open → fstat → read → fstat on one descriptor, so identity and content
// belong to the same file even while a symlink is being swapped.
file_read read_file(const std::string& path) {
  file_read result;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    result.print.open_error = errno;
    result.error = std::strerror(errno);
    return result;
  }
  struct stat before {};
  struct stat after {};
  bool ok = ::fstat(fd, &before) == 0;
  if (ok && static_cast<std::size_t>(before.st_size) > max_registry_bytes) {
    result.print.open_error = EFBIG;
    result.error = "the registry file is larger than 16 MiB";
    ::close(fd);
    return result;
  }
  char buffer[64 * 1024];
  while (ok) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    result.content.append(buffer, static_cast<std::size_t>(n));
    if (result.content.size() > max_registry_bytes) ok = false;
  }
  ok = ok && ::fstat(fd, &after) == 0;
  const int saved_errno = errno;
  ::close(fd);
  if (!ok) {
    result.print.open_error = saved_errno ? saved_errno : EIO;
    result.error = "cannot read the registry file";
    return result;
  }
  result.in_flux = before.st_size != after.st_size || mtime_ns(before) != mtime_ns(after) ||
                   static_cast<std::size_t>(after.st_size) != result.content.size();
  result.print.device = after.st_dev;
  result.print.inode = after.st_ino;
  result.print.size = after.st_size;
  result.print.mtime_ns = mtime_ns(after);
  result.print.content = sha256(result.content);
  return result;
}

}  // namespace

struct registry_reloader::state {
  state(asio::any_io_executor executor, registry_store& store_ref, std::string path,
        std::chrono::milliseconds every, std::shared_ptr<spdlog::logger> log,
        prometheus::Family<prometheus::Counter>& reloads_total, prometheus::Gauge& clients,
        prometheus::Gauge& last_success, wall_clock now)
      : strand(asio::make_strand(std::move(executor))),
        timer(strand),
        store(store_ref),
        file(std::move(path)),
        interval(std::max(every, std::chrono::milliseconds(1))),
        logger(std::move(log)),
        success(reloads_total.Add({{"result", "success"}})),
        error(reloads_total.Add({{"result", "error"}})),
        clients_gauge(clients),
        last_success_gauge(last_success),
        wall_now(std::move(now)) {}

  asio::strand<asio::any_io_executor> strand;
  asio::steady_timer timer;  // strand only
  bool started = false;      // strand only
  bool stopped = false;      // strand only
  registry_store& store;
  const std::string file;
  const std::chrono::milliseconds interval;
  const std::shared_ptr<spdlog::logger> logger;
  prometheus::Counter& success;
  prometheus::Counter& error;
  prometheus::Gauge& clients_gauge;
  prometheus::Gauge& last_success_gauge;
  const wall_clock wall_now;

  std::mutex poll_mutex;  // serialises poll_once callers; guards the fields below
  std::optional<fingerprint> last_seen;
  std::optional<sha256_digest> installed_content;

  // The file holds a good registry as of now (alerts: "the registry stays
  // invalid" compares this with the last failed reload).
  void stamp_success() {
    const std::chrono::duration<double> since_epoch = wall_now().time_since_epoch();
    last_success_gauge.Set(since_epoch.count());
  }

  void install(const registry_load_result& result, const fingerprint& print) {
    store.replace(result.snapshot);
    clients_gauge.Set(static_cast<double>(client_count(*result.snapshot)));
    stamp_success();
    installed_content = print.content;
    for (const auto& warning : result.warnings) {
      logger->warn("registry: {}:{}: warning: {}", warning.file, warning.line, warning.message);
    }
  }

  registry_load_result load_initial() {
    std::lock_guard lock(poll_mutex);
    file_read read = read_file(file);
    registry_load_result result;
    if (!read.error.empty()) {
      result.errors.push_back({file, 0, read.error});
      return result;
    }
    result = load_registry_from_string(read.content, file);
    if (result.errors.empty()) {
      install(result, read.print);
      last_seen = read.print;
      logger->info("registry loaded: {} clients", client_count(*result.snapshot));
    }
    return result;
  }

  poll_outcome poll_once() {
    std::lock_guard lock(poll_mutex);
    file_read read = read_file(file);
    if (read.in_flux) return poll_outcome::unchanged;  // look again next time
    if (last_seen == read.print) return poll_outcome::unchanged;
    last_seen = read.print;

    if (!read.error.empty()) {
      error.Increment();
      logger->error("registry reload failed: {}: {}; keeping the previous registry", file,
                    read.error);
      return poll_outcome::failed;
    }
    if (installed_content == read.print.content) {
      // Changed back to the registry in use (an invalid edit reverted):
      // nothing to install, but the file is good again.
      stamp_success();
      return poll_outcome::unchanged;
    }

    const registry_load_result result = load_registry_from_string(read.content, file);
    if (!installed_content && result.errors.empty()) {
      // No baseline: start-up loaded the file without load_initial(). Install
      // what is there now (the same registry, or a newer one) without
      // counting it as a reload.
      install(result, read.print);
      logger->info("registry loaded: {} clients", client_count(*result.snapshot));
      return poll_outcome::reloaded;
    }
    if (!result.errors.empty()) {
      error.Increment();
      for (const auto& problem : result.errors) {
        logger->error("registry reload failed: {}:{}: {}", problem.file, problem.line,
                      problem.message);
      }
      logger->error("registry reload failed with {} errors; keeping the previous registry",
                    result.errors.size());
      return poll_outcome::failed;
    }
    install(result, read.print);
    success.Increment();
    logger->info("registry reloaded: {} clients", client_count(*result.snapshot));
    return poll_outcome::reloaded;
  }

  // The timer loop, on the strand. Holds `self` so that destroying the
  // reloader while a wait is pending is safe.
  static asio::awaitable<void> poll_loop(std::shared_ptr<state> self) {
    while (!self->stopped) {
      self->timer.expires_after(self->interval);
      const auto [ec] = co_await self->timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec || self->stopped) co_return;
      try {
        self->poll_once();
      } catch (const std::exception& e) {
        // Keep polling: the old snapshot stays and the failure is visible.
        self->error.Increment();
        self->logger->error("registry reload failed: {}", e.what());
      }
    }
  }
};

registry_reloader::registry_reloader(asio::any_io_executor executor, registry_store& store,
                                     std::string file, std::chrono::milliseconds interval,
                                     std::shared_ptr<spdlog::logger> logger,
                                     prometheus::Family<prometheus::Counter>& reloads_total,
                                     prometheus::Gauge& clients, prometheus::Gauge& last_success,
                                     wall_clock now)
    : state_(std::make_shared<state>(std::move(executor), store, std::move(file), interval,
                                     std::move(logger), reloads_total, clients, last_success,
                                     std::move(now))) {}

registry_reloader::~registry_reloader() { stop(); }

registry_load_result registry_reloader::load_initial() { return state_->load_initial(); }

registry_reloader::poll_outcome registry_reloader::poll_once() { return state_->poll_once(); }

void registry_reloader::start() {
  asio::dispatch(state_->strand, [self = state_] {
    if (self->started || self->stopped) return;
    self->started = true;
    asio::co_spawn(self->strand, state::poll_loop(self), common::log_escaped("registry reload", self->logger));
  });
}

void registry_reloader::stop() {
  asio::dispatch(state_->strand, [self = state_] {
    self->stopped = true;
    self->timer.cancel();
  });
}

}  // namespace github_proxy::auth
