#include "common/logging.h"

#include <unistd.h>

#include <algorithm>

#include <boost/json/serializer.hpp>
#include <boost/json/string_view.hpp>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace github_proxy::logging {

namespace {

// The longest message a log line carries, escaped: with the pattern around
// it a line stays within the 4096 bytes a pipe writes whole, so lines of the
// operational log and of the access log (access_log.h) never interleave.
constexpr std::size_t max_message_bytes = 3800;

// `%*` (JSON string literal) and `%&` (text) in a pattern: the message, cut
// to max_message_bytes and then ending in "…".
class message_flag final : public spdlog::custom_flag_formatter {
 public:
  explicit message_flag(bool json) : json_(json) {}
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string out;
    append_capped(out, std::string_view(msg.payload.data(), msg.payload.size()), max_message_bytes, json_);
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<message_flag>(json_); }

 private:
  bool json_;
};

std::unique_ptr<spdlog::formatter> make_formatter(const std::string& pattern) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<message_flag>('*', true).add_flag<message_flag>('&', false).set_pattern(pattern);
  return formatter;
}

void append_valid_utf8(std::string& out, std::string_view text) {
  // RFC 3629 §4: the well-formed sequences; anything else (a stray
  // continuation byte, an overlong form, a surrogate, past U+10FFFF, a
  // sequence cut short) becomes U+FFFD, one per offending byte.
  static constexpr std::string_view replacement = "\xEF\xBF\xBD";
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
}

}  // namespace

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_valid_utf8(out, text);
  return out;
}

void append_json_string(std::string& out, std::string_view text) {
  // Boost.JSON escapes quotes and control characters but copies other bytes
  // as they are: a client's raw \xff would make the line invalid JSON.
  const bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  std::string valid;
  if (!ascii) {
    valid = valid_utf8(text);
    text = valid;
  }
  boost::json::serializer serializer;
  serializer.reset(boost::json::string_view(text.data(), text.size()));
  char piece[512];
  while (!serializer.done()) {
    const auto written = serializer.read(piece);
    out.append(written.data(), written.size());
  }
}

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  append_json_string(out, text);
  return out;
}

std::string_view utf8_prefix(std::string_view text, std::size_t bytes) {
  if (text.size() <= bytes) return text;
  std::size_t end = bytes;
  // Back to the first byte of a character: at most three continuation bytes.
  for (int i = 0; i < 3 && end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80; ++i) --end;
  return text.substr(0, end);
}

void append_capped(std::string& out, std::string_view text, std::size_t max_bytes, bool json) {
  static constexpr std::string_view cut_mark = "\xE2\x80\xA6";  // "…"
  const std::size_t start = out.size();
  // Scaling the room by how much the result overshot converges in a step or
  // two (escapes grow a byte into up to six); the room shrinks every step.
  for (std::size_t room = max_bytes;;) {
    out.resize(start);
    const auto shown = utf8_prefix(text, room);
    const bool cut = shown.size() < text.size();
    if (json) {
      append_json_string(out, shown);
      if (cut) out.insert(out.size() - 1, cut_mark);  // inside the closing quote
    } else {
      append_valid_utf8(out, shown);
      if (cut) out.append(cut_mark);
    }
    const std::size_t size = out.size() - start;
    if (size <= max_bytes || room == 0) return;
    room = std::min(shown.size() - 1, shown.size() * max_bytes / size);
  }
}

loggers make_loggers(const config::logging_config& cfg) {
  const bool json = cfg.format == config::log_format::json;
  // One sink each: a formatter belongs to the sink, not the logger.
  loggers out;
  out.main = std::make_shared<spdlog::logger>("github-proxy",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
  out.main->set_formatter(make_formatter(
      json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":%*})"
           : "%Y-%m-%dT%H:%M:%S.%eZ %l %&"));
  out.main->set_level(spdlog::level::from_str(cfg.level));
  out.main->flush_on(spdlog::level::warn);
  if (cfg.access_log) out.access = std::make_shared<access_log>(STDERR_FILENO, json);
  return out;
}

}  // namespace github_proxy::logging
