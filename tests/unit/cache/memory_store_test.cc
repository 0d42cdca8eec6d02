// The memory backend's own guarantees, beyond the conformance suite: byte
// accounting, LRU eviction, sharding limits, shared buffers, TTL.
#include "github_proxy/cache/memory_store.h"

#include <gtest/gtest.h>

#include "conformance/cache_store_conformance.h"

namespace github_proxy::cache {
namespace {

using namespace std::chrono_literals;
using conformance::run;

class CacheMemoryStore : public testing::Test {
 protected:
  // One shard, so that eviction order is fully determined.
  void make(std::size_t max_bytes, std::size_t shards = 1) {
    store_.reset();
    memory_store_options options;
    options.max_bytes = max_bytes;
    options.shards = shards;
    options.clock = [this] { return now_; };
    backend_ = make_memory_backend(options);
    store_ = backend_->for_thread(ctx_.get_executor());
  }
  void TearDown() override { store_.reset(); }

  get_result get(std::string_view key) { return run(ctx_, store_->get(key)); }
  boost::system::error_code put(std::string_view key, std::string value, std::chrono::seconds ttl = 0s) {
    return run(ctx_, store_->put(key, std::move(value), ttl));
  }
  void erase(std::string_view key) { EXPECT_FALSE(run(ctx_, store_->erase(key))); }
  bool has(std::string_view key) { return get(key).value != nullptr; }

  std::chrono::steady_clock::time_point now_{};
  std::unique_ptr<cache_backend> backend_;
  boost::asio::io_context ctx_;
  std::unique_ptr<cache_store> store_;
};

TEST_F(CacheMemoryStore, ErrorCategory) {
  const boost::system::error_code ec = store_error::too_large;
  EXPECT_EQ(ec.category(), store_category());
  EXPECT_STREQ(ec.category().name(), "cache_store");
  EXPECT_EQ(ec.message(), "value over the cache backend's per-entry limit");
  EXPECT_EQ(make_error_code(store_error::corrupt).message(), "stored cache entry is unreadable");
  EXPECT_EQ(make_error_code(store_error::unavailable).value(), 1);
}

TEST_F(CacheMemoryStore, OverheadIsMeasuredAndCounted) {
  EXPECT_GE(memory_entry_overhead, 150u);
  EXPECT_LE(memory_entry_overhead, 400u);
  EXPECT_EQ(memory_entry_charge(3, 5), 8 + memory_entry_overhead);

  make(1 << 20);
  EXPECT_EQ(backend_->name(), "memory");
  EXPECT_FALSE(put("abc", "12345"));
  EXPECT_FALSE(put("de", std::string(1000, 'x')));
  EXPECT_EQ(backend_->stats().entries, 2u);
  EXPECT_EQ(backend_->stats().bytes, memory_entry_charge(3, 5) + memory_entry_charge(2, 1000));
  EXPECT_FALSE(put("abc", "1"));  // overwrite: re-charged
  EXPECT_EQ(backend_->stats().bytes, memory_entry_charge(3, 1) + memory_entry_charge(2, 1000));
  erase("de");
  erase("abc");
  EXPECT_EQ(backend_->stats().entries, 0u);
  EXPECT_EQ(backend_->stats().bytes, 0u);
}

TEST_F(CacheMemoryStore, EvictsLeastRecentlyUsedByBytes) {
  const std::size_t each = memory_entry_charge(1, 1000);
  make(3 * each + each / 2);  // room for three entries
  EXPECT_FALSE(put("a", std::string(1000, 'a')));
  EXPECT_FALSE(put("b", std::string(1000, 'b')));
  EXPECT_FALSE(put("c", std::string(1000, 'c')));
  EXPECT_TRUE(has("a"));  // a is now the most recently used; b the least
  EXPECT_FALSE(put("d", std::string(1000, 'd')));
  EXPECT_FALSE(has("b"));
  EXPECT_TRUE(has("a"));
  EXPECT_TRUE(has("c"));
  EXPECT_TRUE(has("d"));
  EXPECT_EQ(backend_->stats().entries, 3u);
  EXPECT_EQ(backend_->stats().bytes, 3 * each);

  // A large value evicts as many as it needs, oldest first.
  EXPECT_FALSE(put("e", std::string(2000, 'e')));
  EXPECT_FALSE(has("c"));
  EXPECT_FALSE(has("a"));
  EXPECT_TRUE(has("d"));
  EXPECT_TRUE(has("e"));
  EXPECT_LE(backend_->stats().bytes, 3 * each + each / 2);
}

TEST_F(CacheMemoryStore, TooLargeIsRefusedAndDropsTheOldValue) {
  make(10'000);
  EXPECT_FALSE(put("k", "small"));
  EXPECT_FALSE(put("other", "kept"));
  EXPECT_EQ(put("k", std::string(10'000, 'x')), store_error::too_large);
  EXPECT_FALSE(has("k"));
  EXPECT_TRUE(has("other"));  // nothing was evicted for a value that cannot fit
  const std::size_t fits = 10'000 - memory_entry_charge(1, 0);
  EXPECT_FALSE(put("k", std::string(fits, 'x')));
  EXPECT_EQ(put("j", std::string(fits + 1, 'x')), store_error::too_large);
}

TEST_F(CacheMemoryStore, ShardBudgetLimitsOneEntry) {
  // 256 MiB: 16 shards of 16 MiB, so an 8 MiB max_object_bytes body fits.
  make(256ull << 20, 0);
  EXPECT_FALSE(put("k", std::string(15ull << 20, 'x')));
  EXPECT_EQ(put("k", std::string(16ull << 20, 'x')), store_error::too_large);
  // A small budget is one shard: a single entry may use all of it.
  make(4ull << 20, 0);
  EXPECT_FALSE(put("k", std::string(3ull << 20, 'x')));
  // Explicit shard counts split the budget evenly.
  make(1 << 20, 4);
  EXPECT_EQ(put("k", std::string(300'000, 'x')), store_error::too_large);
  EXPECT_FALSE(put("k", std::string(200'000, 'x')));
}

TEST_F(CacheMemoryStore, HitsShareTheStoredBuffer) {
  make(1 << 20);
  EXPECT_FALSE(put("k", std::string(5000, 'b')));
  const auto first = get("k").value;
  const auto second = get("k").value;
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first.get(), second.get());  // no copy per hit
  erase("k");
  EXPECT_EQ(*first, std::string(5000, 'b'));  // readers keep what they got
}

TEST_F(CacheMemoryStore, TtlFollowsTheInjectedClock) {
  make(1 << 20);
  EXPECT_FALSE(put("short", "v", 10s));
  EXPECT_FALSE(put("forever", "v", 0s));
  now_ += 9s;
  EXPECT_TRUE(has("short"));
  now_ += 1s;
  EXPECT_FALSE(has("short"));  // expires at exactly put + ttl
  EXPECT_EQ(backend_->stats().entries, 1u);  // dropped when touched
  now_ += std::chrono::hours(24 * 365 * 10);
  EXPECT_TRUE(has("forever"));
}

TEST_F(CacheMemoryStore, ManyShardsKeepEveryKey) {
  make(64ull << 20, 16);
  for (int i = 0; i < 2000; ++i) ASSERT_FALSE(put("key-" + std::to_string(i), std::to_string(i)));
  for (int i = 0; i < 2000; ++i) {
    const auto result = get("key-" + std::to_string(i));
    ASSERT_NE(result.value, nullptr) << i;
    EXPECT_EQ(*result.value, std::to_string(i));
  }
  EXPECT_EQ(backend_->stats().entries, 2000u);
}

}  // namespace
}  // namespace github_proxy::cache
