// GitHub's ETag algorithm and conditional-request evaluation. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fake_github {

// The request header values GitHub folds into an ETag (docs/github-api.md §8):
// each one that is present AND named in the response's Vary contributes
// "value:" before the body. Absent headers are empty views.
struct etag_inputs {
  std::string_view accept;
  std::string_view authorization;
  std::string_view cookie;
  bool vary_on_authorization = false;  // true on authenticated (private) responses
};

// Hex SHA-256 over the vary'd header values and the uncompressed, compact body.
std::string compute_etag(const etag_inputs& in, std::string_view compact_body);

// "\"hex\"" or "W/\"hex\"".
std::string etag_header(std::string_view hex, bool weak);

// If-None-Match with the weak comparison RFC 9110 §13.1.2 requires: `W/` is
// ignored, lists are split on commas, `*` matches any current representation.
bool if_none_match_matches(std::string_view header, std::string_view hex);

enum class conditional_verdict { send_full, not_modified };

// RFC 9110 §13.2.2: If-None-Match, when present, decides alone; otherwise
// If-Modified-Since against Last-Modified. Either validator may be absent.
conditional_verdict evaluate_conditional(std::string_view if_none_match,
                                         std::string_view if_modified_since,
                                         std::string_view etag_hex,
                                         std::optional<std::int64_t> last_modified);

}  // namespace fake_github
