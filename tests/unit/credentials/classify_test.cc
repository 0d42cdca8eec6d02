#include "github_proxy/credentials/classify.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <utility>

#include "unit/cache/cache_test_support.h"

namespace github_proxy::credentials {
namespace {

namespace http = boost::beast::http;

http::fields make_headers(std::initializer_list<std::pair<std::string_view, std::string_view>> list) {
  http::fields out;
  for (const auto& [name, value] : list) out.insert(name, value);
  return out;
}

// docs/github-api.md §3.3
constexpr std::string_view primary_user_body =
    R"({"message":"API rate limit exceeded for user ID 9535539. If you reach out to GitHub Support )"
    R"(for help, please include the request ID 1C45:12F767:6C7E73:D8C627:6814705C and timestamp )"
    R"(2025-05-02 07:12:28 UTC.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"})";
constexpr std::string_view primary_installation_body =
    R"({"message":"API rate limit exceeded for installation ID 12770951.","documentation_url":"https://docs.github.com/rest"})";
// docs/github-api.md §3.4
constexpr std::string_view secondary_body =
    R"({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", )"
    R"("documentation_url": "https://docs.github.com/en/free-pro-team@latest/rest/overview/resources-in-the-rest-api#secondary-rate-limits"})";
constexpr std::string_view content_creation_body =
    R"({"message":"You have exceeded a secondary rate limit and have been temporarily blocked from content creation. )"
    R"(Please retry your request again later.","documentation_url":"https://docs.github.com/rest"})";
constexpr std::string_view abuse_body =
    R"({"message":"You have triggered an abuse detection mechanism. Please wait a few minutes before you try again.",)"
    R"("documentation_url":"https://developer.github.com/v3/#abuse-rate-limits"})";
constexpr std::string_view newer_anchor_body =
    R"({"message":"Forbidden","documentation_url":"https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"})";
constexpr std::string_view login_attempts_body =
    R"({"message":"Maximum number of login attempts exceeded. Please try again later.","documentation_url":"https://docs.github.com/rest"})";
// docs/github-api.md §4
constexpr std::string_view graphql_rate_limited =
    R"({"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded for user ID 1234."}]})";
constexpr std::string_view graphql_rate_limit =
    R"({"errors":[{"type":"RATE_LIMIT","code":"graphql_rate_limit","message":"API rate limit already exceeded for user ID 1234."}]})";
constexpr std::string_view graphql_not_found =
    R"({"data":{"node":null},"errors":[{"type":"NOT_FOUND","path":["node"],"locations":[{"line":3,"column":15}],)"
    R"("message":"Could not resolve to a node with the global id of 'D_abcdefgh'"}]})";
constexpr std::string_view bad_credentials =
    R"({"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"})";

const auto exhausted_core = make_headers({{"X-RateLimit-Limit", "5000"},
                                          {"X-RateLimit-Remaining", "0"},
                                          {"X-RateLimit-Used", "5000"},
                                          {"X-RateLimit-Reset", "1658208999"},
                                          {"X-RateLimit-Resource", "core"}});

TEST(ClassifyResponse, PrimaryLimitOn403And429WithRemainingZero) {
  for (unsigned status : {403u, 429u}) {
    for (auto body : {primary_user_body, primary_installation_body, std::string_view{}}) {
      const auto v = classify_response(status, exhausted_core, body, resource::core);
      EXPECT_EQ(v.kind, verdict_kind::primary_limit) << status << " " << body;
      ASSERT_TRUE(v.reset);
      EXPECT_EQ(to_epoch_seconds(*v.reset), 1658208999);
      EXPECT_TRUE(v.remaining_zero);
      EXPECT_FALSE(v.retry_after);
    }
  }
}

