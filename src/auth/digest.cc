#include "auth/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdexcept>

#include "common/sha256.h"

namespace github_proxy::auth {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

sha256_digest sha256(std::string_view data) {
  sha256_digest digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, common::sha256_md(), nullptr) != 1 ||
      length != digest.size()) {
    throw std::runtime_error("OpenSSL: SHA256 failed");
  }
  return digest;
}

std::string to_hex(const sha256_digest& digest) { return common::lower_hex(digest.data(), digest.size()); }

std::optional<sha256_digest> parse_sha256_hex(std::string_view text) {
  constexpr std::string_view prefix = "sha256:";
  if (text.substr(0, prefix.size()) == prefix) text.remove_prefix(prefix.size());
  sha256_digest digest{};
  if (text.size() != digest.size() * 2) return std::nullopt;
  for (std::size_t i = 0; i < digest.size(); ++i) {
    const int high = hex_value(text[2 * i]);
    const int low = hex_value(text[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    digest[i] = static_cast<unsigned char>(high << 4 | low);
  }
  return digest;
}

bool digests_equal(const sha256_digest& a, const sha256_digest& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace github_proxy::auth
