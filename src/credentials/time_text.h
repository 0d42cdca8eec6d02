// Reading the few time and number formats GitHub sends: HTTP dates
// (RFC 9110 §5.6.7, IMF-fixdate), RFC 3339 UTC timestamps (`expires_at`)
// and header integers. HTTP dates go through common/http_date.h (a Date is
// read on every answer), the rest through strptime/timegm and std::from_chars.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "github_proxy/credentials/clock.h"

namespace github_proxy::credentials::detail {

// "Tue, 19 Jul 2022 04:37:49 GMT"
std::optional<time_point> parse_http_date(std::string_view text);
// "2024-11-25T01:00:02Z" (fractional seconds are accepted and dropped)
std::optional<time_point> parse_rfc3339_utc(std::string_view text);
// A decimal integer surrounded by optional spaces/tabs ("  4962 ").
std::optional<std::int64_t> parse_integer(std::string_view text);

}  // namespace github_proxy::credentials::detail
