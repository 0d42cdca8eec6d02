#include "cache/gzip.h"

#include <zlib.h>

#include <array>
#include <limits>

namespace github_proxy::cache {

bool gunzip_to(std::string_view compressed, std::size_t max_output,
               const std::function<void(std::string_view)>& sink) {
  if (compressed.size() > std::numeric_limits<uInt>::max()) return false;
  z_stream stream{};
  // 16 + MAX_WBITS: gzip wrapper only (not zlib, not raw deflate).
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) return false;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());

  std::size_t total = 0;
  std::array<char, 64 * 1024> buffer;
  bool ok = true;
  while (true) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
    stream.avail_out = static_cast<uInt>(buffer.size());
    const int rc = inflate(&stream, Z_NO_FLUSH);
    const std::size_t produced = buffer.size() - stream.avail_out;
    if (total + produced > max_output) {
      ok = false;
      break;
    }
    total += produced;
    if (produced) sink(std::string_view(buffer.data(), produced));
    if (rc == Z_STREAM_END) {
      if (stream.avail_in == 0) break;
      // Concatenated members (RFC 1952 §2.2) form one body.
      if (inflateReset(&stream) != Z_OK) {
        ok = false;
        break;
      }
      continue;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      ok = false;
      break;
    }
    // Z_BUF_ERROR with input left over cannot happen here (the output buffer
    // was emptied); with no input left the stream is truncated.
    if (stream.avail_in == 0 && produced == 0) {
      ok = false;
      break;
    }
  }
  inflateEnd(&stream);
  return ok;
}

}  // namespace github_proxy::cache
