#include "cache/gzip.h"

#include <zlib.h>

#include <array>
#include <limits>

namespace github_proxy::cache {

namespace {

enum class inflated { whole, over_limit, invalid };

// Inflates `compressed` into `sink` until the end, or until more than
// `max_output` bytes would come: then, when `give_prefix`, the sink first
// gets the bytes up to `max_output`.
inflated inflate_gzip(std::string_view compressed, std::size_t max_output, bool give_prefix,
                      const std::function<void(std::string_view)>& sink) {
  if (compressed.size() > std::numeric_limits<uInt>::max()) return inflated::invalid;
  z_stream stream{};
  // 16 + MAX_WBITS: gzip wrapper only (not zlib, not raw deflate).
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) return inflated::invalid;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());

  std::size_t total = 0;
  std::array<char, 64 * 1024> buffer;
  inflated result = inflated::whole;
  while (true) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
    stream.avail_out = static_cast<uInt>(buffer.size());
    const int rc = inflate(&stream, Z_NO_FLUSH);
    const std::size_t produced = buffer.size() - stream.avail_out;
    if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) {
      result = inflated::invalid;
      break;
    }
    if (total + produced > max_output) {
      if (give_prefix && max_output > total) sink(std::string_view(buffer.data(), max_output - total));
      result = inflated::over_limit;
      break;
    }
    total += produced;
    if (produced) sink(std::string_view(buffer.data(), produced));
    if (rc == Z_STREAM_END) {
      if (stream.avail_in == 0) break;
      // Concatenated members (RFC 1952 §2.2) form one body.
      if (inflateReset(&stream) != Z_OK) {
        result = inflated::invalid;
        break;
      }
      continue;
    }
    // Z_BUF_ERROR with input left over cannot happen here (the output buffer
    // was emptied); with no input left the stream is truncated.
    if (stream.avail_in == 0 && produced == 0) {
      result = inflated::invalid;
      break;
    }
  }
  inflateEnd(&stream);
  return result;
}

}  // namespace

bool gunzip_to(std::string_view compressed, std::size_t max_output,
               const std::function<void(std::string_view)>& sink) {
  return inflate_gzip(compressed, max_output, false, sink) == inflated::whole;
}

std::optional<std::string> gunzip_prefix(std::string_view compressed, std::size_t limit) {
  std::string out;
  const auto result = inflate_gzip(compressed, limit, true, [&](std::string_view piece) { out.append(piece); });
  if (result == inflated::invalid) return std::nullopt;
  return out;
}

}  // namespace github_proxy::cache
