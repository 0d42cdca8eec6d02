// Cache keys (docs/contract.md §6 "Key"). Pure functions.
//
// A key is "gh1 <method class> <encoding> <path>[?<query>] accept=<Accept>
// api=<X-GitHub-Api-Version>", every part canonicalised so that requests
// GitHub answers identically share an entry:
//   - path and query: percent-encoding normalised where it is safe (RFC 3986
//     §6.2.2.2: escapes of unreserved characters decoded, hex digits in upper
//     case), bytes that may not appear literally escaped (`[` → `%5B`, which
//     GitHub's Rails decodes alike), nothing else decoded (`%2F`, `%26`, `+`
//     keep their meaning); an empty path is "/";
//   - query parameters sorted by name with a stable sort, so repeated
//     parameters keep their relative order; empty `&&` segments dropped; no
//     query and an empty query are the same;
//   - Accept: media types and parameter names lower-cased, whitespace around
//     `,`, `;` and `=` removed, order kept; absent or blank ≡ `*/*` (GitHub
//     serves its default media type for both);
//   - X-GitHub-Api-Version: trimmed; absent ≡ blank (distinct from any
//     version, since GitHub's default version can change);
//   - the credential is never part of a key: entries are shared.
// Parts contain no spaces (other bytes outside 0x21–0x7E, and `%` in header
// values, are percent-escaped), so distinct inputs give distinct keys.
// Keys are at most `max_cache_key_bytes`: a longer one keeps a readable
// prefix and ends in " #<SHA-256 hex of the full key>". A query whose
// parameter names look like credentials (access_token, client_secret, token,
// password, secret, sig, signature) is never readable: only the part before
// the query is kept, then the hash. (GitHub ignores query-string credentials
// since 2021, but a key must never carry a secret into Redis or a log.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "github_proxy/cache/entry.h"

namespace github_proxy::cache {

// GET and HEAD share the GET entry (HEAD is answered from it, docs/contract.md §6).
enum class method_class : std::uint8_t { get };

inline constexpr std::size_t max_cache_key_bytes = 256;

// `path` is the request path without the `/api/v3` prefix and without the
// query; `raw_query` is the query without '?', byte for byte as received.
std::string cache_key(method_class method, std::string_view path, std::string_view raw_query,
                      std::string_view accept, std::string_view api_version, body_encoding stored);

// The parts, exposed for tests and logs.
std::string canonical_path(std::string_view path);
std::string canonical_query(std::string_view raw_query);
std::string canonical_accept(std::string_view accept);

}  // namespace github_proxy::cache