TEST(ClassifyResponse, HeaderNamesAreCaseInsensitive) {
  const auto lower = make_headers({{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "1377013266"}});
  const auto v = classify_response(403, lower, primary_user_body, resource::core);
  EXPECT_EQ(v.kind, verdict_kind::primary_limit);
  EXPECT_EQ(to_epoch_seconds(*v.reset), 1377013266);
  const auto upper = make_headers({{"RETRY-AFTER", "30"}});
  EXPECT_EQ(classify_response(403, upper, "", resource::core).kind, verdict_kind::secondary_limit);
}

TEST(ClassifyResponse, SecondaryLimitByMessage) {
  // A search 403 whose remaining is 14 is a secondary limit (docs/github-api.md §3.4).
  const auto search = make_headers({{"X-RateLimit-Limit", "30"},
                                    {"X-RateLimit-Remaining", "14"},
                                    {"X-RateLimit-Reset", "1700000060"},
                                    {"X-RateLimit-Resource", "search"}});
  for (auto body : {secondary_body, content_creation_body, abuse_body, newer_anchor_body, login_attempts_body}) {
    for (unsigned status : {403u, 429u}) {
      const auto v = classify_response(status, search, body, resource::search);
      EXPECT_EQ(v.kind, verdict_kind::secondary_limit) << status << " " << body;
      EXPECT_FALSE(v.retry_after);
      EXPECT_FALSE(v.remaining_zero);
    }
  }
}

TEST(ClassifyResponse, SecondaryLimitByRetryAfter) {
  const auto h = make_headers({{"Retry-After", "60"}, {"X-RateLimit-Remaining", "4000"}});
  const auto v = classify_response(403, h, R"({"message":"Forbidden"})", resource::graphql);
  EXPECT_EQ(v.kind, verdict_kind::secondary_limit);
  ASSERT_TRUE(v.retry_after);
  EXPECT_EQ(v.retry_after->count(), 60);
}

TEST(ClassifyResponse, SecondaryBeatsPrimaryWhenBothSignalsArePresent) {
  auto h = exhausted_core;
  h.set("Retry-After", "120");
  const auto v = classify_response(429, h, secondary_body, resource::core);
  EXPECT_EQ(v.kind, verdict_kind::secondary_limit);
  EXPECT_EQ(v.retry_after->count(), 120);
  EXPECT_TRUE(v.remaining_zero);
  EXPECT_EQ(to_epoch_seconds(*v.reset), 1658208999);
  // The message alone, with remaining 0, is secondary too.
  EXPECT_EQ(classify_response(403, exhausted_core, secondary_body, resource::core).kind,
            verdict_kind::secondary_limit);
}

TEST(ClassifyResponse, RetryAfterAsHttpDateIsMeasuredAgainstDate) {
  const auto h = make_headers({{"Date", "Tue, 19 Jul 2022 04:37:49 GMT"},
                               {"Retry-After", "Tue, 19 Jul 2022 04:39:19 GMT"}});
  const auto v = classify_response(429, h, "", resource::core);
  EXPECT_EQ(v.kind, verdict_kind::secondary_limit);
  ASSERT_TRUE(v.retry_after);
  EXPECT_EQ(v.retry_after->count(), 90);
  // Without a Date the HTTP-date cannot be used; a 429 is still secondary.
  const auto no_date = make_headers({{"Retry-After", "Tue, 19 Jul 2022 04:39:19 GMT"}});
  const auto w = classify_response(429, no_date, "", resource::core);
  EXPECT_EQ(w.kind, verdict_kind::secondary_limit);
  EXPECT_FALSE(w.retry_after);
  // Garbage and negative values are ignored.
  EXPECT_FALSE(classify_response(429, make_headers({{"Retry-After", "-5"}}), "", resource::core).retry_after);
  EXPECT_FALSE(classify_response(429, make_headers({{"Retry-After", "soon"}}), "", resource::core).retry_after);
}

