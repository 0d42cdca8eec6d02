// The cache entry decoder (cache/entry.cc): the bytes a store returns — for
// Redis, whatever is under the key — decoded into an entry. The encoding has
// one form per entry, so a decoded entry encodes back to the same bytes; a
// gzip body is inflated as the pipeline does for a client without gzip.
#include <cstdlib>
#include <string>

#include "cache/gzip.h"
#include "fuzz_input.h"
#include "github_proxy/cache/entry.h"
#include "github_proxy/cache/etag.h"

using namespace github_proxy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = fuzz::as_text(data, size);
  const auto decoded = cache::decode(bytes);
  if (!decoded) return 0;
  if (cache::encode(*decoded) != bytes) std::abort();
  for (const auto& [name, value] : decoded->headers) {
    if (name.size() > cache::max_entry_field_bytes || value.size() > cache::max_entry_field_bytes) std::abort();
  }
  (void)cache::etag_opaque(decoded->etag);
  (void)cache::etag_is_weak(decoded->etag);
  if (decoded->encoding == cache::body_encoding::gzip) {
    std::size_t inflated = 0;
    (void)cache::gunzip_to(decoded->body, 1 << 20, [&](std::string_view piece) { inflated += piece.size(); });
    (void)cache::gunzip_prefix(decoded->body, 4096);
  }
  return 0;
}
