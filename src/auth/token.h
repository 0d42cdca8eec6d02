// Proxy tokens: reading the one a client presents, and minting new ones.
//
// Tokens are secrets: these functions return digests, never the token, and
// wipe the buffers they decode a token into.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "auth/digest.h"

namespace github_proxy::auth {

// The SHA-256 of the token carried by an `Authorization` header value:
//   `token T` | `Bearer T` (scheme case-insensitive)
//   `Basic base64(user:T)` — the password is the token; when the password is
//   empty or `x-oauth-basic` (GitHub's convention for `T:x-oauth-basic`), the
//   user name is.
// nullopt when the header is absent, uses another scheme, or is malformed.
std::optional<sha256_digest> presented_token_digest(std::string_view authorization);

inline constexpr std::string_view token_prefix = "ghpx_";

// `ghpx_` + 43 base62 characters carrying 256 random bits (OpenSSL
// RAND_bytes). Throws std::runtime_error when the RNG fails.
std::string generate_token();

}  // namespace github_proxy::auth