TEST(ClassifyResponse, Plain429IsSecondaryPlain403IsOk) {
  const auto h = make_headers({{"X-RateLimit-Remaining", "4000"}});
  EXPECT_EQ(classify_response(429, h, "", resource::core).kind, verdict_kind::secondary_limit);
  // A permission 403 is the client's answer, not a verdict on the credential.
  const auto forbidden =
      R"({"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest"})";
  EXPECT_EQ(classify_response(403, h, forbidden, resource::core).kind, verdict_kind::ok);
  EXPECT_EQ(classify_response(403, http::fields{}, forbidden, resource::core).kind, verdict_kind::ok);
}

TEST(ClassifyResponse, BadCredentialOn401) {
  const auto v = classify_response(401, http::fields{}, bad_credentials, resource::core);
  EXPECT_EQ(v.kind, verdict_kind::bad_credential);
  EXPECT_EQ(classify_response(401, http::fields{}, "", resource::graphql).kind, verdict_kind::bad_credential);
  // GraphQL's shape (docs/github-api.md §4) and any case.
  EXPECT_EQ(classify_response(401, http::fields{},
                              R"({"message":"Bad credentials","documentation_url":"https://docs.github.com/graphql"})",
                              resource::graphql)
                .kind,
            verdict_kind::bad_credential);
  EXPECT_EQ(classify_response(401, http::fields{}, R"({"message":"BAD CREDENTIALS"})", resource::core).kind,
            verdict_kind::bad_credential);
}

// Rule 1: only GitHub's "Bad credentials" (or a body that cannot be read)
// says the credential is bad. The 401s of the JWT-only endpoints
// (docs/github-api.md §5) are the client's answer: breaking the credential
// there would let one client's requests break it for everyone.
TEST(ClassifyResponse, Other401sAreTheClientsAnswer) {
  constexpr std::string_view jwt_undecodable =
      R"({"message":"A JSON web token could not be decoded","documentation_url":"https://docs.github.com/rest"})";
  constexpr std::string_view requires_authentication =
      R"({"message":"Requires authentication","documentation_url":"https://docs.github.com/rest/apps/apps#get-the-authenticated-app","status":"401"})";
  constexpr std::string_view jwt_expired =
      R"({"message":"'Expiration time' claim ('exp') is too far in the future","documentation_url":"https://docs.github.com/rest"})";
  for (auto body : {jwt_undecodable, requires_authentication, jwt_expired}) {
    for (auto r : {resource::core, resource::graphql}) {
      const auto v = classify_response(401, http::fields{}, body, r);
      EXPECT_EQ(v.kind, verdict_kind::ok) << body;
    }
  }
  // The headers are still read.
  const auto h = make_headers({{"X-RateLimit-Remaining", "0"}, {"X-RateLimit-Reset", "1700000000"}});
  const auto v = classify_response(401, h, jwt_undecodable, resource::core);
  EXPECT_EQ(v.kind, verdict_kind::ok);
  EXPECT_EQ(to_epoch_seconds(*v.reset), 1700000000);
}

TEST(ClassifyResponse, Unreadable401BodiesAreBadCredentials) {
  // Encoded: the text cannot be checked, so GitHub's status decides.
  const auto gzip = make_headers({{"Content-Encoding", "gzip"}});
  EXPECT_EQ(classify_response(401, gzip, "\x1f\x8b\x08 compressed", resource::core).kind,
            verdict_kind::bad_credential);
  EXPECT_EQ(classify_response(401, gzip, R"({"message":"A JSON web token could not be decoded"})", resource::core)
                .kind,
            verdict_kind::bad_credential);
  // Empty (a HEAD, a streamed answer whose body the caller did not keep).
  EXPECT_EQ(classify_response(401, http::fields{}, "", resource::core).kind, verdict_kind::bad_credential);
  // Only the first error_body_scan_limit bytes are searched.
  std::string late(error_body_scan_limit, ' ');
  late += R"({"message":"Bad credentials"})";
  EXPECT_EQ(classify_response(401, http::fields{}, late, resource::core).kind, verdict_kind::ok);
  std::string early = R"({"message":"Bad credentials","pad":")";
  early.append(2 * error_body_scan_limit, 'x');
  early += R"("})";
  EXPECT_EQ(classify_response(401, http::fields{}, early, resource::core).kind, verdict_kind::bad_credential);
}

