#include "common/logging.h"

#include <algorithm>

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>
#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace github_proxy::logging {

namespace {

// `%*` in a pattern: the message as a JSON string literal.
class json_message_flag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const auto quoted = json_quote(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_message_flag>();
  }
};

std::unique_ptr<spdlog::formatter> make_formatter(const std::string& pattern) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<json_message_flag>('*').set_pattern(pattern);
  return formatter;
}

}  // namespace

std::string valid_utf8(std::string_view text) {
  // RFC 3629 §4: the well-formed sequences; anything else (a stray
  // continuation byte, an overlong form, a surrogate, past U+10FFFF, a
  // sequence cut short) becomes U+FFFD, one per offending byte.
  static constexpr std::string_view replacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(text.size());
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto in = [](unsigned char b, unsigned char lo, unsigned char hi) { return b >= lo && b <= hi; };
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned char b0 = byte(i);
    std::size_t n = 0;
    if (b0 < 0x80) {
      n = 1;
    } else if (in(b0, 0xC2, 0xDF)) {
      if (i + 1 < text.size() && in(byte(i + 1), 0x80, 0xBF)) n = 2;
    } else if (in(b0, 0xE0, 0xEF)) {
      const unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80, hi = b0 == 0xED ? 0x9F : 0xBF;
      if (i + 2 < text.size() && in(byte(i + 1), lo, hi) && in(byte(i + 2), 0x80, 0xBF)) n = 3;
    } else if (in(b0, 0xF0, 0xF4)) {
      const unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80, hi = b0 == 0xF4 ? 0x8F : 0xBF;
      if (i + 3 < text.size() && in(byte(i + 1), lo, hi) && in(byte(i + 2), 0x80, 0xBF) &&
          in(byte(i + 3), 0x80, 0xBF))
        n = 4;
    }
    if (n == 0) {
      out.append(replacement);
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string json_quote(std::string_view text) {
  // Boost.JSON escapes quotes and control characters but copies other bytes
  // as they are: a client's raw \xff would make the line invalid JSON.
  const bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) return boost::json::serialize(boost::json::string_view(text.data(), text.size()));
  const auto valid = valid_utf8(text);
  return boost::json::serialize(boost::json::string_view(valid.data(), valid.size()));
}

loggers make_loggers(const config::logging_config& cfg) {
  const bool json = cfg.format == config::log_format::json;
  // One sink each: a formatter belongs to the sink, not the logger.
  loggers out;
  out.main = std::make_shared<spdlog::logger>("github-proxy",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
  out.main->set_formatter(make_formatter(
      json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":%*})"
           : "%Y-%m-%dT%H:%M:%S.%eZ %l %v"));
  out.main->set_level(spdlog::level::from_str(cfg.level));
  out.main->flush_on(spdlog::level::warn);
  if (cfg.access_log) {
    out.access = std::make_shared<spdlog::logger>("access",
                                                  std::make_shared<spdlog::sinks::stderr_sink_mt>());
    out.access->set_formatter(make_formatter(
        json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"info","log":"access",%v})"
             : "%Y-%m-%dT%H:%M:%S.%eZ access %v"));
    out.access->set_level(spdlog::level::info);
  }
  return out;
}

void write_access_line(spdlog::logger& logger, const access_line& line, bool json) {
  if (!logger.should_log(spdlog::level::info)) return;
  if (json) {
    logger.info(
        R"("client":{},"method":{},"path":{},"status":{},"cache":"{}","credential":{},)"
        R"("upstream_seconds":{:.6f},"total_seconds":{:.6f},"github_request_id":{})",
        json_quote(line.client), json_quote(line.method), json_quote(line.path), line.status,
        line.cache, json_quote(line.credential), std::max(0.0, line.upstream_seconds),
        line.total_seconds, json_quote(line.github_request_id));
  } else {
    logger.info("client={} method={} path={} status={} cache={} credential={} upstream={:.6f}s "
                "total={:.6f}s github_request_id={}",
                line.client, line.method, line.path, line.status, line.cache,
                line.credential.empty() ? "-" : line.credential,
                std::max(0.0, line.upstream_seconds), line.total_seconds,
                line.github_request_id.empty() ? "-" : line.github_request_id);
  }
}

}  // namespace github_proxy::logging
