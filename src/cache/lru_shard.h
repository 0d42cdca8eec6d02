// One shard of a byte-budgeted LRU map with its own mutex: the memory
// backend (memory_store.cc, encoded values with an expiry) and the front
// tier (front_tier.cc, decoded entries) are each split into these by key
// hash, so that no lock is global. Private to the cache module.
//
// Budget: `put` charges each value what its caller says it costs; the least
// recently used values are evicted until the new one fits. A value whose
// charge exceeds the whole shard is refused, and any older value under its
// key dropped (a put never leaves a value the caller meant to replace).
// Entry counts and bytes are published in atomics, so that a metrics scrape
// never takes the lock.
#pragma once

#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace github_proxy::cache::detail {

using lru_time_point = std::chrono::steady_clock::time_point;
inline constexpr lru_time_point lru_never = lru_time_point::max();

template <class Value>
class lru_shard {
 public:
  struct node {
    std::string key;
    Value value;
    lru_time_point expires = lru_never;
    std::size_t charge = 0;
  };
  using list = std::list<node>;
  // Keys of the index are views of `node::key`: list nodes never move, so
  // the key is stored once.
  using index = std::unordered_map<std::string_view, typename list::iterator>;

  explicit lru_shard(std::size_t budget) : budget_(budget) {}

  // The value under `key`, now the most recently used; nullopt when absent
  // or expired at `now()` (called only for values that expire).
  template <class Now>
  std::optional<Value> get(std::string_view key, const Now& now) {
    std::lock_guard lock(mutex_);
    const auto found = index_.find(key);
    if (found == index_.end()) return std::nullopt;
    const auto it = found->second;
    if (it->expires != lru_never && now() >= it->expires) {
      unlink(it);
      return std::nullopt;
    }
    lru_.splice(lru_.begin(), lru_, it);
    return it->value;
  }

  // Counts the shard's puts and erases: a value read elsewhere (a backend,
  // across a co_await) is put back only if nothing was written or erased
  // in the shard meanwhile (`fill`).
  std::uint64_t generation() const {
    std::lock_guard lock(mutex_);
    return generation_;
  }

  // `put`, unless the shard's generation is no longer `seen`. False: not stored.
  bool fill(std::string_view key, Value value, lru_time_point expires, std::size_t charge, std::uint64_t seen) {
    std::lock_guard lock(mutex_);
    if (generation_ != seen) return false;
    return put_locked(key, std::move(value), expires, charge);
  }

  // False: `charge` exceeds the shard's budget (nothing stored, and the
  // key's older value gone).
  bool put(std::string_view key, Value value, lru_time_point expires, std::size_t charge) {
    std::lock_guard lock(mutex_);
    return put_locked(key, std::move(value), expires, charge);
  }

  void erase(std::string_view key) {
    std::lock_guard lock(mutex_);
    ++generation_;
    const auto found = index_.find(key);
    if (found != index_.end()) unlink(found->second);
  }

  std::size_t entries() const { return published_entries_.load(std::memory_order_relaxed); }
  std::size_t bytes() const { return published_bytes_.load(std::memory_order_relaxed); }

 private:
  bool put_locked(std::string_view key, Value value, lru_time_point expires, std::size_t charge) {
    ++generation_;
    const auto found = index_.find(key);
    if (charge > budget_) {
      if (found != index_.end()) unlink(found->second);
      return false;
    }
    if (found != index_.end()) {
      const auto it = found->second;
      bytes_ = bytes_ - it->charge + charge;
      it->value = std::move(value);
      it->expires = expires;
      it->charge = charge;
      lru_.splice(lru_.begin(), lru_, it);
    } else {
      lru_.push_front(node{std::string(key), std::move(value), expires, charge});
      index_.emplace(lru_.front().key, lru_.begin());
      bytes_ += charge;
    }
    // The value just written is at the front and fits alone: evict from the back.
    while (bytes_ > budget_) unlink(std::prev(lru_.end()));
    publish();
    return true;
  }

  void unlink(typename list::iterator it) {
    bytes_ -= it->charge;
    index_.erase(std::string_view(it->key));
    lru_.erase(it);
    publish();
  }

  void publish() {
    published_entries_.store(index_.size(), std::memory_order_relaxed);
    published_bytes_.store(bytes_, std::memory_order_relaxed);
  }

  mutable std::mutex mutex_;
  std::uint64_t generation_ = 0;
  list lru_;  // front: most recently used
  index index_;
  const std::size_t budget_;
  std::size_t bytes_ = 0;
  std::atomic<std::size_t> published_entries_{0};
  std::atomic<std::size_t> published_bytes_{0};
};

// Shards of at least 16 MiB (or one holding the whole budget when it is
// smaller), at most 16: the default 256 MiB gets 16, and an 8 MiB
// `max_object_bytes` always fits one shard. `requested` (0: automatic) is
// rounded down to a power of two.
inline std::size_t lru_shard_count(std::size_t max_bytes, std::size_t requested = 0) {
  if (requested != 0) return std::bit_floor(requested);
  constexpr std::size_t min_shard_bytes = 16ull * 1024 * 1024;
  std::size_t count = 16;
  while (count > 1 && max_bytes / count < min_shard_bytes) count /= 2;
  return count;
}

// Which of `count` (a power of two) shards holds `key`. Fibonacci hashing
// spreads the hash's bits; the shard's index map uses the same hash modulo a
// prime, so the two choices stay independent.
inline std::size_t lru_shard_of(std::string_view key, std::size_t count) {
  const std::uint64_t h = std::hash<std::string_view>{}(key);
  const std::uint64_t mixed = (h * 0x9E3779B97F4A7C15ull) >> 32;
  return static_cast<std::size_t>(mixed & (count - 1));
}

}  // namespace github_proxy::cache::detail
