#include "credentials/time_text.h"

#include "common/http_date.h"

#include <charconv>
#include <ctime>
#include <string>

namespace github_proxy::credentials::detail {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// strptime wants a NUL-terminated string; both formats are short.
std::optional<time_point> parse_with(std::string_view text, const char* format, std::string_view tail_ok) {
  text = trim(text);
  if (text.empty() || text.size() > 64) return std::nullopt;
  const std::string copy(text);
  std::tm tm{};
  const char* end = strptime(copy.c_str(), format, &tm);
  if (!end) return std::nullopt;
  const std::string_view rest(end);
  if (rest != tail_ok) return std::nullopt;
  const std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return from_epoch_seconds(static_cast<std::int64_t>(t));
}

}  // namespace

std::optional<time_point> parse_http_date(std::string_view text) {
  const auto parsed = common::parse_http_date(text);
  if (!parsed) return std::nullopt;
  return from_epoch_seconds(parsed->time_since_epoch().count());
}

std::optional<time_point> parse_rfc3339_utc(std::string_view text) {
  text = trim(text);
  // Drop a fractional part: "…:02.123Z" → "…:02Z".
  std::string without_fraction;
  if (const auto dot = text.find('.'); dot != std::string_view::npos) {
    auto digits_end = dot + 1;
    while (digits_end < text.size() && text[digits_end] >= '0' && text[digits_end] <= '9') ++digits_end;
    if (digits_end == dot + 1) return std::nullopt;
    without_fraction.append(text.substr(0, dot)).append(text.substr(digits_end));
    text = without_fraction;
  }
  if (text.ends_with("+00:00")) {
    return parse_with(text.substr(0, text.size() - 6), "%Y-%m-%dT%H:%M:%S", "");
  }
  return parse_with(text, "%Y-%m-%dT%H:%M:%S", "Z");
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace github_proxy::credentials::detail
