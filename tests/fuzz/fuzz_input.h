// Splitting one fuzz input into the several values a target needs. Each
// value but the last ends at a newline, so seeds stay readable text files;
// the last takes the rest (newlines included). Missing values are empty.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace github_proxy::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

template <std::size_t N>
std::array<std::string_view, N> split_lines(std::string_view input) {
  std::array<std::string_view, N> out{};
  for (std::size_t i = 0; i + 1 < N; ++i) {
    const auto end = input.find('\n');
    out[i] = input.substr(0, end);
    input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
  }
  out[N - 1] = input;
  return out;
}

}  // namespace github_proxy::fuzz
