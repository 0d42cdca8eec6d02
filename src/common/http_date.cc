#include "common/http_date.h"

#include <array>

namespace github_proxy::common {
namespace {

bool two_digits(std::string_view s, std::size_t at, int& out) {
  const char a = s[at], b = s[at + 1];
  if (a < '0' || a > '9' || b < '0' || b > '9') return false;
  out = (a - '0') * 10 + (b - '0');
  return true;
}

}  // namespace

std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text) {
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed width, 29 characters.
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.size() != 29 || text.substr(3, 2) != ", " || text[7] != ' ' || text[11] != ' ' ||
      text[16] != ' ' || text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT")
    return std::nullopt;

  static constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  unsigned month = 0;
  for (unsigned i = 0; i < months.size(); ++i)
    if (text.substr(8, 3) == months[i]) month = i + 1;
  int day = 0, century = 0, year2 = 0, hour = 0, minute = 0, second = 0;
  if (month == 0 || !two_digits(text, 5, day) || !two_digits(text, 12, century) ||
      !two_digits(text, 14, year2) || !two_digits(text, 17, hour) || !two_digits(text, 20, minute) ||
      !two_digits(text, 23, second))
    return std::nullopt;
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;

  const std::chrono::year_month_day date{std::chrono::year(century * 100 + year2), std::chrono::month(month),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days(date) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
         std::chrono::seconds(second);
}

}  // namespace github_proxy::common
