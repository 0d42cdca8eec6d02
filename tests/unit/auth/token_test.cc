#include "auth/token.h"

#include <gtest/gtest.h>

#include <set>

#include "auth/digest.h"
#include "auth/registry_values.h"

namespace github_proxy::auth {
namespace {

using namespace std::chrono_literals;

TEST(TokenDigest, Sha256KnownAnswer) {
  // FIPS 180-2 test vector for "abc".
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TokenDigest, ParseHex) {
  const std::string hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  EXPECT_EQ(parse_sha256_hex(hex), sha256("abc"));
  EXPECT_EQ(parse_sha256_hex("sha256:" + hex), sha256("abc"));
  EXPECT_EQ(parse_sha256_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"),
            sha256("abc"));
  EXPECT_FALSE(parse_sha256_hex(hex.substr(1)));
  EXPECT_FALSE(parse_sha256_hex(hex + "0"));
  EXPECT_FALSE(parse_sha256_hex("sha1:" + hex));
  EXPECT_FALSE(parse_sha256_hex("zz" + hex.substr(2)));
  EXPECT_FALSE(parse_sha256_hex(""));
}

TEST(TokenDigest, ConstantTimeEquality) {
  EXPECT_TRUE(digests_equal(sha256("a"), sha256("a")));
  EXPECT_FALSE(digests_equal(sha256("a"), sha256("b")));
}

TEST(TokenPresented, Schemes) {
  const auto abc = sha256("abc");
  EXPECT_EQ(presented_token_digest("token abc"), abc);
  EXPECT_EQ(presented_token_digest("TOKEN abc"), abc);
  EXPECT_EQ(presented_token_digest("Bearer abc"), abc);
  EXPECT_EQ(presented_token_digest("bEaReR abc"), abc);
  EXPECT_EQ(presented_token_digest(" \ttoken \t abc \t"), abc);
  EXPECT_FALSE(presented_token_digest(""));
  EXPECT_FALSE(presented_token_digest("abc"));
  EXPECT_FALSE(presented_token_digest("token"));
  EXPECT_FALSE(presented_token_digest("token   "));
  EXPECT_FALSE(presented_token_digest("token a b"));
  EXPECT_FALSE(presented_token_digest("Digest abc"));
  EXPECT_FALSE(presented_token_digest("tokenabc"));
}

TEST(TokenPresented, Basic) {
  const auto abc = sha256("abc");
  EXPECT_EQ(presented_token_digest("Basic dXNlcjphYmM="), abc);  // user:abc
  EXPECT_EQ(presented_token_digest("basic dXNlcjphYmM="), abc);
  EXPECT_EQ(presented_token_digest("Basic YWJjOg=="), abc);                  // abc:
  EXPECT_EQ(presented_token_digest("Basic YWJjOngtb2F1dGgtYmFzaWM="), abc);  // abc:x-oauth-basic
  EXPECT_EQ(presented_token_digest("Basic OmFiYw=="), abc);                  // :abc
  EXPECT_EQ(presented_token_digest("Basic dTphOmI="), sha256("a:b"));        // u:a:b
  EXPECT_FALSE(presented_token_digest("Basic YWJj"));                        // abc, no colon
  EXPECT_FALSE(presented_token_digest("Basic Og=="));                        // ":"
  EXPECT_FALSE(presented_token_digest("Basic dXNlcjphYmM"));                 // unpadded
  EXPECT_FALSE(presented_token_digest("Basic dXNlcjph YmM="));
  EXPECT_FALSE(presented_token_digest("Basic dXNl=jphYmM="));
  EXPECT_FALSE(presented_token_digest("Basic ===="));
  EXPECT_FALSE(presented_token_digest("Basic dXNlcjphYmM=!"));
}

TEST(TokenGenerate, PrefixLengthAlphabetAndUniqueness) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const std::string token = generate_token();
    ASSERT_EQ(token.size(), 5u + 43u) << token;
    EXPECT_EQ(token.substr(0, 5), "ghpx_");
    for (char c : token.substr(5)) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << token;
    }
    EXPECT_TRUE(seen.insert(token).second);
  }
}

TEST(TokenValues, ClientNames) {
  EXPECT_TRUE(is_valid_client_name("release-bot"));
  EXPECT_TRUE(is_valid_client_name("a_1"));
  EXPECT_FALSE(is_valid_client_name(""));
  EXPECT_FALSE(is_valid_client_name("Release"));
  EXPECT_FALSE(is_valid_client_name("a b"));
  EXPECT_FALSE(is_valid_client_name("a.b"));
  EXPECT_FALSE(is_valid_client_name("é"));
}

TEST(TokenValues, Budgets) {
  const auto hourly = parse_budget("2000/h");
  ASSERT_TRUE(hourly);
  EXPECT_EQ(hourly->credits, 2000u);
  EXPECT_EQ(hourly->window, 1h);
  EXPECT_EQ(parse_budget("100/m")->window, 1min);
  EXPECT_EQ(parse_budget("50000/d")->window, 24h);
  EXPECT_EQ(parse_budget("5/s")->window, 1s);
  for (const auto bad : {"", "2000", "/h", "0/h", "-1/h", "2000/w", "2000/hh", "2000 /h", "1e3/h",
                         "99999999999999999999999/h", "2000/"}) {
    EXPECT_FALSE(parse_budget(bad)) << bad;
  }
}

TEST(TokenValues, Expiry) {
  using std::chrono::sys_days;
  using std::chrono::system_clock;
  const auto day = sys_days(std::chrono::year(2027) / 6 / 30);
  EXPECT_EQ(parse_expiry("2027-06-30"), system_clock::time_point(day + 24h));
  EXPECT_EQ(parse_expiry("2027-06-30T12:00:00Z"), system_clock::time_point(day + 12h));
  EXPECT_EQ(parse_expiry("2027-06-30t12:00:00z"), system_clock::time_point(day + 12h));
  EXPECT_EQ(parse_expiry("2027-06-30T12:00:00+02:00"), system_clock::time_point(day + 10h));
  EXPECT_EQ(parse_expiry("2027-06-30T12:00:00-01:30"), system_clock::time_point(day + 13h + 30min));
  EXPECT_EQ(parse_expiry("2027-06-30T12:00:00.250Z"), system_clock::time_point(day + 12h + 250ms));
  EXPECT_EQ(parse_expiry("2028-02-29"),
            system_clock::time_point(sys_days(std::chrono::year(2028) / 3 / 1)));
  for (const auto bad :
       {"", "2027-6-30", "2027-02-30", "2027-13-01", "30/06/2027", "2027-06-30T12:00:00",
        "2027-06-30T25:00:00Z", "2027-06-30T12:00Z", "2027-06-30T12:00:00+0200",
        "2027-06-30T12:00:00.Z", "2027-06-30x", "2027-06-30T12:00:00Zjunk", "tomorrow"}) {
    EXPECT_FALSE(parse_expiry(bad)) << bad;
  }
}

}  // namespace
}  // namespace github_proxy::auth