// GitHub sometimes leaves Retry-After out of a secondary limit (hub4j/github-api#2267,
// docs/github-api.md §3.4): the body alone must say it, also with core's
// headers showing credits left.
TEST(ClassifyResponse, SecondaryLimitBodyWithoutRetryAfter) {
  constexpr std::string_view fake_github_body =
      R"({"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",)"
      R"("documentation_url":"https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits","status":"403"})";
  const auto core = make_headers({{"X-RateLimit-Limit", "5000"},
                                  {"X-RateLimit-Remaining", "4321"},
                                  {"X-RateLimit-Used", "679"},
                                  {"X-RateLimit-Reset", "1700003600"},
                                  {"X-RateLimit-Resource", "core"}});
  for (auto body : {fake_github_body, secondary_body}) {
    const auto v = classify_response(403, core, body, resource::core);
    EXPECT_EQ(v.kind, verdict_kind::secondary_limit) << body;
    EXPECT_FALSE(v.retry_after);
    EXPECT_FALSE(v.remaining_zero);
  }
}

TEST(RequiresAppJwt, TheJwtOnlyPaths) {
  for (std::string_view path :
       {"/app", "/app/", "/app/installations", "/app/installations/42", "/app/installations/42/access_tokens",
        "/app/installations/42/suspended", "/app/hook/config", "/app/hook/deliveries/7/attempts",
        "/app/installation-requests", "/repos/octo-org/repo-1/installation", "/repos/octo-org/repo-1/installation/",
        "/orgs/octo-org/installation", "/users/octocat/installation", "/enterprises/acme/installation",
        "/APP", "/App/Installations", "/Repos/Octo-Org/Repo-1/Installation", "/ORGS/octo-org/INSTALLATION",
        "/app?per_page=100", "/repos/octo-org/repo-1/installation?x=1", "//app", "/repos//octo-org/repo-1/installation"}) {
    EXPECT_TRUE(requires_app_jwt(path)) << path;
  }
}

TEST(RequiresAppJwt, EverythingElse) {
  for (std::string_view path :
       {"", "/", "/apps/octo-app", "/app-manifests/abc/conversions", "/application", "/installation/repositories",
        "/installation/token", "/repos/octo-org/repo-1", "/repos/octo-org/repo-1/installations",
        "/repos/octo-org/installation", "/repos/octo-org/repo-1/installation/extra", "/orgs/octo-org",
        "/orgs/octo-org/installations", "/orgs/octo-org/repos", "/users/octocat", "/users/installation",
        "/teams/1/installation", "/user/installations", "/repos/octo-org/repo-1/contents/app",
        "/rate_limit", "/graphql", "/repos/app/x"}) {
    EXPECT_FALSE(requires_app_jwt(path)) << path;
  }
}

TEST(ClassifyResponse, OrdinaryAnswersAreOk) {
  const auto h = make_headers({{"X-RateLimit-Remaining", "4962"}, {"X-RateLimit-Reset", "1658208999"}});
  for (unsigned status : {200u, 201u, 204u, 301u, 304u, 404u, 422u, 500u, 502u}) {
    EXPECT_EQ(classify_response(status, h, secondary_body, resource::core).kind, verdict_kind::ok) << status;
  }
  // A 200 that spent the last credit is not a limit answer: the state
  // machine sees remaining 0 in the headers.
  EXPECT_EQ(classify_response(200, exhausted_core, "{}", resource::core).kind, verdict_kind::ok);
}

