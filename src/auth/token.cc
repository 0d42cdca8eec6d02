#include "auth/token.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <vector>
#include "common/http_fields.h"

namespace github_proxy::auth {
namespace {

constexpr std::size_t token_bytes = 32;    // 256 bits (docs/contract.md §2)
constexpr std::size_t base62_length = 43;  // ceil(256 / log2(62))

using common::trim;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

// Strict base64 (RFC 4648 §4, padded) shape check; EVP_DecodeBlock would
// otherwise skip whitespace and accept some malformed input.
bool is_padded_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return false;
  std::size_t padding = 0;
  while (padding < 2 && text[text.size() - 1 - padding] == '=') ++padding;
  for (std::size_t i = 0; i < text.size() - padding; ++i) {
    const char c = text[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/';
    if (!ok) return false;
  }
  return true;
}

// RFC 7617: base64(user-id ":" password). Digests the token in place and
// wipes the decoded bytes.
std::optional<sha256_digest> basic_token_digest(std::string_view encoded) {
  if (!is_padded_base64(encoded)) return std::nullopt;
  std::vector<unsigned char> decoded(encoded.size() / 4 * 3 + 1);
  const int length =
      EVP_DecodeBlock(decoded.data(), reinterpret_cast<const unsigned char*>(encoded.data()),
                      static_cast<int>(encoded.size()));
  std::optional<sha256_digest> digest;
  if (length >= 0) {
    // EVP_DecodeBlock counts the bytes that padding stands for; drop them.
    const std::size_t padding =
        static_cast<std::size_t>(std::count(encoded.end() - 2, encoded.end(), '='));
    const std::string_view pair(reinterpret_cast<const char*>(decoded.data()),
                                static_cast<std::size_t>(length) - padding);
    const auto colon = pair.find(':');
    if (colon != std::string_view::npos) {
      const std::string_view user = pair.substr(0, colon);
      const std::string_view password = pair.substr(colon + 1);
      const std::string_view token =
          (password.empty() || password == "x-oauth-basic") ? user : password;
      if (!token.empty()) digest = sha256(token);
    }
  }
  OPENSSL_cleanse(decoded.data(), decoded.size());
  return digest;
}

}  // namespace

std::optional<sha256_digest> presented_token_digest(std::string_view authorization) {
  authorization = trim(authorization);
  const auto space = authorization.find_first_of(" \t");
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view scheme = authorization.substr(0, space);
  const std::string_view credentials = trim(authorization.substr(space + 1));
  if (credentials.empty() || credentials.find_first_of(" \t") != std::string_view::npos) {
    return std::nullopt;
  }
  if (iequals(scheme, "token") || iequals(scheme, "bearer")) return sha256(credentials);
  if (iequals(scheme, "basic")) return basic_token_digest(credentials);
  return std::nullopt;
}

std::string generate_token() {
  unsigned char random[token_bytes];
  if (RAND_bytes(random, sizeof random) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  }
  std::unique_ptr<BIGNUM, decltype(&BN_clear_free)> number(
      BN_bin2bn(random, sizeof random, nullptr), &BN_clear_free);
  OPENSSL_cleanse(random, sizeof random);
  if (!number) throw std::runtime_error("OpenSSL BN_bin2bn failed");

  static constexpr char alphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string digits(base62_length, '0');
  for (std::size_t i = base62_length; i-- > 0;) {
    const BN_ULONG remainder = BN_div_word(number.get(), 62);
    if (remainder == static_cast<BN_ULONG>(-1))
      throw std::runtime_error("OpenSSL BN_div_word failed");
    digits[i] = alphabet[remainder];
  }
  return std::string(token_prefix) + digits;
}

}  // namespace github_proxy::auth
