// Incremental SHA-256 (OpenSSL EVP) with a lowercase-hex result, for ETag
// derivation and hashed cache keys. Private to the cache module.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <openssl/evp.h>

namespace github_proxy::common {

// OpenSSL's SHA-256, fetched once: an explicit fetch avoids the provider
// lookup that `EVP_sha256()` repeats on every digest in OpenSSL 3.
const EVP_MD* sha256_md();

// Lower-case hex of `size` bytes.
std::string lower_hex(const unsigned char* bytes, std::size_t size);


class sha256_hasher {
 public:
  sha256_hasher();
  ~sha256_hasher();
  sha256_hasher(const sha256_hasher&) = delete;
  sha256_hasher& operator=(const sha256_hasher&) = delete;

  sha256_hasher& update(std::string_view bytes);
  // 64 lowercase hex digits. Finalises: call once.
  std::string hex();

 private:
  EVP_MD_CTX* ctx_;
};

std::string sha256_hex(std::string_view bytes);

}  // namespace github_proxy::common