TEST(ClassifyResponse, GraphqlRateLimitedIn200) {
  const auto h = make_headers({{"X-RateLimit-Remaining", "0"},
                               {"X-RateLimit-Reset", "1700000000"},
                               {"X-RateLimit-Resource", "graphql"}});
  for (auto body : {graphql_rate_limited, graphql_rate_limit}) {
    const auto v = classify_response(200, h, body, resource::graphql);
    EXPECT_EQ(v.kind, verdict_kind::primary_limit) << body;
    EXPECT_EQ(to_epoch_seconds(*v.reset), 1700000000);
  }
  // The same body on a REST resource is not looked at.
  EXPECT_EQ(classify_response(200, h, graphql_rate_limited, resource::core).kind, verdict_kind::ok);
  // Other GraphQL errors are the client's business.
  EXPECT_EQ(classify_response(200, h, graphql_not_found, resource::graphql).kind, verdict_kind::ok);
  // A secondary message inside a RATE_LIMITED error.
  const auto secondary = R"({"errors":[{"type":"RATE_LIMITED","message":"You have exceeded a secondary rate limit."}]})";
  EXPECT_EQ(classify_response(200, h, secondary, resource::graphql).kind, verdict_kind::secondary_limit);
}

TEST(ClassifyResponse, GraphqlBodyParsingIsBounded) {
  const http::fields h;
  EXPECT_EQ(classify_response(200, h, R"({"errors":[{"type":"RATE_LIMITED")", resource::graphql).kind,
            verdict_kind::ok);  // truncated JSON
  EXPECT_EQ(classify_response(200, h, R"(["RATE_LIMITED"])", resource::graphql).kind, verdict_kind::ok);
  EXPECT_EQ(classify_response(200, h, R"({"errors":"RATE_LIMITED"})", resource::graphql).kind, verdict_kind::ok);
  EXPECT_EQ(classify_response(200, h, R"({"errors":[{"type":"RATE_LIMITED_NOT"}, 1]})", resource::graphql).kind,
            verdict_kind::ok);
  // Over the scan limit the body is not parsed at all.
  std::string big(R"({"errors":[{"type":"RATE_LIMITED","message":")");
  big.append(graphql_body_scan_limit, 'x');
  big.append(R"("}]})");
  EXPECT_EQ(classify_response(200, h, big, resource::graphql).kind, verdict_kind::ok);
}

TEST(ClassifyResponse, BodiesThatCannotBeDecodedAreNotInspected) {
  // Labelled gzip but not gzip, or a coding the proxy does not decode.
  for (const char* coding : {"gzip", "br", "gzip, br"}) {
    auto h = make_headers({{"Content-Encoding", coding}, {"X-RateLimit-Remaining", "10"}});
    EXPECT_EQ(classify_response(403, h, secondary_body, resource::core).kind, verdict_kind::ok) << coding;
    EXPECT_EQ(classify_response(200, h, graphql_rate_limited, resource::graphql).kind, verdict_kind::ok) << coding;
    h.set("Content-Encoding", "identity");
    EXPECT_EQ(classify_response(403, h, secondary_body, resource::core).kind, verdict_kind::secondary_limit);
  }
}

// A gzip answer is classified on its inflated text: a 401 that is not "Bad
// credentials" must not break the credential because GitHub compressed it
// (the client asked for gzip), and a compressed secondary limit or GraphQL
// RATE_LIMITED must not be missed.
TEST(ClassifyResponse, GzipBodiesAreReadInflated) {
  const auto gzip = make_headers({{"Content-Encoding", "gzip"}});
  const auto x_gzip = make_headers({{"Content-Encoding", " x-gzip "}});
  constexpr std::string_view requires_authentication =
      R"({"message":"Requires authentication","documentation_url":"https://docs.github.com/rest","status":"401"})";
  for (const auto& h : {gzip, x_gzip}) {
    EXPECT_EQ(classify_response(401, h, cache::test::gzip(requires_authentication), resource::core).kind,
              verdict_kind::ok);
    EXPECT_EQ(classify_response(401, h, cache::test::gzip(bad_credentials), resource::core).kind,
              verdict_kind::bad_credential);
    EXPECT_EQ(classify_response(403, h, cache::test::gzip(secondary_body), resource::core).kind,
              verdict_kind::secondary_limit);
    EXPECT_EQ(classify_response(200, h, cache::test::gzip(graphql_rate_limited), resource::graphql).kind,
              verdict_kind::primary_limit);
  }
  // An empty body, compressed, says nothing: GitHub's word stands.
  EXPECT_EQ(classify_response(401, gzip, cache::test::gzip(""), resource::core).kind, verdict_kind::bad_credential);
}

