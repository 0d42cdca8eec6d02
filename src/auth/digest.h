// SHA-256 digests of proxy tokens (OpenSSL EVP) and their text forms.
//
// The registry is keyed by the digest of a token, never by the token: a
// lookup hashes what the client presented and compares digests, so neither
// the map's probing nor a byte comparison can leak how much of a guessed
// token was right (docs/contract.md §4).
#pragma once

#include <array>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace github_proxy::auth {

using sha256_digest = std::array<unsigned char, 32>;

// Thread-safe; never fails for in-memory input.
sha256_digest sha256(std::string_view data);

// Lower-case hex, 64 characters.
std::string to_hex(const sha256_digest& digest);

// Accepts 64 hex digits (either case), optionally prefixed `sha256:`.
std::optional<sha256_digest> parse_sha256_hex(std::string_view text);

// Constant-time equality (CRYPTO_memcmp), for maps keyed by digest.
bool digests_equal(const sha256_digest& a, const sha256_digest& b);

struct digest_equal {
  bool operator()(const sha256_digest& a, const sha256_digest& b) const {
    return digests_equal(a, b);
  }
};

// A digest is uniformly distributed already: its first bytes are the hash.
struct digest_hash {
  std::size_t operator()(const sha256_digest& digest) const {
    std::size_t value = 0;
    std::memcpy(&value, digest.data(), sizeof value);
    return value;
  }
};

}  // namespace github_proxy::auth
