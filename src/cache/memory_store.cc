#include "github_proxy/cache/memory_store.h"

#include <atomic>
#include <bit>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace github_proxy::cache {
namespace {

using std::chrono::steady_clock;
using time_point = steady_clock::time_point;
constexpr time_point never = time_point::max();

struct node {
  std::string key;
  std::shared_ptr<const std::string> value;
  time_point expires = never;
  std::size_t charge = 0;
};
using lru_list = std::list<node>;
// Keys of the index are views of `node::key`: list nodes never move, so the
// key is stored once.
using lru_index = std::unordered_map<std::string_view, lru_list::iterator>;

// The shapes of the allocations behind one entry, for the overhead estimate.
struct list_node_layout {
  void* next;
  void* prev;
  node payload;
};
struct map_node_layout {
  void* next;
  lru_index::value_type payload;
  std::size_t cached_hash;
};
struct control_block_layout {
  void* vtable;
  int use_count;
  int weak_count;
  std::string payload;
};
constexpr std::size_t allocator_header = 16;
constexpr std::size_t allocations_per_entry = 3;

constexpr std::size_t min_shard_bytes = 16ull * 1024 * 1024;
constexpr std::size_t max_shards = 16;

class shard {
 public:
  explicit shard(std::size_t budget) : budget_(budget) {}

  get_result get(std::string_view key, const steady_clock_fn& clock) {
    std::lock_guard lock(mutex_);
    const auto found = index_.find(key);
    if (found == index_.end()) return {};
    const auto it = found->second;
    if (it->expires != never && clock() >= it->expires) {
      unlink(it);
      return {};
    }
    lru_.splice(lru_.begin(), lru_, it);
    return {it->value, {}};
  }

  boost::system::error_code put(std::string_view key, std::shared_ptr<const std::string> value,
                                time_point expires, std::size_t charge) {
    std::lock_guard lock(mutex_);
    const auto found = index_.find(key);
    if (charge > budget_) {
      if (found != index_.end()) unlink(found->second);
      return store_error::too_large;
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
    // The entry just written is at the front and fits alone: evict from the back.
    while (bytes_ > budget_) unlink(std::prev(lru_.end()));
    publish();
    return {};
  }

  void erase(std::string_view key) {
    std::lock_guard lock(mutex_);
    const auto found = index_.find(key);
    if (found != index_.end()) unlink(found->second);
  }

  std::size_t entries() const { return published_entries_.load(std::memory_order_relaxed); }
  std::size_t bytes() const { return published_bytes_.load(std::memory_order_relaxed); }

 private:
  void unlink(lru_list::iterator it) {
    bytes_ -= it->charge;
    index_.erase(std::string_view(it->key));
    lru_.erase(it);
    publish();
  }

  // Gauges are read without the lock (a metrics scrape must not contend).
  void publish() {
    published_entries_.store(index_.size(), std::memory_order_relaxed);
    published_bytes_.store(bytes_, std::memory_order_relaxed);
  }

  std::mutex mutex_;
  lru_list lru_;  // front: most recently used
  lru_index index_;
  const std::size_t budget_;
  std::size_t bytes_ = 0;
  std::atomic<std::size_t> published_entries_{0};
  std::atomic<std::size_t> published_bytes_{0};
};

std::size_t shard_count_for(const memory_store_options& options) {
  if (options.shards != 0) return std::bit_floor(options.shards);
  std::size_t count = max_shards;
  while (count > 1 && options.max_bytes / count < min_shard_bytes) count /= 2;
  return count;
}

class memory_backend;

class memory_store final : public cache_store {
 public:
  explicit memory_store(memory_backend& backend) : backend_(backend) {}

  boost::asio::awaitable<get_result> get(std::string_view key) override;
  boost::asio::awaitable<boost::system::error_code> put(std::string_view key, std::string value,
                                                        std::chrono::seconds ttl) override;
  boost::asio::awaitable<boost::system::error_code> erase(std::string_view key) override;

 private:
  memory_backend& backend_;
};

class memory_backend final : public cache_backend {
 public:
  explicit memory_backend(const memory_store_options& options)
      : clock_(options.clock ? options.clock : steady_clock_fn(&steady_clock::now)) {
    const std::size_t count = shard_count_for(options);
    shards_.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
      shards_.push_back(std::make_unique<shard>(options.max_bytes / count));
  }

  std::unique_ptr<cache_store> for_thread(boost::asio::any_io_executor) override {
    return std::make_unique<memory_store>(*this);
  }

  store_stats stats() const override {
    store_stats out;
    for (const auto& s : shards_) {
      out.entries += s->entries();
      out.bytes += s->bytes();
    }
    return out;
  }

  std::string_view name() const override { return "memory"; }

  get_result get(std::string_view key) { return shard_for(key).get(key, clock_); }

  boost::system::error_code put(std::string_view key, std::string value, std::chrono::seconds ttl) {
    const std::size_t charge = memory_entry_charge(key.size(), value.size());
    const time_point expires = ttl > std::chrono::seconds::zero() ? clock_() + ttl : never;
    return shard_for(key).put(key, std::make_shared<const std::string>(std::move(value)), expires, charge);
  }

  void erase(std::string_view key) { shard_for(key).erase(key); }

 private:
  shard& shard_for(std::string_view key) {
    // Fibonacci hashing spreads the hash's bits; the index map of the shard
    // uses the same hash modulo a prime, so the two choices stay independent.
    const std::uint64_t h = std::hash<std::string_view>{}(key);
    const std::uint64_t mixed = (h * 0x9E3779B97F4A7C15ull) >> 32;
    return *shards_[mixed & (shards_.size() - 1)];
  }

  const steady_clock_fn clock_;
  std::vector<std::unique_ptr<shard>> shards_;
};

boost::asio::awaitable<get_result> memory_store::get(std::string_view key) {
  co_return backend_.get(key);
}

boost::asio::awaitable<boost::system::error_code> memory_store::put(std::string_view key, std::string value,
                                                                    std::chrono::seconds ttl) {
  co_return backend_.put(key, std::move(value), ttl);
}

boost::asio::awaitable<boost::system::error_code> memory_store::erase(std::string_view key) {
  backend_.erase(key);
  co_return boost::system::error_code{};
}

}  // namespace

const std::size_t memory_entry_overhead = sizeof(list_node_layout) + sizeof(map_node_layout) +
                                          sizeof(void*) /* bucket slot */ + sizeof(control_block_layout) +
                                          allocations_per_entry * allocator_header;

std::size_t memory_entry_charge(std::size_t key_bytes, std::size_t value_bytes) {
  return key_bytes + value_bytes + memory_entry_overhead;
}

std::unique_ptr<cache_backend> make_memory_backend(const memory_store_options& options) {
  return std::make_unique<memory_backend>(options);
}

std::unique_ptr<cache_backend> make_memory_backend(std::size_t max_bytes, steady_clock_fn clock) {
  memory_store_options options;
  options.max_bytes = max_bytes;
  options.clock = std::move(clock);
  return make_memory_backend(options);
}

}  // namespace github_proxy::cache
