// gzip (RFC 1952) decompression with zlib, bounded. Private to the cache
// module: the ETag of a body stored compressed is computed over the
// uncompressed bytes (docs/github-api.md §8).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace github_proxy::cache {

// The uncompressed bytes of one or more gzip members, or nullopt when the
// input is not valid gzip or inflates to more than `max_output` bytes.
std::optional<std::string> gunzip(std::string_view compressed, std::size_t max_output);

}  // namespace github_proxy::cache
