// The path a scope is matched against (docs/contract.md §4): a pure function of the
// request target.
//
// Steps: parse the origin-form target (Boost.URL: a malformed target or
// escape is rejected), drop the query, percent-decode once (so `%2F` becomes
// a separator and `%2E` a dot), collapse empty segments, resolve `.` and
// `..`, drop a trailing slash, then remove the GHES `/api/v3` prefix and map
// `/api/graphql` to `/graphql`.
//
// Rejected (→ 400) rather than guessed at: a `..` above the root; a backslash
// (raw or `%5C`); NUL, control characters or DEL after decoding; a segment
// that still spells `.`, `..`, `/` or `\` after further decoding (double
// encoding, which a second decoder upstream would turn into a traversal); and
// a dot segment carrying `;` parameters (`..;`), which some servers strip.
#pragma once

#include <string>
#include <string_view>

namespace github_proxy::auth {

struct normalized_path {
  bool ok = false;
  std::string path;    // when ok: starts with '/', no query, no trailing '/'
  std::string reason;  // when !ok: why, for the 400 message; no secret
};

normalized_path normalize_path(std::string_view target);

inline constexpr std::string_view graphql_path = "/graphql";

}  // namespace github_proxy::auth
