// `cache.redis.url` (docs/contract.md §3): which Redis, in which topology.
//
//   redis://[[user]:password@]host[:port][/db]              one server
//   rediss://…                                              the same over TLS
//   redis-sentinel://[[user]:password@]h1[:port][,h2[:port]…]/master-name[/db]
//                                                           the master Sentinel names
//   redis-cluster://[[user]:password@]h1[:port][,h2[:port]…] a Redis Cluster's seeds
//   (rediss-sentinel://, rediss-cluster://: the same over TLS)
//
// Sentinels default to port 26379, everything else to 6379. The user and
// password authenticate to every server the URL leads to (sentinels
// included, as managed Sentinel deployments share one password).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace github_proxy::redis {

enum class topology { standalone, sentinel, cluster };

struct server_address {
  std::string host;  // a name, or an IP literal (IPv6 without brackets)
  std::uint16_t port = 6379;
  bool operator==(const server_address&) const = default;
};

struct endpoint {
  topology mode = topology::standalone;
  bool tls = false;
  // standalone: the one server; sentinel: the sentinels; cluster: the seeds.
  std::vector<server_address> servers;
  std::string master_name;  // sentinel only
  std::string user;         // empty: Redis' default user
  std::string password;     // empty: no AUTH
  unsigned db = 0;          // SELECT after connecting when not 0; always 0 in a cluster
};

struct parsed_url {
  endpoint value;
  std::string error;  // empty when `value` is usable; never contains the password
  bool ok() const { return error.empty(); }
};

// Percent-decodes user, password and master name. Errors: another scheme, no
// host, a user without a password (AUTH needs one), a port outside 1-65535, a
// query or fragment, a path that is not a database number (for a sentinel:
// a master name and an optional number; for a cluster: none), more than one
// host outside Sentinel and Cluster.
parsed_url parse_redis_url(std::string_view url);

// "host:port" ("[::1]:6379") for logs.
std::string describe(const server_address& address);
// "rediss://host:port/db", "redis-sentinel://h1:26379,h2:26379/name/0": never the credentials.
std::string describe(const endpoint& target);

}  // namespace github_proxy::redis
