// The front tier (docs/contract.md §6 "Front tier"): decoded cache entries
// kept in this process in front of the backend, so that a hit neither
// decodes the stored bytes again nor, with Redis, waits on a round trip.
//
// Safe to serve from because nothing is served from the cache unconfirmed:
// every hit is revalidated upstream, and an entry that another replica (or
// thread) has replaced meanwhile only costs that revalidation a 200 instead
// of a 304, after which this tier holds the new entry. Redis stays the tier
// shared between replicas and the one that survives a restart.
//
// Two ways to use it, chosen by the backend:
//   - Redis: a front entry is used without asking Redis (`find`).
//   - memory: the backend hands out its stored buffer itself, so the front
//     entry is only a decoded copy of that buffer; it is used while the
//     buffer it was decoded from is still the stored one (`slot.encoded`
//     compared with what the backend returned), i.e. exactly as consistent
//     as the backend.
//
// Budget: `max_bytes` over every shard (lru_shard.h), each entry charged its
// key, body, header and metadata bytes plus a fixed estimate of its
// bookkeeping; a buffer shared with the memory backend is charged there.
// Threading: any thread; one mutex per shard, held for a lookup only.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
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

struct front_slot {
  std::shared_ptr<const entry> decoded;
  // The backend buffer `decoded` was decoded from (memory backend), or null.
  std::shared_ptr<const std::string> encoded;
};

class front_tier {
 public:
  explicit front_tier(std::size_t max_bytes);
  ~front_tier();
  front_tier(const front_tier&) = delete;
  front_tier& operator=(const front_tier&) = delete;

  std::optional<front_slot> find(std::string_view key);
  void put(std::string_view key, front_slot slot);
  void erase(std::string_view key);
  store_stats stats() const;

  // What an entry is charged against the budget.
  static std::size_t charge(std::string_view key, const entry& e);

 private:
  using shard = detail::lru_shard<front_slot>;
  shard& shard_for(std::string_view key);
  std::vector<std::unique_ptr<shard>> shards_;
};

}  // namespace github_proxy::cache
