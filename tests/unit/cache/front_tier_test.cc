// The front tier (include/github_proxy/cache/front_tier.h): decoded entries
// by key, byte-budgeted, least recently used evicted first.
#include "github_proxy/cache/front_tier.h"

#include <memory>
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
  EXPECT_FALSE(front.find("k"));
  const auto first = entry_with_body(100);
  front.put("k", first);
  EXPECT_EQ(front.find("k"), first) << "the same entry, not a copy";

  const auto second = entry_with_body(200);
  front.put("k", second);
  EXPECT_EQ(front.find("k"), second);
  EXPECT_EQ(front.stats().entries, 1u);
  EXPECT_EQ(front.stats().bytes, front_tier::charge("k", *second));

  front.erase("k");
  EXPECT_FALSE(front.find("k"));
  EXPECT_EQ(front.stats().entries, 0u);
  EXPECT_EQ(front.stats().bytes, 0u);
}

TEST(FrontTier, ChargesBodyHeadersAndKeyAndEvictsTheLeastRecentlyUsed) {
  const auto e = entry_with_body(10 * 1024);
  const auto each = front_tier::charge("key-0", *e);
  EXPECT_GT(each, e->body.size() + 5);
  // Room for three (one shard: a small budget is not split).
  front_tier front(3 * each + each / 2);
  front.put("key-0", e);
  front.put("key-1", e);
  front.put("key-2", e);
  ASSERT_TRUE(front.find("key-0"));  // now the most recently used
  front.put("key-3", e);
  EXPECT_TRUE(front.find("key-0"));
  EXPECT_FALSE(front.find("key-1")) << "the least recently used goes first";
  EXPECT_TRUE(front.find("key-2"));
  EXPECT_TRUE(front.find("key-3"));
  EXPECT_LE(front.stats().bytes, 3 * each + each / 2);
}

TEST(FrontTier, AnEntryLargerThanTheBudgetIsNotHeldAndDropsTheOlderOne) {
  front_tier front(64 * 1024);
  front.put("k", entry_with_body(100));
  front.put("k", entry_with_body(128 * 1024));
  EXPECT_FALSE(front.find("k")) << "an older entry would be served in place of the new one";
  front.put("null", nullptr);
  EXPECT_FALSE(front.find("null"));
}

}  // namespace
}  // namespace github_proxy::cache
