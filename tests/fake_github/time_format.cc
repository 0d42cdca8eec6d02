#include "time_format.h"

#include <ctime>

namespace fake_github {
namespace {

std::tm to_utc(std::int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm out{};
  gmtime_r(&t, &out);
  return out;
}

std::string format(std::int64_t epoch_seconds, const char* pattern) {
  std::tm tm = to_utc(epoch_seconds);
  char buffer[64];
  std::size_t n = std::strftime(buffer, sizeof buffer, pattern, &tm);
  return std::string(buffer, n);
}

}  // namespace

// strftime's %a/%b follow the C locale, which is what we run under (never
// setlocale), so the names are the English ones HTTP requires.
std::string http_date(std::int64_t epoch_seconds) {
  return format(epoch_seconds, "%a, %d %b %Y %H:%M:%S GMT");
}

std::string iso8601(std::int64_t epoch_seconds) {
  return format(epoch_seconds, "%Y-%m-%dT%H:%M:%SZ");
}

std::string utc_timestamp(std::int64_t epoch_seconds) {
  return format(epoch_seconds, "%Y-%m-%d %H:%M:%S UTC");
}

std::optional<std::int64_t> parse_http_date(std::string_view text) {
  if (text.size() != 29) return std::nullopt;  // IMF-fixdate has a fixed width
  std::string copy(text);
  std::tm tm{};
  const char* end = strptime(copy.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace fake_github
