// Parsers for the scalar values of a registry entry. Pure; each returns
// nullopt for text it does not accept, and the loader reports the line.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "github_proxy/auth/registry.h"

namespace github_proxy::auth {

// `[a-z0-9_-]+`: the client name is a Prometheus label value.
bool is_valid_client_name(std::string_view name);

// `2000/h`, `100/m`, `50000/d`, `10/s`: credits (> 0) per window.
std::optional<budget> parse_budget(std::string_view text);

// The first instant at which a client is no longer valid:
//   `2027-06-30`             → 2027-07-01T00:00:00Z (valid through that day, UTC)
//   `2027-06-30T12:00:00Z`, `2027-06-30T12:00:00.5+02:00` (RFC 3339 §5.6)
//                            → that instant
std::optional<std::chrono::system_clock::time_point> parse_expiry(std::string_view text);

}  // namespace github_proxy::auth
