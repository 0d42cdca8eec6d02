#include "github_proxy/cache/key.h"

#include <gtest/gtest.h>

namespace github_proxy::cache {
namespace {

std::string key(std::string_view path, std::string_view query, std::string_view accept = "*/*",
                std::string_view version = "2022-11-28", body_encoding encoding = body_encoding::identity) {
  return cache_key(method_class::get, path, query, accept, version, encoding);
}

TEST(CacheKey, ReadableForm) {
  EXPECT_EQ(key("/repos/octo-org/repo-1/issues", "per_page=100&page=2", "application/vnd.github+json"),
            "gh1 GET identity /repos/octo-org/repo-1/issues?page=2&per_page=100 "
            "accept=application/vnd.github+json api=2022-11-28");
  EXPECT_EQ(key("/user", "", "", "", body_encoding::gzip), "gh1 GET gzip /user accept=*/* api=");
  EXPECT_EQ(key("", ""), key("/", ""));
}

TEST(CacheKeyQuery, SortedByNameKeepingRepeatsInOrder) {
  EXPECT_EQ(canonical_query("b=2&a=1"), "a=1&b=2");
  EXPECT_EQ(canonical_query("a=2&b=1&a=1"), "a=2&a=1&b=1");
  EXPECT_NE(canonical_query("a=2&a=1"), canonical_query("a=1&a=2"));
  EXPECT_EQ(canonical_query("labels=x&state=open&labels=y"), "labels=x&labels=y&state=open");
  EXPECT_EQ(key("/r", "state=open&page=2"), key("/r", "page=2&state=open"));
  EXPECT_NE(key("/r", "page=2"), key("/r", "page=3"));
}

TEST(CacheKeyQuery, EmptyPartsAndValues) {
  EXPECT_EQ(canonical_query(""), "");
  EXPECT_EQ(canonical_query("a=1&&b=2&"), "a=1&b=2");
  EXPECT_EQ(canonical_query("&"), "");
  EXPECT_NE(canonical_query("a"), canonical_query("a="));  // no value vs empty value
  EXPECT_EQ(canonical_query("b=&a"), "a&b=");
  EXPECT_EQ(key("/r", ""), key("/r", "&"));
}

TEST(CacheKeyQuery, PercentEncodingNormalisedOnlyWhereSafe) {
  EXPECT_EQ(canonical_query("%70age=%32"), "page=2");              // unreserved: decoded
  EXPECT_EQ(canonical_query("q=%7euser"), "q=~user");
  EXPECT_EQ(canonical_query("path=a%2fb"), "path=a%2Fb");          // reserved: kept, hex upper-cased
  EXPECT_NE(canonical_query("q=a%26b"), canonical_query("q=a&b"));  // %26 is not a separator
  EXPECT_NE(canonical_query("q=a%3Db"), canonical_query("q=a=b"));
  EXPECT_NE(canonical_query("q=a+b"), canonical_query("q=a%2Bb"));  // '+' keeps its meaning
  EXPECT_EQ(canonical_query("labels[]=x"), "labels%5B%5D=x");      // not allowed literally: escaped
  EXPECT_EQ(canonical_query("labels[]=x"), canonical_query("labels%5b%5d=x"));
  EXPECT_EQ(canonical_query("q=100%"), "q=100%25");                // a stray '%'
  EXPECT_EQ(canonical_query("q=a b"), "q=a%20b");
  EXPECT_EQ(canonical_query("q=caf\xc3\xa9"), "q=caf%C3%A9");
  EXPECT_EQ(canonical_query("since=2024-01-01T00:00:00Z"), "since=2024-01-01T00:00:00Z");
}

TEST(CacheKeyPath, NormalisedLikeTheQuery) {
  EXPECT_EQ(canonical_path("/repos/%6Fcto-org/r"), "/repos/octo-org/r");
  EXPECT_EQ(canonical_path("/repos/o/r/contents/a%2fb"), "/repos/o/r/contents/a%2Fb");
  EXPECT_EQ(canonical_path(""), "/");
  EXPECT_NE(key("/repos/o/r/contents/a%2Fb", ""), key("/repos/o/r/contents/a/b", ""));
}

TEST(CacheKeyAccept, Variants) {
  EXPECT_EQ(canonical_accept(" Application/VND.GitHub+JSON "), "application/vnd.github+json");
  EXPECT_EQ(canonical_accept("application/json; Charset=utf-8"), "application/json;charset=utf-8");
  EXPECT_EQ(canonical_accept("application/vnd.github.raw , application/json;q=0.5"),
            "application/vnd.github.raw,application/json;q=0.5");
  EXPECT_EQ(canonical_accept("text/plain; x=\"A, B\""), "text/plain;x=\"A, B\"");  // quoted values kept
  EXPECT_EQ(canonical_accept(""), "*/*");
  EXPECT_EQ(canonical_accept("  "), "*/*");
  EXPECT_EQ(key("/r", "", ""), key("/r", "", "*/*"));
  EXPECT_NE(key("/r", "", "application/vnd.github.raw"), key("/r", "", "application/vnd.github+json"));
  EXPECT_NE(key("/r", "", "a/b, c/d"), key("/r", "", "c/d, a/b"));  // preference order matters
  // Spaces inside quoted values are escaped: a key never has spaces inside a part.
  EXPECT_EQ(key("/r", "", "text/plain; x=\"A B\""),
            "gh1 GET identity /r accept=text/plain;x=\"A%20B\" api=2022-11-28");
}

TEST(CacheKey, VersionAndEncodingAreParts) {
  EXPECT_NE(key("/r", "", "*/*", "2022-11-28"), key("/r", "", "*/*", ""));
  EXPECT_EQ(key("/r", "", "*/*", " 2022-11-28 "), key("/r", "", "*/*", "2022-11-28"));
  EXPECT_NE(key("/r", "", "*/*", "", body_encoding::gzip), key("/r", "", "*/*", "", body_encoding::identity));
}

bool hashed_form(const std::string& k) {
  if (k.size() < 66 || k.substr(k.size() - 66, 2) != " #") return false;
  return k.find_first_not_of("0123456789abcdef", k.size() - 64) == std::string::npos;
}

TEST(CacheKey, LongKeysAreHashedWithAReadablePrefix) {
  const std::string long_path = "/repos/o/r/contents/" + std::string(400, 'x');
  const auto a = key(long_path, "");
  const auto b = key(long_path + "y", "");
  EXPECT_LE(a.size(), max_cache_key_bytes);
  EXPECT_TRUE(hashed_form(a)) << a;
  EXPECT_EQ(a.substr(0, 40), "gh1 GET identity /repos/o/r/contents/xxx");
  EXPECT_NE(a, b);
  EXPECT_FALSE(hashed_form(key("/repos/o/r", "page=2")));
}

TEST(CacheKey, CredentialLikeParametersNeverReadable) {
  const auto a = key("/user", "page=1&access_token=SECRET1");
  const auto b = key("/user", "page=1&access_token=SECRET2");
  EXPECT_EQ(a.find("SECRET"), std::string::npos);
  EXPECT_EQ(a.find("page"), std::string::npos);
  EXPECT_TRUE(hashed_form(a)) << a;
  EXPECT_EQ(a.substr(0, a.size() - 66), "gh1 GET identity /user");
  EXPECT_NE(a, b);
  EXPECT_EQ(key("/u", "Client_Secret=s").find("=s"), std::string::npos);
  EXPECT_EQ(key("/u", "%74oken=s").find("=s"), std::string::npos);  // decoded before the check
}

}  // namespace
}  // namespace github_proxy::cache
