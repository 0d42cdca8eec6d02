// Durations ("200ms", "5s", "7d") and sizes ("256MiB", "1048576") as written
// in the config file (docs/contract.md §3). Deliberately strict: one unsigned integer and
// one unit, no spaces, no fractions, no sign. Sizes take only the binary
// units KiB/MiB/GiB or plain bytes, because "MB" is ambiguous (10^6 or 2^20)
// and a cache budget off by 5% is a confusing bug.
#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "github_proxy/config/config.h"

namespace github_proxy::config {
namespace {

struct unit {
  std::string_view suffix;
  std::uint64_t factor;
};

// Splits TEXT into its leading digits and the rest; nullopt when there are no
// digits or the number does not fit in 64 bits.
std::optional<std::pair<std::uint64_t, std::string_view>> split_number(
    std::string_view text) {
  std::uint64_t number = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  // from_chars accepts no sign and no leading spaces, which is what we want.
  auto [rest, ec] = std::from_chars(begin, end, number);
  if (ec != std::errc{} || rest == begin) return std::nullopt;
  return std::pair{number, std::string_view(rest, end - rest)};
}

std::optional<std::uint64_t> scale(std::uint64_t number, std::uint64_t factor,
                                   std::uint64_t limit) {
  if (number > limit / factor) return std::nullopt;
  return number * factor;
}

}  // namespace

std::optional<duration> parse_duration(std::string_view text) {
  // Longest suffix first so "ms" is not read as "m" followed by junk.
  static constexpr std::array<unit, 5> units{{
      {"ms", 1},
      {"s", 1000},
      {"m", 60 * 1000},
      {"h", 60 * 60 * 1000},
      {"d", 24 * 60 * 60 * 1000},
  }};
  auto parts = split_number(text);
  if (!parts) return std::nullopt;
  auto [number, suffix] = *parts;
  for (const unit& u : units) {
    if (suffix != u.suffix) continue;
    constexpr auto limit =
        static_cast<std::uint64_t>(std::numeric_limits<duration::rep>::max());
    auto millis = scale(number, u.factor, limit);
    if (!millis) return std::nullopt;
    return duration(static_cast<duration::rep>(*millis));
  }
  return std::nullopt;  // no unit, or an unknown one
}

std::optional<std::size_t> parse_size(std::string_view text) {
  static constexpr std::array<unit, 4> units{{
      {"", 1},
      {"KiB", 1024},
      {"MiB", 1024 * 1024},
      {"GiB", 1024 * 1024 * 1024},
  }};
  auto parts = split_number(text);
  if (!parts) return std::nullopt;
  auto [number, suffix] = *parts;
  for (const unit& u : units) {
    if (suffix != u.suffix) continue;
    auto bytes = scale(number, u.factor, std::numeric_limits<std::size_t>::max());
    if (!bytes) return std::nullopt;
    return static_cast<std::size_t>(*bytes);
  }
  return std::nullopt;
}

}  // namespace github_proxy::config
