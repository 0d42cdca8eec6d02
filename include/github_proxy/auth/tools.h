// The registry commands of the `github-proxy` binary (docs/contract.md §2). Each returns
// the process exit code and writes only to the streams given; `src/main.cc`
// parses the command line and calls them.
#pragma once

#include <iosfwd>
#include <string>

namespace github_proxy::auth {

// `check-registry FILE`: validates FILE alone. Every error is printed to
// `err` as `file:line: message`, every warning (plaintext tokens, clients
// already expired, scopes that cannot match) as `file:line: warning: …`,
// then a summary line to `out` (ok) or `err` (errors).
// 0 when valid (warnings allowed), 1 on errors. `check-config` calls it for
// the registry its config names.
int check_registry_command(const std::string& file, std::ostream& out, std::ostream& err);

// `new-token --client NAME`: prints a new `ghpx_` token on the first line of
// `out`, then the registry entry holding only its SHA-256. 1 when NAME is not
// a valid client name ([a-z0-9_-]+).
int new_token_command(const std::string& client_name, std::ostream& out, std::ostream& err);

// `hash-token`: reads one token from `in` (surrounding whitespace and the
// trailing newline ignored) and prints `sha256:<hex>`. 1 when the input is
// empty or holds more than one word.
int hash_token_command(std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace github_proxy::auth
