#include "github_proxy/cache/memory_store.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cache/lru_shard.h"

namespace github_proxy::cache {
namespace {

using std::chrono::steady_clock;
using time_point = steady_clock::time_point;
using shard = detail::lru_shard<std::shared_ptr<const std::string>>;

// The shapes of the allocations behind one entry, for the overhead estimate.
struct list_node_layout {
  void* next;
  void* prev;
  shard::node payload;
};
struct map_node_layout {
  void* next;
  shard::index::value_type payload;
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
    const std::size_t count = detail::lru_shard_count(options.max_bytes, options.shards);
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

  get_result get(std::string_view key) {
    auto value = shard_for(key).get(key, clock_);
    if (!value) return {};
    return {std::move(*value), {}};
  }

  boost::system::error_code put(std::string_view key, std::string value, std::chrono::seconds ttl) {
    const std::size_t charge = memory_entry_charge(key.size(), value.size());
    const time_point expires = ttl > std::chrono::seconds::zero() ? clock_() + ttl : detail::lru_never;
    if (!shard_for(key).put(key, std::make_shared<const std::string>(std::move(value)), expires, charge))
      return store_error::too_large;
    return {};
  }

  void erase(std::string_view key) { shard_for(key).erase(key); }

 private:
  shard& shard_for(std::string_view key) { return *shards_[detail::lru_shard_of(key, shards_.size())]; }

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
