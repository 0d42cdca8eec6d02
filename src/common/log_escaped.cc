#include "common/log_escaped.h"

#include <spdlog/spdlog.h>

namespace github_proxy::common {

void log_escaped::operator()(std::exception_ptr escaped) const {
  if (!escaped) return;
  auto* log = log_ ? log_.get() : spdlog::default_logger_raw();
  if (!log) return;
  try {
    std::rethrow_exception(escaped);
  } catch (const std::exception& e) {
    log->error("{} ended by an exception: {}", task_, e.what());
  } catch (...) {
    log->error("{} ended by an exception of unknown type", task_);
  }
}

}  // namespace github_proxy::common