// Only the scan limits are inflated: the phrase past them is not seen, and
// a body that inflates to far more costs no more than the limit.
TEST(ClassifyResponse, GzipBodiesAreInflatedOnlyAsFarAsTheyAreRead) {
  const auto gzip = make_headers({{"Content-Encoding", "gzip"}});
  std::string late(error_body_scan_limit, ' ');
  late += R"({"message":"Bad credentials"})";
  EXPECT_EQ(classify_response(401, gzip, cache::test::gzip(late), resource::core).kind, verdict_kind::ok);
  std::string early = R"({"message":"Bad credentials","pad":")";
  early.append(4 * 1024 * 1024, 'x');  // 4 MiB inflated, a few KiB compressed
  early += R"("})";
  EXPECT_EQ(classify_response(401, gzip, cache::test::gzip(early), resource::core).kind,
            verdict_kind::bad_credential);
  // GraphQL: a body over its scan limit is not parsed, compressed or not.
  std::string big(R"({"errors":[{"type":"RATE_LIMITED","message":")");
  big.append(graphql_body_scan_limit, 'x');
  big.append(R"("}]})");
  EXPECT_EQ(classify_response(200, gzip, cache::test::gzip(big), resource::graphql).kind, verdict_kind::ok);
}

TEST(ClassifyRateLimitHeaders, ParsesTheFiveHeaders) {
  // Recorded response A (docs/github-api.md §2.2).
  const auto h = make_headers({{"X-RateLimit-Limit", "5000"},
                               {"X-RateLimit-Remaining", "4962"},
                               {"X-RateLimit-Reset", "1658208999"},
                               {"X-RateLimit-Used", "38"},
                               {"X-RateLimit-Resource", "core"}});
  const auto p = parse_rate_limit_headers(h);
  EXPECT_TRUE(p.any());
  EXPECT_EQ(p.limit, 5000);
  EXPECT_EQ(p.remaining, 4962);
  EXPECT_EQ(p.used, 38);
  EXPECT_EQ(to_epoch_seconds(*p.reset), 1658208999);
  EXPECT_EQ(p.named, resource::core);
  EXPECT_FALSE(p.unknown_resource);
}

TEST(ClassifyRateLimitHeaders, AbsentMalformedAndUnknown) {
  EXPECT_FALSE(parse_rate_limit_headers(http::fields{}).any());
  const auto h = make_headers({{"x-ratelimit-limit", " 30 "},
                               {"x-ratelimit-remaining", "lots"},
                               {"x-ratelimit-resource", "code_scanning_autofix"}});
  const auto p = parse_rate_limit_headers(h);
  EXPECT_EQ(p.limit, 30);
  EXPECT_FALSE(p.remaining);
  EXPECT_FALSE(p.named);
  EXPECT_TRUE(p.unknown_resource);
}

TEST(ClassifyVerdict, Names) {
  EXPECT_EQ(to_string(verdict_kind::ok), "ok");
  EXPECT_EQ(to_string(verdict_kind::primary_limit), "primary_limit");
  EXPECT_EQ(to_string(verdict_kind::secondary_limit), "secondary_limit");
  EXPECT_EQ(to_string(verdict_kind::bad_credential), "bad_credential");
}

}  // namespace
}  // namespace github_proxy::credentials
