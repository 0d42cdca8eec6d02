// `cache.redis.url` (docs/contract.md §3): redis://[[user]:password@]host[:port][/db].
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace github_proxy::redis {

struct endpoint {
  std::string host;  // a name, or an IP literal (IPv6 without brackets)
  std::uint16_t port = 6379;
  std::string user;      // empty: Redis' default user
  std::string password;  // empty: no AUTH
  unsigned db = 0;       // SELECT after connecting when not 0
};

struct parsed_url {
  endpoint value;
  std::string error;  // empty when `value` is usable; never contains the password
  bool ok() const { return error.empty(); }
};

// Percent-decodes user and password. A user without a password is an error
// (AUTH needs one), as are other schemes (rediss:// included), a query, a
// fragment, a port outside 1-65535 and a path that is not a database number.
parsed_url parse_redis_url(std::string_view url);

// "host:port/db" for logs: never the credentials.
std::string describe(const endpoint& target);

}  // namespace github_proxy::redis
