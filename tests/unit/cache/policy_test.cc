#include "github_proxy/cache/policy.h"

#include <gtest/gtest.h>

#include "cache_test_support.h"

namespace github_proxy::cache {
namespace {

using test::make_fields;
namespace http = boost::beast::http;

request_verdict verdict(std::string_view method, std::string_view path, const http::fields& fields = {}) {
  return request_cacheability(method, path, fields);
}

TEST(CachePolicyRequest, GetIsCachedAndStored) {
  const auto v = verdict("GET", "/repos/octo-org/repo-1");
  EXPECT_TRUE(v.cacheable);
  EXPECT_TRUE(v.may_store);
  EXPECT_EQ(v.reason, bypass_reason::none);
  EXPECT_EQ(v.method, method_class::get);
  EXPECT_TRUE(verdict("GET", "/repos/o/r/issues?page=2").may_store);
  EXPECT_TRUE(verdict("GET", "/searchx").may_store);  // a segment, not a string prefix
  EXPECT_TRUE(verdict("GET", "/repos/o/search").may_store);
}

TEST(CachePolicyRequest, HeadIsAnsweredFromTheGetEntryButNeverStores) {
  const auto v = verdict("HEAD", "/repos/o/r");
  EXPECT_TRUE(v.cacheable);
  EXPECT_FALSE(v.may_store);
  EXPECT_EQ(v.reason, bypass_reason::head);
  EXPECT_EQ(v.method, method_class::get);
}

TEST(CachePolicyRequest, OtherMethodsBypass) {
  for (auto method : {"POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get"}) {
    const auto v = verdict(method, "/repos/o/r");
    EXPECT_FALSE(v.cacheable) << method;
    EXPECT_FALSE(v.may_store) << method;
    EXPECT_EQ(v.reason, bypass_reason::method) << method;
  }
}

TEST(CachePolicyRequest, ExcludedPaths) {
  const std::pair<std::string_view, bypass_reason> rows[] = {
      {"/graphql", bypass_reason::graphql},
      {"/GraphQL", bypass_reason::graphql},
      {"/graphql/x", bypass_reason::graphql},
      {"/rate_limit", bypass_reason::rate_limit},
      {"/rate_limit?x=1", bypass_reason::rate_limit},
      {"/search", bypass_reason::search},
      {"/search/issues?q=is:open", bypass_reason::search},
      {"/Search/code", bypass_reason::search},
      {"/%73earch/code", bypass_reason::search},
  };
  for (const auto& [path, reason] : rows) {
    const auto v = verdict("GET", path);
    EXPECT_FALSE(v.cacheable) << path;
    EXPECT_FALSE(v.may_store) << path;
    EXPECT_EQ(v.reason, reason) << path;
  }
}

TEST(CachePolicyRequest, HeadersThatBypass) {
  EXPECT_EQ(verdict("GET", "/r", make_fields({{"Range", "bytes=0-10"}})).reason, bypass_reason::range);
  for (auto name : {"Cookie", "X-GitHub-OTP", "x-requested-with"}) {
    const auto v = verdict("GET", "/r", make_fields({{name, "1"}}));
    EXPECT_FALSE(v.cacheable) << name;
    EXPECT_EQ(v.reason, bypass_reason::request_varies) << name;
  }
}

TEST(CachePolicyRequest, NoStoreLooksUpButNeverStores) {
  for (auto value : {"no-store", "max-age=0, No-Store", "no-store=\"x\""}) {
    const auto v = verdict("GET", "/r", make_fields({{"Cache-Control", value}}));
    EXPECT_TRUE(v.cacheable) << value;
    EXPECT_FALSE(v.may_store) << value;
    EXPECT_EQ(v.reason, bypass_reason::request_no_store) << value;
  }
  // no-cache / max-age=0 ask for revalidation, which always happens.
  EXPECT_TRUE(verdict("GET", "/r", make_fields({{"Cache-Control", "no-cache, max-age=0"}})).may_store);
  EXPECT_TRUE(verdict("GET", "/r", make_fields({{"Cache-Control", "x-no-store"}})).may_store);
}

TEST(CachePolicyRequest, ReasonNames) {
  EXPECT_EQ(to_string(bypass_reason::none), "none");
  EXPECT_EQ(to_string(bypass_reason::search), "search");
  EXPECT_EQ(to_string(bypass_reason::request_no_store), "request_no_store");
}

constexpr std::size_t max_object = 8 * 1024 * 1024;

TEST(CachePolicyResponse, StorableWithAValidator) {
  EXPECT_TRUE(response_storable(200, test::fake_repo_1_ok(), 6704, max_object));
  EXPECT_TRUE(response_storable(200, make_fields({{"ETag", "W/\"a\""}}), 10, max_object));
  EXPECT_TRUE(response_storable(200, make_fields({{"Last-Modified", "Wed, 01 May 2024 12:01:00 GMT"}}), 10,
                                max_object));
  EXPECT_TRUE(
      response_storable(200, make_fields({{"ETag", "\"a\""}, {"Content-Encoding", "gzip"}}), 10, max_object));
  EXPECT_TRUE(response_storable(
      200, make_fields({{"ETag", "\"a\""}, {"Cache-Control", "private, max-age=60"}}), 10, max_object));
  EXPECT_FALSE(response_storable(200, make_fields({{"Cache-Control", "no-cache"}}), 10, max_object));
  EXPECT_FALSE(response_storable(200, make_fields({{"ETag", " "}}), 10, max_object));
}

TEST(CachePolicyResponse, NeverErrorsRedirectsOrNotModified) {
  const auto fields = make_fields({{"ETag", "\"a\""}, {"Last-Modified", "Wed, 01 May 2024 12:01:00 GMT"}});
  for (unsigned status : {201u, 203u, 204u, 206u, 301u, 302u, 304u, 307u, 400u, 401u, 403u, 404u, 422u, 429u,
                          500u, 502u, 503u}) {
    EXPECT_FALSE(response_storable(status, fields, 10, max_object)) << status;
  }
}

TEST(CachePolicyResponse, NoStoreCookiesVaryStarAndEncodings) {
  EXPECT_FALSE(response_storable(
      200, make_fields({{"ETag", "\"a\""}, {"Cache-Control", "private, No-Store"}}), 1, max_object));
  EXPECT_FALSE(
      response_storable(200, make_fields({{"ETag", "\"a\""}, {"Set-Cookie", "s=1"}}), 1, max_object));
  EXPECT_FALSE(
      response_storable(200, make_fields({{"ETag", "\"a\""}, {"Vary", "Accept, *"}}), 1, max_object));
  EXPECT_FALSE(
      response_storable(200, make_fields({{"ETag", "\"a\""}, {"Content-Encoding", "br"}}), 1, max_object));
  EXPECT_FALSE(response_storable(200, make_fields({{"ETag", "\"a\""}, {"Content-Encoding", "gzip, gzip"}}), 1,
                                 max_object));
}

// A Vary name the key does not cover would hand one client's variant to
// another; GitHub's own Vary lines are all covered.
TEST(CachePolicyResponse, VaryOnAHeaderTheKeyDoesNotCoverIsNotStored) {
  EXPECT_FALSE(response_storable(200, make_fields({{"ETag", "\"a\""}, {"Vary", "Accept, User-Agent"}}), 1,
                                 max_object));
  EXPECT_FALSE(response_storable(200, make_fields({{"ETag", "\"a\""}, {"Vary", "Accept"}, {"Vary", "X-Client"}}), 1,
                                 max_object));
  EXPECT_TRUE(response_storable(200,
                                make_fields({{"ETag", "\"a\""},
                                             {"Vary", "Accept, Authorization, Cookie, X-GitHub-OTP"},
                                             {"Vary", "Accept-Encoding, Accept, X-Requested-With"}}),
                                1, max_object));
}

TEST(CachePolicyResponse, SizeLimit) {
  const auto fields = make_fields({{"ETag", "\"a\""}});
  EXPECT_TRUE(response_storable(200, fields, max_object, max_object));
  EXPECT_FALSE(response_storable(200, fields, max_object + 1, max_object));
  EXPECT_TRUE(response_storable(200, fields, 0, max_object));
  // More fields than an entry holds (Beast itself caps a value below 64 KiB).
  auto many = make_fields({{"ETag", "\"a\""}});
  for (std::size_t i = 1; i < max_entry_headers; ++i) many.insert("X-Field", "1");
  EXPECT_TRUE(response_storable(200, many, 1, max_object));
  many.insert("X-Field", "1");
  EXPECT_FALSE(response_storable(200, many, 1, max_object));
}

TEST(CachePolicyEntry, MadeFromAResponse) {
  auto fields = test::fake_repo_1_ok();
  fields.insert("Connection", "close, X-Hop");
  fields.insert("X-Hop", "1");
  fields.insert("Keep-Alive", "timeout=5");
  fields.insert("Transfer-Encoding", "chunked");
  fields.insert("Content-Encoding", "gzip");
  const auto now = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
  const entry e = make_entry(200, fields, "body", "general-app", "Bearer ghs_1", "*/*", now);

  EXPECT_EQ(e.status, 200u);
  EXPECT_EQ(e.headers.size(), 22u);  // the fake's 21 + Content-Encoding; no hop-by-hop field
  EXPECT_EQ(e.headers.front(), (std::pair<std::string, std::string>{"Server", "GitHub.com"}));
  EXPECT_EQ(e.headers.back().first, "Content-Encoding");
  EXPECT_EQ(e.encoding, body_encoding::gzip);
  EXPECT_EQ(e.body, "body");
  EXPECT_EQ(e.etag, test::etag_abc);
  EXPECT_EQ(e.last_modified, "Wed, 01 May 2024 12:01:00 GMT");
  EXPECT_EQ(e.credential, "general-app");
  EXPECT_EQ(e.authorization_fingerprint, authorization_fingerprint("Bearer ghs_1"));
  EXPECT_EQ(e.accept, "*/*");
  EXPECT_TRUE(e.vary_accept);
  EXPECT_TRUE(e.vary_authorization);
  EXPECT_EQ(e.stored_at, now);
  for (const auto& [name, value] : e.headers) {
    EXPECT_NE(name, "Connection");
    EXPECT_NE(name, "X-Hop");
    EXPECT_NE(name, "Keep-Alive");
    EXPECT_NE(name, "Transfer-Encoding");
  }

  const entry anonymous = make_entry(
      200, make_fields({{"Vary", "Accept, Accept-Encoding"}, {"ETag", "\"a\""}}), "", "bot", "token t", "", now);
  EXPECT_TRUE(anonymous.vary_accept);
  EXPECT_FALSE(anonymous.vary_authorization);
  EXPECT_EQ(anonymous.encoding, body_encoding::identity);
}

}  // namespace
}  // namespace github_proxy::cache

