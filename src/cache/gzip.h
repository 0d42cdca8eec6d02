// gzip (RFC 1952) decompression with zlib, bounded. The ETag of a body
// stored compressed is computed over the uncompressed bytes
// (docs/github-api.md §8); the classification of GitHub's answers
// (credentials/classify.cc) reads the text of small compressed ones.
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

// The first `limit` bytes of the inflated body (all of it when shorter);
// inflation stops there, so a large or hostile body costs at most `limit`
// bytes of output. nullopt when the input is not valid gzip before that.
std::optional<std::string> gunzip_prefix(std::string_view compressed, std::size_t limit);

}  // namespace github_proxy::cache
