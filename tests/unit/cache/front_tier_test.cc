// The front tier (include/github_proxy/cache/front_tier.h): decoded entries
// by key, byte-budgeted, least recently used evicted first.
#include "github_proxy/cache/front_tier.h"

#include <memory>
#include <chrono>
#include <string>

#include <gtest/gtest.h>

namespace github_proxy::cache {
namespace {

std::shared_ptr<const entry> entry_with_body(std::size_t body_bytes) {
  auto e = std::make_shared<entry>();
  e->body.assign(body_bytes, 'x');
  e->headers = {{"Content-Type", "application/json"}, {"ETag", "\"abc\""}};
  e->etag = "\"abc\"";
  return e;
}

TEST(FrontTier, HoldsWhatWasPutUntilErasedOrReplaced) {
  front_tier front(1024 * 1024);
  EXPECT_FALSE(front.find("k").held);
  const auto first = entry_with_body(100);
  front.put("k", first);
  EXPECT_EQ(front.find("k").held, first) << "the same entry, not a copy";

  const auto second = entry_with_body(200);
  front.put("k", second);
  EXPECT_EQ(front.find("k").held, second);
  EXPECT_EQ(front.stats().entries, 1u);
  EXPECT_EQ(front.stats().bytes, front_tier::charge("k", *second));

  front.erase("k");
  EXPECT_FALSE(front.find("k").held);
  EXPECT_EQ(front.stats().entries, 0u);
  EXPECT_EQ(front.stats().bytes, 0u);
}

TEST(FrontTier, ChargesBodyHeadersAndKeyAndEvictsTheLeastRecentlyUsed) {
  const auto e = entry_with_body(10 * 1024);
  const auto each = front_tier::charge("key-0", *e);
  auto more_headers = std::make_shared<entry>(*e);
  more_headers->headers.emplace_back("X-GitHub-Request-Id", std::string(100, 'r'));
  EXPECT_GE(front_tier::charge("key-0", *more_headers), each + 19 + 100) << "header bytes are charged";
  EXPECT_GE(each, e->body.capacity() + 5);
  // Room for three (one shard: a small budget is not split).
  front_tier front(3 * each + each / 2);
  front.put("key-0", e);
  front.put("key-1", e);
  front.put("key-2", e);
  ASSERT_TRUE(front.find("key-0").held);  // now the most recently used
  front.put("key-3", e);
  EXPECT_TRUE(front.find("key-0").held);
  EXPECT_FALSE(front.find("key-1").held) << "the least recently used goes first";
  EXPECT_TRUE(front.find("key-2").held);
  EXPECT_TRUE(front.find("key-3").held);
  EXPECT_LE(front.stats().bytes, 3 * each + each / 2);
}

TEST(FrontTier, AnEntryLargerThanTheBudgetIsNotHeldAndDropsTheOlderOne) {
  front_tier front(64 * 1024);
  front.put("k", entry_with_body(100));
  front.put("k", entry_with_body(128 * 1024));
  EXPECT_FALSE(front.find("k").held) << "an older entry would be served in place of the new one";
  front.put("null", nullptr);
  EXPECT_FALSE(front.find("null").held);
}

// A backend read that overlapped a write or an erase of this process is
// not put back: it could be what the write replaced.
TEST(FrontTier, AFillAfterAWriteOrEraseInTheShardIsDropped) {
  front_tier front(1024 * 1024);  // one shard
  const auto old_entry = entry_with_body(100);
  const auto new_entry = entry_with_body(200);

  auto missed = front.find("k");
  ASSERT_FALSE(missed.held);
  front.fill("k", old_entry, missed.ticket);
  EXPECT_EQ(front.find("k").held, old_entry) << "nothing happened in between: filled";

  front.erase("k");
  missed = front.find("k");
  front.put("k", new_entry);                   // a write lands while the backend read is under way
  front.fill("k", old_entry, missed.ticket);   // the read returns what the write replaced
  EXPECT_EQ(front.find("k").held, new_entry);

  front.erase("k");
  missed = front.find("k");
  front.erase("other");                        // an erase in the shard meanwhile (a 404)
  front.fill("k", old_entry, missed.ticket);
  EXPECT_FALSE(front.find("k").held);
}

// With Redis, an entry lives here no longer than Redis keeps it.
TEST(FrontTier, EntriesExpireAfterTheTtl) {
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  front_tier front(1024 * 1024, std::chrono::seconds(60), [&] { return now; });
  front.put("k", entry_with_body(10));
  now += std::chrono::seconds(59);
  EXPECT_TRUE(front.find("k").held);
  now += std::chrono::seconds(1);
  EXPECT_FALSE(front.find("k").held);
  EXPECT_EQ(front.stats().entries, 0u);
}

}  // namespace
}  // namespace github_proxy::cache
