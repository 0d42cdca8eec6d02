// Loggers: operational messages and the access log, as JSON lines or text
// (docs/contract.md §3 `logging`, §8 "Logs"). Nothing secret is ever passed in here.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "common/access_log.h"
#include "github_proxy/config/config.h"

namespace github_proxy::logging {

struct loggers {
  std::shared_ptr<spdlog::logger> main;
  std::shared_ptr<access_log> access;  // null when the access log is off
};

// Both loggers on stderr per `cfg`.
loggers make_loggers(const config::logging_config& cfg);

// `text` with every byte that is not part of well-formed UTF-8 replaced by
// U+FFFD: what a client sends may be anything, a log line stays readable.
std::string valid_utf8(std::string_view text);

// A JSON string literal, quotes included, always valid UTF-8 (valid_utf8).
std::string json_quote(std::string_view text);
// The same, appended to `out`.
void append_json_string(std::string& out, std::string_view text);

// The longest prefix of `text` within `bytes` that does not end inside a
// UTF-8 character.
std::string_view utf8_prefix(std::string_view text, std::size_t bytes);

// Appends `text` as a JSON string literal (`json`) or as valid UTF-8, taking
// at most `max_bytes` of `out` (for a non-empty `max_bytes` ≥ 5): a text too
// long for that is cut at a character and ends in "…".
void append_capped(std::string& out, std::string_view text, std::size_t max_bytes, bool json);

}  // namespace github_proxy::logging
