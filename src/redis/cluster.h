// Redis Cluster (redis-cluster:// URLs): which node holds a key, and a
// client that follows the cluster's redirects.
//
// https://redis.io/docs/reference/cluster-spec/ — a key's slot is CRC16
// (XMODEM) of the key, or of its hash tag (what lies between the first "{"
// and the next "}", when not empty), modulo 16384. The slot map comes from
// CLUSTER SLOTS, asked of a known master or, failing all, of the seeds. A
// node answers `-MOVED slot host:port` for a slot it does not own (the map
// is stale: refreshed, and the command goes there), and `-ASK slot
// host:port` for a key that is mid-migration (the command goes there once,
// after ASKING, and the map stays). At most two redirects per command.
//
// Each client (one per I/O thread and user) keeps one connection per master
// it has needed. A node that fails a command (down, or timing out) makes
// the client ask for the map again, at most once a second, so that a
// promoted replica is found; meanwhile that node's commands fail fast and
// the proxy serves uncached (docs/architecture.md "Redis").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/client.h"
#include "redis/redis_url.h"
#include "redis/reply.h"

namespace github_proxy::redis {

constexpr std::uint16_t cluster_slots = 16384;

// The slot of `key`, hash tag included.
std::uint16_t key_slot(std::string_view key);

// Which master serves each slot.
class slot_map {
 public:
  // From a CLUSTER SLOTS reply: [[first, last, [host, port, id…], replicas…]…].
  // A master announced with an empty host is the node asked (`asked`).
  // nullopt, with `error`, for a reply of another shape.
  static std::optional<slot_map> from_cluster_slots(const reply& r, const server_address& asked,
                                                    std::string& error);

  // Null when no master serves the slot (the cluster is incomplete).
  const server_address* master_of(std::uint16_t slot) const;
  const std::vector<server_address>& masters() const { return masters_; }
  std::size_t covered_slots() const;

 private:
  static constexpr std::uint16_t nobody = 0xFFFF;
  std::vector<std::uint16_t> owner_ = std::vector<std::uint16_t>(cluster_slots, nobody);  // index into masters_
  std::vector<server_address> masters_;
};

// A redirect in an error reply.
struct redirect {
  enum class kind { moved, ask } type;
  std::uint16_t slot = 0;
  server_address to;
};
// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 [::1]:6381" / "MOVED 3999 :6381"
// (no host: the node that answered, `answered`); nullopt for other errors.
std::optional<redirect> parse_redirect(std::string_view error, const server_address& answered);

// The client for a redis-cluster:// target (options.target.mode == cluster).
std::shared_ptr<client> make_cluster_client(boost::asio::any_io_executor executor, connection_options options);

}  // namespace github_proxy::redis
