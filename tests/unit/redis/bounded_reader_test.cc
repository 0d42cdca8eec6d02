// The daemon's hiredis reader refuses an array reply that announces more
// elements than max_reply_elements before allocating for them (found by the
// redis_reply fuzzer: `*678901231` made hiredis 0.14 calloc 5 GB).
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "redis/reply.h"

namespace github_proxy::redis {
namespace {

using reader_ptr = std::unique_ptr<redisReader, void (*)(redisReader*)>;

reader_ptr make() { return reader_ptr(make_bounded_reader(), &redisReaderFree); }

TEST(BoundedReader, AHugeAnnouncedArrayIsAProtocolErrorNotAnAllocation) {
  auto reader = make();
  ASSERT_TRUE(reader);
  const std::string huge = "*678901231\r\n:1\r\n";
  ASSERT_EQ(redisReaderFeed(reader.get(), huge.data(), huge.size()), REDIS_OK);
  void* reply = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader.get(), &reply), REDIS_ERR);
  EXPECT_EQ(reply, nullptr);
}

TEST(BoundedReader, ArraysWithinTheBoundAreReadAsHiredisReadsThem) {
  auto reader = make();
  const std::string two = "*2\r\n$3\r\nabc\r\n:7\r\n";
  ASSERT_EQ(redisReaderFeed(reader.get(), two.data(), two.size()), REDIS_OK);
  void* raw = nullptr;
  ASSERT_EQ(redisReaderGetReply(reader.get(), &raw), REDIS_OK);
  ASSERT_NE(raw, nullptr);
  const auto copy = copy_reply(*static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  ASSERT_EQ(copy.elements.size(), 2u);
  EXPECT_EQ(copy.elements[0].text, "abc");
  EXPECT_EQ(copy.elements[1].integer, 7);
}

}  // namespace
}  // namespace github_proxy::redis
