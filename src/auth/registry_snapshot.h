// The immutable, compiled form of a registry file. Internal to src/auth: the
// pipeline sees it only through the functions of registry.h.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <unordered_map>
#include <vector>

#include "auth/digest.h"
#include "github_proxy/auth/registry.h"

namespace github_proxy::auth {

// One `scopes:` entry. Both patterns are compiled once at load and matched
// anchored at both ends (RE2::FullMatch).
struct compiled_scope {
  std::unique_ptr<const RE2> method;
  std::unique_ptr<const RE2> path;
  graphql_policy graphql = graphql_policy::any;
  int line = 0;
};

struct client_rules {
  // nullopt: no `scopes` key, every method and path is allowed.
  std::optional<std::vector<compiled_scope>> scopes;
};

class registry_snapshot {
 public:
  std::vector<client> clients;      // file order; clients[i].index == i
  std::vector<client_rules> rules;  // parallel to `clients`
  std::unordered_map<sha256_digest, std::size_t, digest_hash, digest_equal> by_token;

  const client* find(const sha256_digest& token_digest) const {
    const auto it = by_token.find(token_digest);
    return it == by_token.end() ? nullptr : &clients[it->second];
  }
};

}  // namespace github_proxy::auth
