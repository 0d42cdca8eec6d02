// Byte-level helpers: digests (OpenSSL EVP), base64, gzip (zlib) and the
// pretty-printing GitHub applies for browser and curl user agents.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <openssl/evp.h>

namespace fake_github {

// Incremental SHA-256 / SHA-1 producing lowercase hex. Not thread-safe; make
// one per use (construction reuses a process-wide fetched algorithm).
class digest {
 public:
  enum class algorithm { sha256, sha1 };
  explicit digest(algorithm which);
  ~digest();
  digest(const digest&) = delete;
  digest& operator=(const digest&) = delete;

  digest& update(std::string_view bytes);
  std::string hex();  // finalises; call once

 private:
  EVP_MD_CTX* ctx_;
};

std::string sha256_hex(std::string_view bytes);

// Git's blob id: SHA-1 over "blob <size>\0" + content (what GitHub puts in
// `sha` and in the ETag of contents responses).
std::string git_blob_sha(std::string_view content);

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// GitHub's contents API wraps base64 at 60 columns with "\n".
std::string base64_wrapped(std::string_view bytes);

// RFC 1952 gzip member of `bytes`. Results for small, repeated bodies are
// memoised per thread, so a benchmark hammering one resource stays cheap.
std::string gzip_compress(std::string_view bytes);

// Two-space indented JSON; returns nullopt when `compact` is not JSON.
std::optional<std::string> pretty_print_json(std::string_view compact);

}  // namespace fake_github
