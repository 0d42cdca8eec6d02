// The completion handler for every long-lived co_spawn (accept loops, Redis
// connections, registry reloads, App token renewals, sessions): an exception
// that escapes the coroutine is logged with what was running, instead of
// `asio::detached` dropping it silently. The coroutine is over either way;
// the process goes on.
#pragma once

#include <exception>
#include <memory>
#include <string_view>

#include <spdlog/logger.h>

namespace github_proxy::common {

class log_escaped {
 public:
  // `task` names the coroutine in the log line and must outlive the handler
  // (a string literal). A null `log` uses spdlog's default logger, which
  // main.cc sets to the daemon's own.
  explicit log_escaped(std::string_view task, std::shared_ptr<spdlog::logger> log = nullptr)
      : task_(task), log_(std::move(log)) {}

  void operator()(std::exception_ptr escaped) const;

 private:
  std::string_view task_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace github_proxy::common
