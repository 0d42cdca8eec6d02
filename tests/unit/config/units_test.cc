#include <gtest/gtest.h>

#include "github_proxy/config/config.h"

namespace github_proxy::config {
namespace {

using namespace std::chrono_literals;

TEST(ConfigDuration, ParsesEveryUnit) {
  const std::vector<std::pair<std::string_view, duration>> cases{
      {"0ms", 0ms},  {"200ms", 200ms}, {"5s", 5s},     {"30s", 30s},
      {"2m", 2min},  {"1h", 1h},       {"7d", 168h},   {"1000000ms", 1000s},
  };
  for (const auto& [text, expected] : cases) {
    EXPECT_EQ(parse_duration(text), expected) << text;
  }
}

TEST(ConfigDuration, RejectsMalformed) {
  for (std::string_view text :
       {"", "5", "0", "s", "-5s", "+5s", "5 s", " 5s", "5s ", "1.5s", "5sec", "5S",
        "5us", "1h30m", "5ms5", "9223372036854775808ms", "99999999999999999999s",
        "106751991168d"}) {
    EXPECT_EQ(parse_duration(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(ConfigDuration, AcceptsTheLargestValueThatFits) {
  EXPECT_EQ(parse_duration("9223372036854775807ms"), duration::max());
  EXPECT_EQ(parse_duration("106751991167d"), duration(106751991167LL * 86400000));
  EXPECT_EQ(parse_duration("106751991168d"), std::nullopt);  // past 2^63 ms
}

TEST(ConfigSize, ParsesBinaryUnitsAndPlainBytes) {
  const std::vector<std::pair<std::string_view, std::size_t>> cases{
      {"0", 0},
      {"1024", 1024},
      {"1KiB", 1024},
      {"64KiB", 64 * 1024},
      {"256MiB", 256ull * 1024 * 1024},
      {"8MiB", 8ull * 1024 * 1024},
      {"2GiB", 2ull * 1024 * 1024 * 1024},
  };
  for (const auto& [text, expected] : cases) {
    EXPECT_EQ(parse_size(text), expected) << text;
  }
}

TEST(ConfigSize, RejectsDecimalUnitsAndMalformed) {
  for (std::string_view text :
       {"", "lots", "MiB", "-1", "1.5MiB", "1 MiB", "1KB", "1MB", "1GB", "1kib", "1mib",
        "1B", "1TiB", "1K", "18446744073709551616", "17179869184GiB"}) {
    EXPECT_EQ(parse_size(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(ConfigError, RendersFileLineMessage) {
  EXPECT_EQ((config_error{"config.yaml", 12, "cache.memory.max_bytes: bad"}).to_string(),
            "config.yaml:12: cache.memory.max_bytes: bad");
  // No line: a missing file or an environment variable.
  EXPECT_EQ((config_error{"GITHUB_PROXY_LISTEN_PORT", 0, "listen.port: bad"}).to_string(),
            "GITHUB_PROXY_LISTEN_PORT: listen.port: bad");
}

}  // namespace
}  // namespace github_proxy::config
