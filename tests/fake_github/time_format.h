// Time formats GitHub uses: HTTP dates, ISO-8601 timestamps in bodies, and the
// "2025-05-02 07:12:28 UTC" form of rate-limit messages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fake_github {

// IMF-fixdate, RFC 9110 §5.6.7: "Tue, 19 Jul 2022 04:37:49 GMT".
std::string http_date(std::int64_t epoch_seconds);

// "2024-05-01T12:00:00Z", as in every GitHub JSON body.
std::string iso8601(std::int64_t epoch_seconds);

// "2025-05-02 07:12:28 UTC", as in primary rate-limit messages.
std::string utc_timestamp(std::int64_t epoch_seconds);

// Parses an IMF-fixdate; nullopt for anything else (RFC 9110 §13.1.3 says an
// invalid If-Modified-Since is ignored).
std::optional<std::int64_t> parse_http_date(std::string_view text);

}  // namespace fake_github
