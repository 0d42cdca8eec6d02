// Loggers: operational messages and the access log, as JSON lines or text
// (docs/contract.md §3 `logging`, §8 "Logs"). Nothing secret is ever passed in here.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "github_proxy/config/config.h"

namespace github_proxy::logging {

struct loggers {
  std::shared_ptr<spdlog::logger> main;
  std::shared_ptr<spdlog::logger> access;  // null when the access log is off
};

// Builds both loggers on stderr per `cfg`.
loggers make_loggers(const config::logging_config& cfg);

// One access-log record (docs/contract.md §8): no token, no body, no query values.
struct access_line {
  std::string_view client;
  std::string_view method;
  std::string path;  // query values already removed
  unsigned status = 0;
  std::string_view cache;
  std::string_view credential;
  double upstream_seconds = -1;
  double total_seconds = 0;
  std::string_view github_request_id;
};

// `json`: a JSON object's fields (the logger's pattern adds the braces and
// the time); otherwise key=value text.
void write_access_line(spdlog::logger& logger, const access_line& line, bool json);

// `text` with every byte that is not part of well-formed UTF-8 replaced by
// U+FFFD: what a client sends may be anything, a log line stays readable.
std::string valid_utf8(std::string_view text);

// A JSON string literal, quotes included, always valid UTF-8 (valid_utf8).
std::string json_quote(std::string_view text);

}  // namespace github_proxy::logging
