// What the HTML page and the terminal table share: reading numbers and
// times out of the status report (status_board.h) and writing them for
// people.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace github_proxy::status::render {

// A member of the report, or null when absent.
inline const boost::json::value* field(const boost::json::object& o, std::string_view key) {
  return o.if_contains(key);
}
// A JSON number as a double; 0 for anything else (null, absent).
double number(const boost::json::value* v);
// A JSON string's text; empty for anything else.
std::string_view text(const boost::json::value* v);
// 1234 → "1,234"; non-integral values keep one decimal.
std::string count(double n);
// Epoch seconds → "2026-12-03 18:05:11 UTC"; "—" for null.
std::string utc(const boost::json::value* epoch_seconds);
// 3725 s → "1 h 2 min"; 3600 → "1 h"; 42 → "42 s".
std::string span(double seconds);
// 1536 → "1.5 KiB".
std::string bytes(double n);
// A ratio 0..1 → "87.5%"; "—" for null.
std::string percent(const boost::json::value* ratio);

}  // namespace github_proxy::status::render
