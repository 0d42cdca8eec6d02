#include "auth/registry_values.h"

#include <charconv>
#include <limits>

namespace github_proxy::auth {
namespace {

using std::chrono::system_clock;

// Reads exactly `width` digits at `pos`.
std::optional<int> fixed_digits(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

std::optional<std::chrono::sys_days> parse_date(std::string_view text) {
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto year = fixed_digits(text, 0, 4);
  const auto month = fixed_digits(text, 5, 2);
  const auto day = fixed_digits(text, 8, 2);
  if (!year || !month || !day) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year(*year),
                                         std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days(date);
}

}  // namespace

bool is_valid_client_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<budget> parse_budget(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 2 != text.size()) {
    return std::nullopt;
  }
  std::uint64_t credits = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + slash, credits);
  if (ec != std::errc{} || end != text.data() + slash || credits == 0) return std::nullopt;
  budget result;
  result.credits = credits;
  switch (text.back()) {
    case 's':
      result.window = std::chrono::seconds(1);
      break;
    case 'm':
      result.window = std::chrono::minutes(1);
      break;
    case 'h':
      result.window = std::chrono::hours(1);
      break;
    case 'd':
      result.window = std::chrono::hours(24);
      break;
    default:
      return std::nullopt;
  }
  return result;
}

// system_clock counts nanoseconds from 1970 and so ends in 2262: an expiry
// after that is "never" within its range (and one before 1678 long past),
// rather than a value that wraps around into the past.
system_clock::time_point clamp_to_clock(std::chrono::sys_seconds instant,
                                        std::chrono::nanoseconds fraction = {}) {
  const auto last = std::chrono::floor<std::chrono::seconds>(system_clock::time_point::max());
  const auto first = std::chrono::ceil<std::chrono::seconds>(system_clock::time_point::min());
  if (instant >= last) return system_clock::time_point::max();
  if (instant <= first) return system_clock::time_point::min();
  return std::chrono::time_point_cast<system_clock::duration>(instant) + fraction;
}

std::optional<system_clock::time_point> parse_expiry(std::string_view text) {
  const auto date = parse_date(text);
  if (!date) return std::nullopt;
  if (text.size() == 10) return clamp_to_clock(*date + std::chrono::days(1));

  // date-time = full-date "T" full-time; RFC 3339 §5.6 allows "t" and, in
  // its note, a space.
  if (text.size() < 20 || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
      text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  const auto hour = fixed_digits(text, 11, 2);
  const auto minute = fixed_digits(text, 14, 2);
  const auto second = fixed_digits(text, 17, 2);
  // 60 is a leap second (§5.7); treat it as the next second.
  if (!hour || !minute || !second || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  std::chrono::nanoseconds fraction{0};
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    long long scale = 100'000'000;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction += std::chrono::nanoseconds((text[pos] - '0') * scale);
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  std::chrono::minutes offset{0};
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const auto offset_hour = fixed_digits(text, pos + 1, 2);
    const auto offset_minute = fixed_digits(text, pos + 4, 2);
    if (pos + 6 > text.size() || text[pos + 3] != ':' || !offset_hour || !offset_minute ||
        *offset_hour > 23 || *offset_minute > 59) {
      return std::nullopt;
    }
    offset = std::chrono::hours(*offset_hour) + std::chrono::minutes(*offset_minute);
    if (text[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;  // RFC 3339 requires an offset
  }
  if (pos != text.size()) return std::nullopt;

  const auto local = *date + std::chrono::hours(*hour) + std::chrono::minutes(*minute) +
                     std::chrono::seconds(*second);
  return clamp_to_clock(local - offset, fraction);
}

}  // namespace github_proxy::auth
