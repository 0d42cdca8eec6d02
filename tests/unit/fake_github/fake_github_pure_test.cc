// Unit tests of the fake GitHub's pure parts (pagination, ETags and
// conditionals, rate-limit windows) and of the test PKI helper.
//
// fake_github is a standalone program that does not go into ghp_core, so the
// sources under test are compiled into this translation unit directly.
#include "fake_github/body_codec.cc"
#include "fake_github/conditional.cc"
#include "fake_github/pagination.cc"
#include "fake_github/rate_limits.cc"
#include "fake_github/time_format.cc"
#include "support/test_pki.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <boost/url/parse.hpp>
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

namespace fake_github {
namespace {

boost::urls::url_view url(std::string_view target) { return *boost::urls::parse_origin_form(target); }

TEST(FakeGithubPagination, FirstPageHasNextAndLast) {
  auto u = url("/repos/octo-org/repo-0/issues?per_page=3");
  page_window w = paginate(u, 10);
  EXPECT_EQ(w.per_page, 3);
  EXPECT_EQ(w.last_page, 4);
  EXPECT_EQ(w.count, 3);
  EXPECT_EQ(link_header("https://h/repositories/1000/issues", u, w),
            "<https://h/repositories/1000/issues?per_page=3&page=2>; rel=\"next\", "
            "<https://h/repositories/1000/issues?per_page=3&page=4>; rel=\"last\"");
}

TEST(FakeGithubPagination, MiddlePageHasAllFourInGithubOrderAndKeepsParameters) {
  auto u = url("/x?state=open&page=2&per_page=3&labels=a%2Cb");
  page_window w = paginate(u, 10);
  EXPECT_EQ(link_header("B", u, w),
            "<B?state=open&per_page=3&labels=a%2Cb&page=1>; rel=\"prev\", "
            "<B?state=open&per_page=3&labels=a%2Cb&page=3>; rel=\"next\", "
            "<B?state=open&per_page=3&labels=a%2Cb&page=4>; rel=\"last\", "
            "<B?state=open&per_page=3&labels=a%2Cb&page=1>; rel=\"first\"");
}

TEST(FakeGithubPagination, LastPageAndSinglePage) {
  auto last = url("/x?page=9");
  page_window w = paginate(last, 250);
  EXPECT_EQ(w.count, 10);
  EXPECT_EQ(link_header("B", last, w), "<B?page=8>; rel=\"prev\", <B?page=1>; rel=\"first\"");
  auto single = url("/x");
  EXPECT_EQ(link_header("B", single, paginate(single, 5)), "");
}

TEST(FakeGithubPagination, PerPageIsCappedAndInvalidValuesFallBack) {
  EXPECT_EQ(paginate(url("/x?per_page=500"), 250).per_page, 100);
  EXPECT_EQ(paginate(url("/x?per_page=abc&page=-2"), 250).per_page, 30);
  EXPECT_EQ(paginate(url("/x?per_page=abc&page=-2"), 250).page, 1);
  EXPECT_EQ(paginate(url("/x?page=99"), 250).count, 0);
}

TEST(FakeGithubConditional, EtagHashesVariedHeadersThenBody) {
  // docs/github-api.md §8: sha256("<Accept>:" "<Authorization>:" body).
  etag_inputs in{"*/*", "token abc", "", true};
  EXPECT_EQ(compute_etag(in, "{}"), sha256_hex("*/*:token abc:{}"));
  in.vary_on_authorization = false;  // public responses vary on Accept only
  EXPECT_EQ(compute_etag(in, "{}"), sha256_hex("*/*:{}"));
  EXPECT_EQ(compute_etag(etag_inputs{}, "[]"), sha256_hex("[]"));
}

TEST(FakeGithubConditional, IfNoneMatchIsWeakAndListAware) {
  EXPECT_TRUE(if_none_match_matches("\"abc\"", "abc"));
  EXPECT_TRUE(if_none_match_matches("W/\"abc\"", "abc"));
  EXPECT_TRUE(if_none_match_matches("\"x\", W/\"abc\"", "abc"));
  EXPECT_TRUE(if_none_match_matches("*", "abc"));
  EXPECT_FALSE(if_none_match_matches("\"abcd\"", "abc"));
  EXPECT_FALSE(if_none_match_matches("*", ""));
}

TEST(FakeGithubConditional, IfNoneMatchDecidesAloneOtherwiseIfModifiedSince) {
  const std::int64_t lm = *parse_http_date("Wed, 01 May 2024 12:01:00 GMT");
  EXPECT_EQ(evaluate_conditional("", "Wed, 01 May 2024 12:01:00 GMT", "e", lm), conditional_verdict::not_modified);
  EXPECT_EQ(evaluate_conditional("", "Wed, 01 May 2024 12:00:59 GMT", "e", lm), conditional_verdict::send_full);
  EXPECT_EQ(evaluate_conditional("\"other\"", "Wed, 01 May 2024 12:01:00 GMT", "e", lm),
            conditional_verdict::send_full);
  EXPECT_EQ(evaluate_conditional("", "garbage", "e", lm), conditional_verdict::send_full);
  EXPECT_EQ(http_date(lm), "Wed, 01 May 2024 12:01:00 GMT");
}

TEST(FakeGithubRateLimits, WindowStartsAtFirstSpendAndResets) {
  rate_limits limits(default_limits());
  limits.set_default(resource::core, 2);
  EXPECT_EQ(limits.peek("t", resource::core, 1000).reset, 1000 + 3600);  // unused: now + window
  EXPECT_TRUE(limits.admit("t", resource::core, 1, true, 1010).allowed);
  EXPECT_TRUE(limits.admit("t", resource::core, 1, false, 1020).allowed);  // a free 304
  admission a = limits.admit("t", resource::core, 1, true, 1030);
  EXPECT_TRUE(a.allowed);
  EXPECT_EQ(a.snapshot.remaining, 0);
  EXPECT_EQ(a.snapshot.reset, 1010 + 3600);
  EXPECT_FALSE(limits.admit("t", resource::core, 1, true, 1040).allowed);
  EXPECT_TRUE(limits.admit("t", resource::core, 1, true, 1010 + 3600).allowed);  // new window
  EXPECT_EQ(limits.peek("anonymous", resource::core, 0).limit, 60);
}

TEST(FakeGithubRateLimits, GraphqlMutationsNeedFivePointsAndBucketsAreInferred) {
  rate_limits limits(default_limits());
  limits.set_bucket("t", resource::graphql, {6, std::nullopt, std::nullopt}, 0);
  EXPECT_TRUE(limits.admit("t", resource::graphql, 5, true, 0).allowed);
  EXPECT_FALSE(limits.admit("t", resource::graphql, 5, true, 0).allowed);
  EXPECT_TRUE(limits.admit("t", resource::graphql, 1, true, 0).allowed);
  EXPECT_EQ(classify_request("GET", "/search/code", false), resource::code_search);
  EXPECT_EQ(classify_request("GET", "/search/issues", false), resource::search);
  EXPECT_EQ(classify_request("POST", "/graphql", true), resource::graphql);
  EXPECT_EQ(classify_request("GET", "/repos/o/r", false), resource::core);
  EXPECT_EQ(window_seconds(resource::search), 60);
}

TEST(FakeGithubCodec, GzipRoundTripsAndPrettyPrintKeepsData) {
  std::string body(5000, 'x');
  std::string gz = gzip_compress(body);
  ASSERT_GE(gz.size(), 18u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  EXPECT_EQ(*pretty_print_json(R"({"a":[1,{"b":null}],"c":{}})"),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {}\n}\n");
  EXPECT_EQ(git_blob_sha(""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");  // git's empty blob
  EXPECT_EQ(*base64_decode(base64_encode("ab")), "ab");
}

}  // namespace
}  // namespace fake_github

namespace {

X509* read_certificate(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  X509* cert = f ? PEM_read_X509(f, nullptr, nullptr, nullptr) : nullptr;
  if (f) std::fclose(f);
  return cert;
}

TEST(TestPki, ServerCertificateVerifiesAgainstCaForLocalhostAndLoopback) {
  std::string dir = (std::filesystem::temp_directory_path() / "ghp-pki-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  ghp_test::test_pki pki = ghp_test::generate_test_pki(dir);
  X509* ca = read_certificate(pki.ca_cert);
  X509* server = read_certificate(pki.server_cert);
  ASSERT_NE(ca, nullptr);
  ASSERT_NE(server, nullptr);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, server, nullptr);
  X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), "localhost", 0);
  EXPECT_EQ(X509_verify_cert(ctx), 1) << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  EXPECT_EQ(X509_check_ip_asc(server, "127.0.0.1", 0), 1);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  X509_free(server);
  X509_free(ca);

  ghp_test::rsa_key_files rsa = ghp_test::generate_rsa_key(dir, "app");
  std::ifstream in(rsa.private_key);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_TRUE(text.str().starts_with("-----BEGIN RSA PRIVATE KEY-----"));
  EXPECT_TRUE(std::filesystem::exists(rsa.public_key));
  std::filesystem::remove_all(dir);
}

}  // namespace
