// The path a scope is matched against (docs/contract.md §4): a pure function of the
// request target.
//
// Steps: parse the origin-form target (Boost.URL: a malformed target or
// escape is rejected), drop the query, percent-decode once (so `%2F` becomes
// a separator and `%2E` a dot), drop a trailing slash, then remove the GHES
// `/api/v3` prefix and map `/api/graphql` to `/graphql`.
//
// The result must name what GitHub will serve for the bytes the proxy
// sends, which it forwards unchanged. So nothing is resolved: rejected
// (→ 400) rather than guessed at are any `.` or `..` segment, raw or encoded
// or formed by a decoded `%2F` beside dots; an empty segment (`//`) other
// than a trailing slash; a first segment spelling GraphQL other than exactly
// `/graphql` (`/GraphQL`, `/graphql.json`, `/graphql/x`); a backslash
// (raw or `%5C`); NUL, control characters or DEL after decoding; a segment
// that still spells `.`, `..`, `/` or `\` after further decoding (double
// encoding, which a second decoder upstream would turn into a traversal); and
// a dot segment carrying `;` parameters (`..;`), which some servers strip.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace github_proxy::auth {

struct normalized_path {
  bool ok = false;
  std::string path;    // when ok: starts with '/', no query, no trailing '/'
  std::string reason;  // when !ok: why, for the 400 message; no secret
};

normalized_path normalize_path(std::string_view target);

// What scopes are matched against: the normalised path with the account
// and repository names lower-cased, since GitHub treats them without case
// (`/repos/Babylon/App` is `/repos/babylon/app`): `/repos/{owner}/{repo}`,
// `/orgs/{org}`, `/users/{user}`, and `/repositories` ids need none. The rest
// of the path keeps its case (file paths, refs, labels are case-sensitive).
std::string scope_path(std::string_view normalized);

// How many segments after the first name an account or a repository in a
// path (or a scope pattern) starting so: 2 for `/repos/`, 1 for `/orgs/`
// and `/users/`, else 0. The segments scope_path lower-cases.
std::size_t account_segments(std::string_view path);

inline constexpr std::string_view graphql_path = "/graphql";

}  // namespace github_proxy::auth
