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
// Budget: `max_bytes` over every shard (lru_shard.h), each entry charged its
// key, body, header and metadata bytes plus a fixed estimate of its
// bookkeeping.
// Threading: any thread; one mutex per shard, held for a lookup only.
#pragma once

#include <cstddef>
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
  explicit front_tier(std::size_t max_bytes);
  ~front_tier();
  front_tier(const front_tier&) = delete;
  front_tier& operator=(const front_tier&) = delete;

  // Null when this process holds nothing under `key`.
  std::shared_ptr<const entry> find(std::string_view key);
  void put(std::string_view key, std::shared_ptr<const entry> e);
  void erase(std::string_view key);
  store_stats stats() const;

  // What an entry is charged against the budget.
  static std::size_t charge(std::string_view key, const entry& e);

 private:
  using shard = detail::lru_shard<std::shared_ptr<const entry>>;
  shard& shard_for(std::string_view key);
  std::vector<std::unique_ptr<shard>> shards_;
};

}  // namespace github_proxy::cache
