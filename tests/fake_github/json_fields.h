// Reading optional typed fields of a control-API JSON object.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace fake_github {

// nullopt when absent or null; throws std::invalid_argument on a wrong type.
inline std::optional<std::int64_t> int_field(const boost::json::object& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->value().is_null()) return std::nullopt;
  const auto& v = it->value();
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) return static_cast<std::int64_t>(v.get_uint64());
  if (v.is_double()) return static_cast<std::int64_t>(v.get_double());
  throw std::invalid_argument("field \"" + std::string(key) + "\" must be a number");
}

inline std::optional<bool> bool_field(const boost::json::object& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->value().is_null()) return std::nullopt;
  if (!it->value().is_bool())
    throw std::invalid_argument("field \"" + std::string(key) + "\" must be a boolean");
  return it->value().get_bool();
}

inline std::optional<std::string> string_field(const boost::json::object& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->value().is_null()) return std::nullopt;
  if (!it->value().is_string())
    throw std::invalid_argument("field \"" + std::string(key) + "\" must be a string");
  return std::string(it->value().get_string());
}

}  // namespace fake_github
