// HTTP-date parsing: If-Modified-Since / Last-Modified comparisons in the
// cache, GitHub's Date and Retry-After for the credentials. Fixed width and
// allocation-free: a Date is parsed on every upstream answer.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace github_proxy::common {

// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", RFC 9110 §5.6.7), the only
// form GitHub sends and clients echo. The obsolete RFC 850 and asctime forms
// give nullopt: callers then ignore the condition, which RFC 9110 §13.1.3
// requires for an invalid date anyway.
std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text);

}  // namespace github_proxy::common
