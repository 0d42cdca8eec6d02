#include "github_proxy/cache/etag.h"

#include <gtest/gtest.h>

#include "cache_test_support.h"
#include "fake_repo_body.h"

namespace github_proxy::cache {
namespace {

using test::etag_abc;
using test::etag_xyz;
using test::fake_repo_1_body;

constexpr std::string_view private_vary =
    "Accept, Authorization, Cookie, X-GitHub-OTP, Accept-Encoding, Accept, X-Requested-With";
constexpr std::string_view public_vary = "Accept, Accept-Encoding, Accept, X-Requested-With";

// Vectors verified against the fake GitHub (see fake_repo_body.h): the ETag
// it sent for each request, over the same body.
TEST(CacheEtag, MatchesTheFakeForEachToken) {
  ASSERT_EQ(fake_repo_1_body.size(), 6704u);
  EXPECT_EQ(derive_etag("*/*", "token abc", "", private_vary, fake_repo_1_body), etag_abc);
  EXPECT_EQ(derive_etag("*/*", "token xyz", "", private_vary, fake_repo_1_body), etag_xyz);
}

TEST(CacheEtag, MatchesTheFakeWithACookie) {
  EXPECT_EQ(derive_etag("*/*", "token abc", "c=1", private_vary, fake_repo_1_body),
            "\"9b2f5a77acfdbcfcba5fd50ae93a4ff3cd21c8f949530775b230d9c2a6858617\"");
}

TEST(CacheEtag, AuthorizationOnlyCountsWhenVaryListsIt) {
  // The fake's anonymous answer (public Vary) for this Accept.
  const std::string anonymous = "\"bfd11e0f55834f52bf7c2e0e48a7d5ceffb5137f495257188379ab926dda63f9\"";
  EXPECT_EQ(derive_etag("application/vnd.github+json", "", "", public_vary, fake_repo_1_body), anonymous);
  EXPECT_EQ(derive_etag("application/vnd.github+json", "token abc", "c=1", public_vary, fake_repo_1_body),
            anonymous);
}

TEST(CacheEtag, NoInputsIsTheBodyHash) {
  EXPECT_EQ(derive_etag("", "", "", private_vary, fake_repo_1_body),
            "\"97c59cb3985de95392561b3197ec971dc679dfd2f61a3c1250af35a174d2705e\"");
  EXPECT_EQ(derive_etag("*/*", "token abc", "", "", fake_repo_1_body),
            derive_etag("", "", "", "", fake_repo_1_body));
  // sha256("[]"), the empty list BE speculates with (docs/github-api.md §8).
  EXPECT_EQ(derive_etag("", "", "", "", "[]"),
            "\"4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945\"");
}

TEST(CacheEtag, VaryLinesMergeAndIgnoreCase) {
  const auto fields = test::fake_repo_1_ok();
  const auto vary = parse_vary(fields);
  EXPECT_TRUE(vary.accept);
  EXPECT_TRUE(vary.authorization);
  EXPECT_TRUE(vary.cookie);
  EXPECT_FALSE(vary.any);
  EXPECT_EQ(derive_etag("*/*", "token xyz", "", vary, fake_repo_1_body), etag_xyz);

  EXPECT_EQ(parse_vary("accept-encoding, AUTHORIZATION"), (vary_inputs{false, true, false, false}));
  EXPECT_EQ(parse_vary("*"), (vary_inputs{false, false, false, true}));
  EXPECT_EQ(parse_vary(""), vary_inputs{});
  EXPECT_EQ(derive_etag("*/*", "token abc", "", "*", fake_repo_1_body), etag_abc);
}

TEST(CacheEtag, WeakComparisonIgnoresWeakness) {
  EXPECT_TRUE(etags_match_weak("W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(etags_match_weak("\"abc\"", "W/\"abc\""));
  EXPECT_TRUE(etags_match_weak("W/\"abc\"", "W/\"abc\""));
  EXPECT_FALSE(etags_match_weak("\"abc\"", "\"abd\""));
  EXPECT_FALSE(etags_match_weak("\"\"", "\"\""));
  EXPECT_FALSE(etags_match_weak("", ""));
  EXPECT_EQ(etag_opaque(" W/\"abc\" "), "abc");
  EXPECT_TRUE(etag_is_weak("W/\"abc\""));
  EXPECT_FALSE(etag_is_weak("\"abc\""));
}

TEST(CacheEtag, IfNoneMatchListsAndStar) {
  EXPECT_TRUE(if_none_match_matches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(if_none_match_matches("W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(if_none_match_matches("\"x\", W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(if_none_match_matches("\"x\",\"abc\"", "W/\"abc\""));
  EXPECT_TRUE(if_none_match_matches("*", "\"abc\""));
  EXPECT_FALSE(if_none_match_matches("*", ""));
  EXPECT_FALSE(if_none_match_matches("\"x\", \"y\"", "\"abc\""));
  EXPECT_FALSE(if_none_match_matches("", "\"abc\""));
  // A comma inside a quoted tag does not split it.
  EXPECT_TRUE(if_none_match_matches("\"a,b\"", "\"a,b\""));
  EXPECT_FALSE(if_none_match_matches("\"a,b\"", "\"a\""));
  // Unquoted tags are tolerated, as the fake does.
  EXPECT_TRUE(if_none_match_matches("abc, def", "\"def\""));
  EXPECT_TRUE(if_none_match_matches(std::string(etag_xyz), etag_xyz));
}

}  // namespace
}  // namespace github_proxy::cache
