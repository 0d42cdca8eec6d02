// cache.redis.url → where and how the Redis connection goes.
#include "redis/redis_url.h"

#include <vector>

#include <gtest/gtest.h>

namespace github_proxy::redis {
namespace {

TEST(RedisUrl, HostPortAndDb) {
  auto url = parse_redis_url("redis://cache.internal:6380/3");
  ASSERT_TRUE(url.ok()) << url.error;
  EXPECT_EQ(url.value.servers.at(0).host, "cache.internal");
  EXPECT_EQ(url.value.servers.at(0).port, 6380);
  EXPECT_EQ(url.value.db, 3u);
  EXPECT_EQ(url.value.user, "");
  EXPECT_EQ(url.value.password, "");
}

TEST(RedisUrl, DefaultsToPort6379AndDb0) {
  for (const char* text : {"redis://redis", "redis://redis/", "redis://redis:6379/0", "REDIS://redis"}) {
    auto url = parse_redis_url(text);
    ASSERT_TRUE(url.ok()) << text << ": " << url.error;
    EXPECT_EQ(url.value.servers.at(0).host, "redis") << text;
    EXPECT_EQ(url.value.servers.at(0).port, 6379) << text;
    EXPECT_EQ(url.value.db, 0u) << text;
  }
}

TEST(RedisUrl, PasswordOnly) {
  auto url = parse_redis_url("redis://:s3cret@127.0.0.1:7000/1");
  ASSERT_TRUE(url.ok()) << url.error;
  EXPECT_EQ(url.value.user, "");
  EXPECT_EQ(url.value.password, "s3cret");
  EXPECT_EQ(url.value.servers.at(0).host, "127.0.0.1");
  EXPECT_EQ(url.value.servers.at(0).port, 7000);
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
  EXPECT_EQ(url.value.servers.at(0).host, "::1");
  EXPECT_EQ(url.value.servers.at(0).port, 6390);
  EXPECT_EQ(describe(url.value), "redis://[::1]:6390/2");
}

TEST(RedisUrl, DescribeNeverShowsCredentials) {
  auto url = parse_redis_url("redis://alice:wonderland@redis:6379/4");
  ASSERT_TRUE(url.ok()) << url.error;
  EXPECT_EQ(describe(url.value), "redis://redis:6379/4");
}

TEST(RedisUrl, RejectsBadUrls) {
  const char* bad[] = {
      "",                                // empty
      "redis-server:6379",               // no scheme separator → not a redis:// URL
      "http://redis:6379/0",             // wrong scheme
      "redis://a:1,b:2/0",               // several hosts for one server
      "redis-sentinel://s1:26379",       // no master name
      "redis-sentinel://s1:26379/",      // no master name
      "redis-cluster://n1:7000/1",       // a cluster has db 0 only
      "redis-cluster://n1:7000,,n2",     // an empty host
      "redis://[::1:6379/0",             // unclosed IPv6 bracket
      "redis://[::1]x/0",                // junk after the bracket
      "redis://redis:/0",                // empty port
      "redis://:p%zz@redis/0",           // bad %-escape
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

TEST(RedisUrl, TlsSchemes) {
  for (const char* text : {"rediss://cache.internal:6380/1", "REDISS://cache.internal:6380/1"}) {
    auto url = parse_redis_url(text);
    ASSERT_TRUE(url.ok()) << url.error;
    EXPECT_TRUE(url.value.tls);
    EXPECT_EQ(url.value.mode, topology::standalone);
    EXPECT_EQ(describe(url.value), "rediss://cache.internal:6380/1");
  }
  EXPECT_FALSE(parse_redis_url("redis://cache.internal").value.tls);
}

TEST(RedisUrl, SentinelListsSentinelsMasterNameAndDb) {
  auto url = parse_redis_url("redis-sentinel://:pw@s1,s2:26380,[::1]:26381/my%20master/2");
  ASSERT_TRUE(url.ok()) << url.error;
  EXPECT_EQ(url.value.mode, topology::sentinel);
  EXPECT_FALSE(url.value.tls);
  const std::vector<server_address> expected{{"s1", 26379}, {"s2", 26380}, {"::1", 26381}};
  EXPECT_EQ(url.value.servers, expected) << "sentinels default to port 26379";
  EXPECT_EQ(url.value.master_name, "my master");
  EXPECT_EQ(url.value.db, 2u);
  EXPECT_EQ(url.value.password, "pw");
  EXPECT_EQ(describe(url.value), "redis-sentinel://s1:26379,s2:26380,[::1]:26381/my master/2");

  auto no_db = parse_redis_url("rediss-sentinel://s1/mymaster");
  ASSERT_TRUE(no_db.ok()) << no_db.error;
  EXPECT_TRUE(no_db.value.tls);
  EXPECT_EQ(no_db.value.db, 0u);
  EXPECT_EQ(no_db.value.master_name, "mymaster");
}

TEST(RedisUrl, ClusterListsSeeds) {
  auto url = parse_redis_url("redis-cluster://alice:secret@n1:7000,n2,10.0.0.3:7002");
  ASSERT_TRUE(url.ok()) << url.error;
  EXPECT_EQ(url.value.mode, topology::cluster);
  const std::vector<server_address> expected{{"n1", 7000}, {"n2", 6379}, {"10.0.0.3", 7002}};
  EXPECT_EQ(url.value.servers, expected);
  EXPECT_EQ(url.value.user, "alice");
  EXPECT_EQ(describe(url.value), "redis-cluster://n1:7000,n2:6379,10.0.0.3:7002");
  EXPECT_TRUE(parse_redis_url("rediss-cluster://n1:7000/").value.tls);
  EXPECT_TRUE(parse_redis_url("redis-cluster://n1:7000/0").ok());
}

TEST(RedisUrl, ErrorsNeverContainThePassword) {
  auto url = parse_redis_url("redis://alice:topsecret@redis:99999/0");
  ASSERT_FALSE(url.ok());
  EXPECT_EQ(url.error.find("topsecret"), std::string::npos) << url.error;
}

}  // namespace
}  // namespace github_proxy::redis
