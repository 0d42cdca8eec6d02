// gzip (RFC 1952) decompression with zlib, bounded. Private to the cache
// module: the ETag of a body stored compressed is computed over the
// uncompressed bytes (docs/github-api.md §8).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace github_proxy::cache {

// Inflates one or more gzip members piece by piece: `sink` gets each piece
// (at most 64 KiB) in order, and the whole is never held. False when the
// input is not valid gzip or inflates to more than `max_output` bytes (the
// sink may have been given a prefix by then).
bool gunzip_to(std::string_view compressed, std::size_t max_output,
               const std::function<void(std::string_view)>& sink);

}  // namespace github_proxy::cache
