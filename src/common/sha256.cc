#include "common/sha256.h"

#include <array>
#include <new>
#include <stdexcept>

namespace github_proxy::common {

const EVP_MD* sha256_md() {
  static EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) throw std::runtime_error("OpenSSL: SHA256 unavailable");
    return fetched;
  }();
  return md;
}

std::string lower_hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * size);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(digits[bytes[i] >> 4]);
    out.push_back(digits[bytes[i] & 0x0f]);
  }
  return out;
}

sha256_hasher::sha256_hasher() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) throw std::bad_alloc();
  if (EVP_DigestInit_ex2(ctx_, sha256_md(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    throw std::runtime_error("OpenSSL: SHA256 init failed");
  }
}

sha256_hasher::~sha256_hasher() { EVP_MD_CTX_free(ctx_); }

sha256_hasher& sha256_hasher::update(std::string_view bytes) {
  if (!bytes.empty() && EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()) != 1)
    throw std::runtime_error("OpenSSL: SHA256 update failed");
  return *this;
}

std::string sha256_hasher::hex() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx_, digest.data(), &length) != 1 || length != 32)
    throw std::runtime_error("OpenSSL: SHA256 final failed");
  return lower_hex(digest.data(), length);
}

std::string sha256_hex(std::string_view bytes) { return sha256_hasher().update(bytes).hex(); }

}  // namespace github_proxy::common