namespace github_proxy::cache {
namespace {

using test::gzip;

entry gzip_entry(std::string_view content_type, std::string_view body) {
  entry e;
  e.headers = {{"Content-Type", std::string(content_type)}, {"Content-Encoding", "gzip"},
               {"Content-Length", "123"}, {"ETag", "W/\"abc\""}};
  e.body = gzip(body);
  e.encoding = body_encoding::gzip;
  e.etag = "W/\"abc\"";
  return e;
}

TEST(CachePolicyStore, CompressedJsonIsKeptInflatedUnderGithubsEtag) {
  const std::string json = R"({"url":"https://api.github.com/repos/o/r"})";
  auto e = gzip_entry("application/json; charset=utf-8", json);
  ASSERT_TRUE(keep_json_inflated(e, 1024));
  EXPECT_EQ(e.body, json);
  EXPECT_EQ(e.encoding, body_encoding::identity);
  EXPECT_EQ(e.etag, "W/\"abc\"");
  for (const auto& [name, value] : e.headers) {
    EXPECT_NE(name, "Content-Encoding");
    EXPECT_NE(name, "Content-Length");
  }
  auto vendor = gzip_entry("application/vnd.github+json", json);
  EXPECT_TRUE(keep_json_inflated(vendor, 1024));
}

TEST(CachePolicyStore, OtherBodiesAndOversizedOnesStayCompressed) {
  auto raw = gzip_entry("application/vnd.github.raw", "file contents");
  EXPECT_FALSE(keep_json_inflated(raw, 1024));
  EXPECT_EQ(raw.encoding, body_encoding::gzip);
  auto big = gzip_entry("application/json", std::string(4096, ' ') + "{}");
  EXPECT_FALSE(keep_json_inflated(big, 1024)) << "would exceed max_object_bytes";
  EXPECT_EQ(big.encoding, body_encoding::gzip);
  EXPECT_EQ(big.body, gzip(std::string(4096, ' ') + "{}"));
  entry identity;
  identity.headers = {{"Content-Type", "application/json"}};
  identity.body = "{}";
  EXPECT_FALSE(keep_json_inflated(identity, 1024));
}

entry with_cache_control(std::vector<std::string> lines) {
  entry e;
  for (auto& line : lines) e.headers.emplace_back("Cache-Control", std::move(line));
  e.stored_at = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  return e;
}

TEST(CachePolicyFreshness, GitHubsMaxAgeIsTheLifetime) {
  using std::chrono::seconds;
  EXPECT_EQ(fresh_lifetime(with_cache_control({"private, max-age=60, s-maxage=60"})), seconds(60));
  EXPECT_EQ(fresh_lifetime(with_cache_control({"private, max-age=86400, s-maxage=600"})), seconds(600));
  EXPECT_EQ(fresh_lifetime(with_cache_control({"max-age=0, private, must-revalidate"})), seconds(0));
  EXPECT_EQ(fresh_lifetime(with_cache_control({"no-cache"})), seconds(0));
  EXPECT_EQ(fresh_lifetime(with_cache_control({"private, max-age=60", "no-store"})), seconds(0));
  EXPECT_EQ(fresh_lifetime(with_cache_control({"max-age=abc"})), seconds(0)) << "malformed: stale";
  EXPECT_EQ(fresh_lifetime(with_cache_control({"max-age=-5"})), seconds(0));
  EXPECT_EQ(fresh_lifetime(with_cache_control({})), seconds(0)) << "nothing sent: nothing to lean on";
}

TEST(CachePolicyFreshness, ConfirmedWithinTheSmallerOfTheBoundAndGitHubsMaxAge) {
  using std::chrono::seconds;
  const auto e = with_cache_control({"private, max-age=60, s-maxage=60"});
  const auto stored = e.stored_at;
  EXPECT_TRUE(confirmed_within(e, seconds(86400), stored + seconds(59)));
  EXPECT_FALSE(confirmed_within(e, seconds(86400), stored + seconds(60))) << "never beyond GitHub's max-age";
  EXPECT_FALSE(confirmed_within(e, seconds(1), stored + seconds(1))) << "the operator's bound is smaller";
  EXPECT_FALSE(confirmed_within(e, seconds(86400), stored - seconds(1))) << "a clock moved back";
  // A later 304 seen by this process extends it from then.
  e.confirmed.note(stored + seconds(100));
  EXPECT_TRUE(confirmed_within(e, seconds(86400), stored + seconds(159)));
  EXPECT_FALSE(confirmed_within(e, seconds(86400), stored + seconds(160)));
  // The note is process-local: neither compared nor encoded.
  entry other = e;
  EXPECT_EQ(other.confirmed.last(), stored + seconds(100));
  EXPECT_TRUE(other == with_cache_control({"private, max-age=60, s-maxage=60"}));
  EXPECT_FALSE(confirmed_within(with_cache_control({"no-cache"}), seconds(86400), stored));
}

}  // namespace
}  // namespace github_proxy::cache
