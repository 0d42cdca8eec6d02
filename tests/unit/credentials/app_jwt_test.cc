#include "github_proxy/credentials/app_jwt.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "github_proxy/credentials/errors.h"
#include "unit/credentials/rsa_test_keys.h"

namespace github_proxy::credentials {
namespace {

using std::chrono::seconds;
using testing::generate_rsa_key;
using testing::rsa_key_pems;

const time_point t0 = from_epoch_seconds(1'700'000'000);

const rsa_key_pems& test_key() {
  static const rsa_key_pems key = generate_rsa_key();
  return key;
}

boost::json::object decode_json(const std::string& text) {
  const auto value = boost::json::parse(text);
  return value.as_object();
}

TEST(AppJwt, SignsRs256WithNumericAppIdVerifiedByOpenSsl) {
  auto signer = app_jwt_signer::from_pem({"123456", true}, test_key().private_pkcs1);
  ASSERT_TRUE(signer) << signer.error().message();
  const auto jwt = signer->sign(t0);
  ASSERT_TRUE(jwt);
  const auto parts = testing::split_jws(*jwt);
  ASSERT_TRUE(parts);
  EXPECT_TRUE(testing::verify_rs256(*parts, test_key().public_spki));

  const auto header = decode_json(parts->header_json);
  EXPECT_EQ(header.at("alg").as_string(), "RS256");
  if (header.contains("typ")) {
    EXPECT_EQ(header.at("typ").as_string(), "JWT");
  }

  const auto claims = decode_json(parts->claims_json);
  EXPECT_EQ(claims.size(), 3u);
  EXPECT_EQ(claims.at("iat").as_int64(), to_epoch_seconds(t0) - 60);
  EXPECT_EQ(claims.at("exp").as_int64(), to_epoch_seconds(t0) + 540);
  ASSERT_TRUE(claims.at("iss").is_int64());  // the App ID is a JSON integer
  EXPECT_EQ(claims.at("iss").as_int64(), 123456);
  // GitHub refuses exp more than 10 minutes ahead of its clock.
  EXPECT_LE(claims.at("exp").as_int64() - to_epoch_seconds(t0), 600);
}

TEST(AppJwt, ClientIdIsAStringIssuer) {
  auto signer = app_jwt_signer::from_pem({"Iv1.0123456789abcdef", false}, test_key().private_pkcs8);
  ASSERT_TRUE(signer);
  const auto parts = testing::split_jws(*signer->sign(t0));
  ASSERT_TRUE(parts);
  EXPECT_TRUE(testing::verify_rs256(*parts, test_key().public_spki));
  const auto claims = decode_json(parts->claims_json);
  ASSERT_TRUE(claims.at("iss").is_string());
  EXPECT_EQ(claims.at("iss").as_string(), "Iv1.0123456789abcdef");
}

TEST(AppJwt, ASignatureFromAnotherKeyDoesNotVerify) {
  auto signer = app_jwt_signer::from_pem({"1", true}, test_key().private_pkcs8);
  ASSERT_TRUE(signer);
  auto parts = testing::split_jws(*signer->sign(t0));
  ASSERT_TRUE(parts);
  const auto other = generate_rsa_key();
  EXPECT_FALSE(testing::verify_rs256(*parts, other.public_spki));
  // Tampered claims do not verify either.
  parts->signing_input.back() ^= 1;
  EXPECT_FALSE(testing::verify_rs256(*parts, test_key().public_spki));
}

TEST(AppJwt, SkewCorrectedTimeMovesTheClaims) {
  clock_skew skew;
  // GitHub's Date is 125 s ahead of our clock.
  ASSERT_TRUE(skew.observe("Tue, 14 Nov 2023 22:15:25 GMT", t0 - seconds(5)));
  EXPECT_EQ(to_epoch_seconds(t0), 1700000000);  // 2023-11-14T22:13:20Z
  EXPECT_EQ(skew.offset(), seconds(130));
  const auto server_now = skew.server_now(t0);
  EXPECT_EQ(server_now, t0 + seconds(130));
  auto signer = app_jwt_signer::from_pem({"42", true}, test_key().private_pkcs8);
  ASSERT_TRUE(signer);
  const auto claims = decode_json(testing::split_jws(*signer->sign(server_now))->claims_json);
  EXPECT_EQ(claims.at("iat").as_int64(), to_epoch_seconds(t0) + 130 - 60);
  EXPECT_EQ(claims.at("exp").as_int64(), to_epoch_seconds(t0) + 130 + 540);
}

TEST(AppJwt, ClockSkewIgnoresWhatIsNotAnHttpDate) {
  clock_skew skew;
  EXPECT_FALSE(skew.observe("", t0));
  EXPECT_FALSE(skew.observe("yesterday", t0));
  EXPECT_FALSE(skew.observe("Tue, 14 Nov 2023 22:15:25 GMT trailing", t0));
  EXPECT_EQ(skew.offset(), seconds(0));
  // Behind: a negative offset.
  ASSERT_TRUE(skew.observe("Tue, 14 Nov 2023 22:13:00 GMT", t0));
  EXPECT_EQ(skew.offset(), seconds(-20));
}

TEST(AppJwt, RejectsKeysThatAreNotRsaPrivateKeys) {
  const std::string bad_keys[] = {"", "not a key", test_key().public_spki, testing::generate_ec_key_pem()};
  for (const auto& pem : bad_keys) {
    const auto signer = app_jwt_signer::from_pem({"1", true}, pem);
    ASSERT_FALSE(signer);
    EXPECT_EQ(signer.error(), make_error_code(credential_error::key_invalid));
  }
}

TEST(AppJwt, FromPemChecksTheIssuer) {
  const auto not_a_number = app_jwt_signer::from_pem({"Iv1.abc", true}, test_key().private_pkcs8);
  ASSERT_FALSE(not_a_number);
  EXPECT_EQ(not_a_number.error(), make_error_code(credential_error::issuer_invalid));
  EXPECT_FALSE(app_jwt_signer::from_pem({"", false}, test_key().private_pkcs8));
}

TEST(AppJwt, IssuerFromConfig) {
  config::credential_config c;
  c.type = config::credential_type::app;
  c.app_id = "123456";
  auto issuer = issuer_of(c);
  ASSERT_TRUE(issuer);
  EXPECT_TRUE(issuer->numeric);
  EXPECT_EQ(issuer->value, "123456");
  c.app_id.clear();
  c.client_id = "Iv1.abc";
  issuer = issuer_of(c);
  ASSERT_TRUE(issuer);
  EXPECT_FALSE(issuer->numeric);
  for (const char* bad : {"12a", "-5", "0", "99999999999999999999999"}) {
    c.app_id = bad;
    const auto r = issuer_of(c);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), make_error_code(credential_error::issuer_invalid));
  }
  c.app_id.clear();
  c.client_id.clear();
  EXPECT_FALSE(issuer_of(c));
}

class AppJwtFile : public ::testing::Test {
 protected:
  // A fresh directory of its own under $TMPDIR (mkdtemp), never a predictable
  // name (issue 20); removed with the fixture.
  AppJwtFile() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ghp-appjwt-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    }
    dir_ = pattern;
  }
  ~AppJwtFile() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string write(const std::string& name, const std::string& content) {
    const auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }
  std::filesystem::path dir_;
};

