// revalidation_plan, merge_not_modified and client_conditional_matches over
// the responses the fake GitHub gave for one repository and two tokens.
#include <boost/beast/core/string.hpp>
#include <gtest/gtest.h>

#include "cache_test_support.h"
#include "fake_repo_body.h"
#include "github_proxy/cache/policy.h"

namespace github_proxy::cache {
namespace {

using test::etag_abc;
using test::etag_xyz;
using test::fake_repo_1_body;
using test::make_fields;

constexpr std::string_view last_modified = "Wed, 01 May 2024 12:01:00 GMT";

// What the proxy stored after fetching the repository with credential "abc"
// (Authorization "token abc").
entry fetched_by_abc(body_encoding encoding = body_encoding::identity) {
  entry e = make_entry(200, test::fake_repo_1_ok(), std::string(fake_repo_1_body), "abc", "token abc", "*/*",
                       std::chrono::system_clock::time_point{});
  if (encoding == body_encoding::gzip) {
    e.body = test::gzip(fake_repo_1_body);
    e.encoding = body_encoding::gzip;
    e.etag = "W/" + e.etag;  // as GitHub sends it on a gzip body
  }
  return e;
}

TEST(CacheRevalidation, SameCredentialSendsTheStoredEtag) {
  const auto plan = revalidation_plan(fetched_by_abc(), "abc", "token abc");
  EXPECT_EQ(plan.if_none_match, etag_abc);
  EXPECT_EQ(plan.if_modified_since, "");
  EXPECT_FALSE(plan.derived);
  EXPECT_EQ(revalidation_plan(fetched_by_abc(body_encoding::gzip), "abc", "token abc").if_none_match,
            "W/" + std::string(etag_abc));
}

TEST(CacheRevalidation, AnotherCredentialGetsTheEtagGithubGaveIt) {
  // etag_xyz is what the fake sent to `token xyz`; it answered 304 to it.
  const auto plan = revalidation_plan(fetched_by_abc(), "xyz", "token xyz");
  EXPECT_EQ(plan.if_none_match, etag_xyz);
  EXPECT_EQ(plan.if_modified_since, last_modified);
  EXPECT_TRUE(plan.derived);
}

TEST(CacheRevalidation, ARotatedTokenOfTheSameCredentialGetsItsOwnEtag) {
  // An App installation token rotates hourly; the old token's ETag would get a 200.
  const auto plan = revalidation_plan(fetched_by_abc(), "abc", "token xyz");
  EXPECT_EQ(plan.if_none_match, etag_xyz);
  EXPECT_EQ(plan.if_modified_since, last_modified);
  EXPECT_TRUE(plan.derived);
}

TEST(CacheRevalidation, WithoutAFingerprintTheNameDecides) {
  entry e = fetched_by_abc();
  e.authorization_fingerprint.clear();
  const auto plan = revalidation_plan(e, "abc", "token xyz");
  EXPECT_EQ(plan.if_none_match, etag_abc);
  EXPECT_FALSE(plan.derived);
}

TEST(CacheRevalidation, FingerprintsTellTokensApartWithoutKeepingThem) {
  const auto a = authorization_fingerprint("token abc");
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(a, authorization_fingerprint("token abc"));
  EXPECT_NE(a, authorization_fingerprint("token abd"));
  EXPECT_EQ(authorization_fingerprint(""), "");
  EXPECT_EQ(fetched_by_abc().authorization_fingerprint, a);
}

TEST(CacheRevalidation, DerivesFromTheUncompressedBody) {
  const auto plan = revalidation_plan(fetched_by_abc(body_encoding::gzip), "xyz", "token xyz");
  EXPECT_EQ(plan.if_none_match, etag_xyz);
  EXPECT_TRUE(plan.derived);
}

TEST(CacheRevalidation, PublicResponsesDoNotDependOnTheCredential) {
  entry e = fetched_by_abc();
  e.vary_authorization = false;
  e.accept = "application/vnd.github+json";
  e.etag = "\"bfd11e0f55834f52bf7c2e0e48a7d5ceffb5137f495257188379ab926dda63f9\"";  // the fake's, anonymous
  EXPECT_EQ(revalidation_plan(e, "xyz", "token xyz").if_none_match, e.etag);
}

TEST(CacheRevalidation, NonSha256EtagsAreSentAsStored) {
  entry e = fetched_by_abc();
  e.etag = "\"c9ffb3f1f572cfd2d07ddde624b5fbdbfc748492\"";  // a contents blob SHA-1
  const auto plan = revalidation_plan(e, "xyz", "token xyz");
  EXPECT_EQ(plan.if_none_match, e.etag);
  EXPECT_FALSE(plan.derived);
  EXPECT_EQ(plan.if_modified_since, last_modified);
}

TEST(CacheRevalidation, LastModifiedAloneOrWhenDerivationFails) {
  entry e = fetched_by_abc();
  e.etag.clear();
  for (auto credential : {"abc", "xyz"}) {
    const auto plan = revalidation_plan(e, credential, "token x");
    EXPECT_EQ(plan.if_none_match, "");
    EXPECT_EQ(plan.if_modified_since, last_modified);
  }
  entry broken = fetched_by_abc(body_encoding::gzip);
  broken.body = "not gzip";
  const auto plan = revalidation_plan(broken, "xyz", "token xyz");
  EXPECT_EQ(plan.if_none_match, "");
  EXPECT_FALSE(plan.derived);
  EXPECT_EQ(plan.if_modified_since, last_modified);
  e.last_modified.clear();
  EXPECT_EQ(revalidation_plan(e, "xyz", "token xyz").if_modified_since, "");
}

std::string header(const entry& e, std::string_view name, std::size_t nth = 0) {
  for (const auto& [n, v] : e.headers)
    if (boost::beast::iequals(n, name) && nth-- == 0) return v;
  return "<absent>";
}

TEST(CacheMergeNotModified, FreshHeadersReplaceStoredOnesInPlace) {
  entry e = fetched_by_abc(body_encoding::gzip);
  e.headers.emplace_back("Content-Encoding", "gzip");
  const auto before = e.headers;
  merge_not_modified(e, test::fake_repo_1_not_modified(), "xyz", "token xyz");

  ASSERT_EQ(e.headers.size(), before.size());
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_EQ(e.headers[i].first, before[i].first) << i;
  EXPECT_EQ(header(e, "Date"), "Tue, 24 Nov 2026 00:23:03 GMT");
  EXPECT_EQ(header(e, "X-RateLimit-Remaining"), "4998");
  EXPECT_EQ(header(e, "X-RateLimit-Used"), "2");
  EXPECT_EQ(header(e, "X-RateLimit-Reset"), "1795483379");
  EXPECT_EQ(header(e, "X-GitHub-Request-Id"), "0058:FC81:0000007:912EB16:6B04D8E7");
  EXPECT_EQ(header(e, "ETag"), etag_xyz);  // the strong one from the 304
  EXPECT_EQ(header(e, "Vary", 0), "Accept, Authorization, Cookie, X-GitHub-OTP");
  EXPECT_EQ(header(e, "Vary", 1), "Accept-Encoding, Accept, X-Requested-With");
  // Kept from the entry: they describe the stored body and its credential.
  EXPECT_EQ(header(e, "Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(header(e, "Content-Length"), "6704");
  EXPECT_EQ(header(e, "Content-Encoding"), "gzip");
  EXPECT_EQ(header(e, "X-OAuth-Scopes"), "gist, read:org, repo, workflow");
  EXPECT_EQ(header(e, "X-GitHub-Media-Type"), "github.v3; format=json");

  EXPECT_EQ(e.etag, etag_xyz);
  EXPECT_EQ(e.credential, "xyz");
  EXPECT_EQ(e.authorization_fingerprint, authorization_fingerprint("token xyz"));
  EXPECT_EQ(e.encoding, body_encoding::gzip);
  EXPECT_EQ(e.body, test::gzip(fake_repo_1_body));
  // The pair stays consistent: xyz now revalidates with its own ETag.
  const auto again = revalidation_plan(e, "xyz", "token xyz");
  EXPECT_EQ(again.if_none_match, etag_xyz);
  EXPECT_FALSE(again.derived);
  EXPECT_EQ(revalidation_plan(e, "abc", "token abc").if_none_match, etag_abc);
}

TEST(CacheMergeNotModified, RepresentationFieldsOfThe304AreIgnored) {
  entry e = fetched_by_abc();
  merge_not_modified(e,
                     make_fields({{"Content-Type", "text/html"},
                                  {"Content-Length", "0"},
                                  {"X-OAuth-Scopes", ""},
                                  {"X-Accepted-OAuth-Scopes", ""},
                                  {"X-GitHub-Media-Type", "github.v4"}}),
                     "xyz", "token xyz");
  EXPECT_EQ(header(e, "Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(header(e, "Content-Length"), "6704");
  EXPECT_EQ(header(e, "X-OAuth-Scopes"), "gist, read:org, repo, workflow");
  EXPECT_EQ(header(e, "X-Accepted-OAuth-Scopes"), "repo");
  EXPECT_EQ(header(e, "X-GitHub-Media-Type"), "github.v3; format=json");
  EXPECT_EQ(e.credential, "abc");  // no ETag in the 304: the pair is unchanged
  EXPECT_EQ(e.etag, etag_abc);
}

TEST(CacheMergeNotModified, HopByHopNeverStoredNewFieldsAppendedExtraLinesDropped) {
  entry e = fetched_by_abc();
  const auto count = e.headers.size();
  merge_not_modified(e,
                     make_fields({{"Connection", "keep-alive, X-Hop"},
                                  {"Keep-Alive", "timeout=5"},
                                  {"X-Hop", "1"},
                                  {"Transfer-Encoding", "chunked"},
                                  {"Set-Cookie", "s=1"},
                                  {"X-Poll-Interval", "60"},
                                  {"vary", "Accept"}}),
                     "xyz", "token xyz");
  EXPECT_EQ(header(e, "Connection"), "<absent>");
  EXPECT_EQ(header(e, "Keep-Alive"), "<absent>");
  EXPECT_EQ(header(e, "X-Hop"), "<absent>");
  EXPECT_EQ(header(e, "Transfer-Encoding"), "<absent>");
  EXPECT_EQ(header(e, "Set-Cookie"), "<absent>");
  EXPECT_EQ(e.headers.back(), (std::pair<std::string, std::string>{"X-Poll-Interval", "60"}));
  // One fresh Vary line: it replaces the first stored one, the second goes.
  EXPECT_EQ(header(e, "Vary", 0), "Accept");
  EXPECT_EQ(header(e, "Vary", 1), "<absent>");
  EXPECT_EQ(e.headers.size(), count);  // +X-Poll-Interval, -one Vary
  EXPECT_TRUE(e.vary_accept);
  EXPECT_FALSE(e.vary_authorization);
}

// A hit is answered from the merged lines as views (the entry unchanged):
// they must be exactly the headers merge_not_modified would leave.
void expect_view_equals_merge(const entry& stored, const boost::beast::http::fields& not_modified) {
  entry merged = stored;
  merge_not_modified(merged, not_modified, "xyz", "token xyz");
  header_lines lines;
  merged_not_modified_lines(stored, not_modified, lines);
  ASSERT_EQ(lines.size(), merged.headers.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].first, merged.headers[i].first) << i;
    EXPECT_EQ(lines[i].second, merged.headers[i].second) << i;
  }
}

TEST(CacheMergeNotModified, MergedLinesAreTheMergeAsViews) {
  expect_view_equals_merge(fetched_by_abc(), test::fake_repo_1_not_modified());
  expect_view_equals_merge(fetched_by_abc(), make_fields({{"Connection", "X-Hop"},
                                                          {"X-Hop", "1"},
                                                          {"X-Poll-Interval", "60"},
                                                          {"vary", "Accept"},
                                                          {"Content-Type", "text/html"}}));
  // Repeated names: more fresh lines than stored ones are appended, grouped
  // by name in the order the 304 first names them; fewer drop the rest.
  entry e = fetched_by_abc();
  e.headers = {{"Link", "<a>"}, {"X-A", "1"}, {"link", "<b>"}, {"Link", "<c>"}, {"X-B", "2"}};
  const auto more = make_fields({{"X-New", "n1"}, {"LINK", "<1>"}, {"x-a", "one"}, {"Link", "<2>"},
                                 {"X-New", "n2"}, {"x-a", "two"}, {"Link", "<3>"}, {"Link", "<4>"}});
  expect_view_equals_merge(e, more);
  header_lines lines;
  merged_not_modified_lines(e, more, lines);
  const header_lines want = {{"Link", "<1>"}, {"X-A", "one"}, {"link", "<2>"}, {"Link", "<3>"}, {"X-B", "2"},
                             {"X-New", "n1"}, {"X-New", "n2"}, {"LINK", "<4>"}, {"x-a", "two"}};
  EXPECT_EQ(lines, want);
  const auto fewer = make_fields({{"link", "<only>"}});
  expect_view_equals_merge(e, fewer);
  merged_not_modified_lines(e, fewer, lines);
  const header_lines kept = {{"Link", "<only>"}, {"X-A", "1"}, {"X-B", "2"}};
  EXPECT_EQ(lines, kept);
}

TEST(CacheMergeNotModified, OwnerChangesOnlyWithAnotherValidatorOrToken) {
  const entry e = fetched_by_abc();
  const auto same = make_fields({{"ETag", etag_abc}, {"Date", "Tue, 24 Nov 2026 00:23:03 GMT"}});
  EXPECT_FALSE(not_modified_changes_owner(e, same, "abc", "token abc"));
  EXPECT_FALSE(not_modified_changes_owner(e, make_fields({{"Date", "x"}}), "xyz", "token xyz"))
      << "no validator in the 304: the pair stays";
  EXPECT_TRUE(not_modified_changes_owner(e, same, "xyz", "token xyz"));
  EXPECT_TRUE(not_modified_changes_owner(e, same, "abc", "token rotated"));
  EXPECT_TRUE(not_modified_changes_owner(e, make_fields({{"ETag", etag_xyz}}), "abc", "token abc"));
  EXPECT_TRUE(not_modified_changes_owner(e, make_fields({{"Last-Modified", "Thu, 02 May 2024 00:00:00 GMT"}}),
                                         "abc", "token abc"));
}

TEST(CacheClientConditional, IfNoneMatchDecidesAlone) {
  const entry e = fetched_by_abc();
  EXPECT_TRUE(client_conditional_matches(etag_abc, "", e));
  EXPECT_TRUE(client_conditional_matches("W/" + std::string(etag_abc), "", e));
  EXPECT_TRUE(client_conditional_matches("\"other\", " + std::string(etag_abc), "", e));
  EXPECT_TRUE(client_conditional_matches("*", "", e));
  EXPECT_FALSE(client_conditional_matches(etag_xyz, "", e));
  // If-None-Match present: If-Modified-Since is ignored (RFC 9110 §13.1.3).
  EXPECT_FALSE(client_conditional_matches(etag_xyz, "Wed, 01 May 2024 12:01:00 GMT", e));
}

TEST(CacheClientConditional, IfModifiedSince) {
  const entry e = fetched_by_abc();
  EXPECT_TRUE(client_conditional_matches("", "Wed, 01 May 2024 12:01:00 GMT", e));
  EXPECT_TRUE(client_conditional_matches(" ", "Thu, 02 May 2024 00:00:00 GMT", e));
  EXPECT_FALSE(client_conditional_matches("", "Wed, 01 May 2024 12:00:59 GMT", e));
  EXPECT_FALSE(client_conditional_matches("", "Wednesday, 01-May-24 12:01:00 GMT", e));  // obsolete form
  EXPECT_FALSE(client_conditional_matches("", "garbage", e));
  EXPECT_FALSE(client_conditional_matches("", "", e));
  entry no_date = e;
  no_date.last_modified.clear();
  EXPECT_FALSE(client_conditional_matches("", "Thu, 02 May 2024 00:00:00 GMT", no_date));
}

}  // namespace
}  // namespace github_proxy::cache

namespace github_proxy::cache {
namespace {

// Item 6 of "Isolation": a body stored gzip is inflated piece by piece into
// the hash (never held whole); the ETag is the one over the whole body.
TEST(CacheRevalidation, DerivesLargeGzipBodiesPieceByPiece) {
  std::string large;
  for (int i = 0; large.size() < 300 * 1024; ++i) large += "{\"line\":" + std::to_string(i) + "},\n";
  entry e;
  e.credential = "abc";
  e.authorization_fingerprint = authorization_fingerprint("token abc");
  e.etag = "W/\"" + std::string(64, 'a') + "\"";
  e.vary_accept = true;
  e.vary_authorization = true;
  e.accept = "application/vnd.github+json";
  e.body = test::gzip(large);
  e.encoding = body_encoding::gzip;
  const auto plan = revalidation_plan(e, "xyz", "token xyz");
  vary_inputs vary;
  vary.accept = vary.authorization = true;
  EXPECT_TRUE(plan.derived);
  EXPECT_EQ(plan.if_none_match, derive_etag(e.accept, "token xyz", {}, vary, std::string_view(large)));
}

}  // namespace
}  // namespace github_proxy::cache
