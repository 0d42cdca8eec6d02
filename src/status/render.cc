#include "status/render.h"

#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace github_proxy::status::render {

double number(const boost::json::value* v) {
  if (!v) return 0;
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  if (v->is_double()) return v->get_double();
  return 0;
}

std::string_view text(const boost::json::value* v) {
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

std::string count(double n) {
  if (!std::isfinite(n)) return "—";
  if (n != std::floor(n)) return fmt::format("{:.1f}", n);
  auto digits = fmt::format("{:.0f}", std::fabs(n));
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string utc(const boost::json::value* epoch_seconds) {
  if (!epoch_seconds || epoch_seconds->is_null()) return "—";
  const auto t = static_cast<std::time_t>(number(epoch_seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return out;
}

std::string span(double seconds) {
  const auto s = static_cast<long long>(seconds);
  if (s < 60) return fmt::format("{} s", s);
  if (s < 3600) return s % 60 ? fmt::format("{} min {} s", s / 60, s % 60) : fmt::format("{} min", s / 60);
  return s % 3600 / 60 ? fmt::format("{} h {} min", s / 3600, s % 3600 / 60) : fmt::format("{} h", s / 3600);
}

std::string bytes(double n) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  while (n >= 1024 && unit + 1 < std::size(units)) {
    n /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f} B", n) : fmt::format("{:.1f} {}", n, units[unit]);
}

std::string percent(const boost::json::value* ratio) {
  if (!ratio || ratio->is_null()) return "—";
  return fmt::format("{:.1f}%", number(ratio) * 100);
}

}  // namespace github_proxy::status::render
