// cache.redis.url → where and how the Redis connection goes.
#include "redis/redis_url.h"

#include <gtest/gtest.h>

namespace github_proxy::redis {
namespace {

TEST(RedisUrl, HostPortAndDb) {
  auto url = parse_redis_url("redis://cache.internal:6380/3");
  ASSERT_TRUE(url.ok()) << url.error;
  EXPECT_EQ(url.value.host, "cache.internal");
  EXPECT_EQ(url.value.port, 6380);
  EXPECT_EQ(url.value.db, 3u);
  EXPECT_EQ(url.value.user, "");
  EXPECT_EQ(url.value.password, "");
}

TEST(RedisUrl, DefaultsToPort6379AndDb0) {
  for (const char* text : {"redis://redis", "redis://redis/", "redis://redis:6379/0", "REDIS://redis"}) {
    auto url = parse_redis_url(text);
    ASSERT_TRUE(url.ok()) << text << ": " << url.error;
    EXPECT_EQ(url.value.host, "redis") << text;
    EXPECT_EQ(url.value.port, 6379) << text;
    EXPECT_EQ(url.value.db, 0u) << text;
  }
}

TEST(RedisUrl, PasswordOnly) {
  auto url = parse_redis_url("redis://:s3cret@127.0.0.1:7000/1");
  ASSERT_TRUE(url.ok()) << url.error;
  EXPECT_EQ(url.value.user, "");
  EXPECT_EQ(url.value.password, "s3cret");
  EXPECT_EQ(url.value.host, "127.0.0.1");
  EXPECT_EQ(url.value.port, 7000);
  EXPECT_EQ(url.value.db, 1u);
}

TEST(RedisUrl, UserAndPasswordArePercentDecoded) {
  auto url = parse_redis_url("redis://ci%2Dproxy:p%40ss%3Aword@redis:6379/0");
  ASSERT_TRUE(url.ok()) << url.error;
  EXPECT_EQ(url.value.user, "ci-proxy");
  EXPECT_EQ(url.value.password, "p@ss:word");
}

TEST(RedisUrl, Ipv6LiteralLosesItsBrackets) {
  auto url = parse_redis_url("redis://[::1]:6390/2");
  ASSERT_TRUE(url.ok()) << url.error;
  EXPECT_EQ(url.value.host, "::1");
  EXPECT_EQ(url.value.port, 6390);
  EXPECT_EQ(describe(url.value), "[::1]:6390/2");
}

TEST(RedisUrl, DescribeNeverShowsCredentials) {
  auto url = parse_redis_url("redis://alice:wonderland@redis:6379/4");
  ASSERT_TRUE(url.ok()) << url.error;
  EXPECT_EQ(describe(url.value), "redis:6379/4");
}

TEST(RedisUrl, RejectsBadUrls) {
  const char* bad[] = {
      "",                                // empty
      "redis-server:6379",               // no scheme separator → not a redis:// URL
      "http://redis:6379/0",             // wrong scheme
      "rediss://redis:6379/0",           // TLS is not supported
      "redis://",                        // no host
      "redis:///0",                      // no host
      "redis://redis:0/0",               // port 0
      "redis://redis:65536/0",           // port too large
      "redis://redis:port/0",            // port not a number
      "redis://redis:6379/db",           // db not a number
      "redis://redis:6379/-1",           // negative db
      "redis://redis:6379/0/extra",      // more path
      "redis://redis:6379/0?timeout=1",  // query
      "redis://redis:6379/0#frag",       // fragment
      "redis://alice@redis:6379/0",      // user without password
      "redis://redis space:6379/0",      // not a URL
  };
  for (const char* text : bad) {
    auto url = parse_redis_url(text);
    EXPECT_FALSE(url.ok()) << "accepted: " << text;
  }
}

TEST(RedisUrl, ErrorsNeverContainThePassword) {
  auto url = parse_redis_url("redis://alice:topsecret@redis:99999/0");
  ASSERT_FALSE(url.ok());
  EXPECT_EQ(url.error.find("topsecret"), std::string::npos) << url.error;
}

}  // namespace
}  // namespace github_proxy::redis