TEST_F(AppJwtFile, LoadsTheKeyFileAndErrorsNameNoSecret) {
  config::credential_config c;
  c.name = "general-app";
  c.type = config::credential_type::app;
  c.app_id = "7";
  c.private_key_file = write("app.pem", test_key().private_pkcs1);
  auto signer = app_jwt_signer::load(c);
  ASSERT_TRUE(signer) << signer.error().message();
  const auto parts = testing::split_jws(*signer->sign(t0));
  ASSERT_TRUE(parts);
  EXPECT_TRUE(testing::verify_rs256(*parts, test_key().public_spki));

  c.private_key_file = (dir_ / "missing.pem").string();
  auto missing = app_jwt_signer::load(c);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), make_error_code(credential_error::key_unreadable));

  // A wrong file: the error text carries none of its content.
  const std::string secretish = "-----BEGIN RSA PRIVATE KEY-----\nTOPSECRETMATERIAL\n-----END RSA PRIVATE KEY-----\n";
  c.private_key_file = write("wrong.pem", secretish);
  auto wrong = app_jwt_signer::load(c);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error(), make_error_code(credential_error::key_invalid));
  EXPECT_EQ(wrong.error().message().find("TOPSECRET"), std::string::npos);
  EXPECT_EQ(std::string(wrong.error().category().name()), "credentials");
}

TEST(AppJwt, SignerMovesKeepTheKey) {
  auto signer = app_jwt_signer::from_pem({"9", true}, test_key().private_pkcs8);
  ASSERT_TRUE(signer);
  app_jwt_signer moved = std::move(*signer);
  const auto parts = testing::split_jws(*moved.sign(t0));
  ASSERT_TRUE(parts);
  EXPECT_TRUE(testing::verify_rs256(*parts, test_key().public_spki));
  EXPECT_FALSE(signer->sign(t0));  // the moved-from signer holds no key any more
}

}  // namespace
}  // namespace github_proxy::credentials
