// The front tier (docs/contract.md §6 "Front tier"): decoded cache entries
// kept in this process in front of the backend, so that a hit neither
// decodes the stored bytes again nor, with Redis, waits on a round trip.
//
// Safe to serve from because nothing is served from the cache unconfirmed:
// every hit is revalidated upstream. Every write and erase of this process
// goes through it as well as the backend, so it differs from the backend
// only where another replica (Redis) wrote meanwhile, or where the backend
// evicted or expired an entry; an entry another replica has replaced costs
// one revalidation a 200 instead of a 304, after which this tier holds the
// new one. Redis stays the tier shared between replicas and the one that
// survives a restart.
//
// Reads from the backend are put back with `fill`, which refuses when this
// process wrote or erased in the key's shard since the `find` that missed:
// a read that overlapped a write would otherwise bring back what the write
// replaced. Callers write and erase the backend first, then this tier.
//
// Expiry: `ttl` (the Redis backend's), so that an entry lives here no
// longer than it would in Redis; 0: none (the memory backend's entries do
// not expire either).
//
// Budget: `max_bytes` over every shard (lru_shard.h), each entry charged its
// key, body, header and metadata bytes plus a fixed estimate of its
// bookkeeping.
// Threading: any thread; one mutex per shard, held for a lookup only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "github_proxy/cache/cache_store.h"
#include "github_proxy/cache/entry.h"

namespace github_proxy::cache {

namespace detail {
template <class Value>
class lru_shard;
}

class front_tier {
 public:
  // `clock`: empty for std::chrono::steady_clock::now (tests inject one).
  explicit front_tier(std::size_t max_bytes, std::chrono::seconds ttl = std::chrono::seconds(0),
                      std::function<std::chrono::steady_clock::time_point()> clock = {});
  ~front_tier();
  front_tier(const front_tier&) = delete;
  front_tier& operator=(const front_tier&) = delete;

  struct found {
    std::shared_ptr<const entry> held;  // null: this process holds nothing under the key
    std::uint64_t ticket = 0;           // for `fill` after a miss
  };
  found find(std::string_view key);
  // An entry read from the backend after `find` missed; dropped when the
  // shard was written or erased since (see above).
  void fill(std::string_view key, std::shared_ptr<const entry> e, std::uint64_t ticket);
  // An entry this process wrote to the backend.
  void put(std::string_view key, std::shared_ptr<const entry> e);
  void erase(std::string_view key);
  store_stats stats() const;

  // What an entry is charged against the budget.
  static std::size_t charge(std::string_view key, const entry& e);

 private:
  using shard = detail::lru_shard<std::shared_ptr<const entry>>;
  shard& shard_for(std::string_view key);
  std::chrono::steady_clock::time_point expiry() const;
  const std::chrono::seconds ttl_;
  const std::function<std::chrono::steady_clock::time_point()> clock_;
  std::vector<std::unique_ptr<shard>> shards_;
};

}  // namespace github_proxy::cache
