#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "auth/digest.h"
#include "github_proxy/auth/registry.h"

namespace github_proxy::auth {
namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;

std::string basic(std::string_view user_password) {
  std::string out(4 * ((user_password.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(user_password.data()),
                                static_cast<int>(user_password.size()));
  out.resize(static_cast<std::size_t>(n));
  return "Basic " + out;
}

// 2027-06-30T00:00:00Z and friends, without a time zone database.
system_clock::time_point utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  return system_clock::time_point(std::chrono::sys_days(std::chrono::year(y) / m / d) +
                                  std::chrono::hours(hh) + std::chrono::minutes(mm) +
                                  std::chrono::seconds(ss));
}

const std::string registry_yaml = R"(version: 1
clients:
  - name: release-bot
    token_sha256: )" + to_hex(sha256("release-token")) +
                                  R"(
    scopes:
      - method: GET|HEAD
        path: /repos/babylon/.*
      - method: POST
        path: /repos/babylon/[^/]+/releases
  - name: reporter
    token_sha256: sha256:)" + to_hex(sha256("reporter-token")) +
                                  R"(
    scopes:
      - method: POST
        path: /graphql
        graphql: query
      - method: GET
        path: /graphql
        graphql: query
  - name: admin
    token: admin-token
  - name: temp
    token: temp-token
    expires: 2027-06-30
  - name: precise
    token: precise-token
    expires: 2027-06-30T12:00:00+02:00
  - name: mixed
    token: mixed-token
    scopes:
      - method: POST
        path: /graphql
        graphql: query
      - method: POST
        path: /graphql
        graphql: any
)";

class AuthTest : public testing::Test {
 protected:
  void SetUp() override {
    auto loaded = load_registry_from_string(registry_yaml, "registry.yaml");
    for (const auto& e : loaded.errors) ADD_FAILURE() << e.line << ": " << e.message;
    ASSERT_TRUE(loaded.snapshot);
    snapshot_ = loaded.snapshot;
  }

  verdict check(std::string_view method, std::string_view target, std::string_view authorization,
                std::string_view body = {}, system_clock::time_point now = utc(2026, 1, 1),
                std::string_view content_type = "application/json") {
    return authorize(snapshot_, {method, target, authorization, body, content_type}, now);
  }

  std::shared_ptr<const registry_snapshot> snapshot_;
};

TEST_F(AuthTest, MissingOrUnknownTokenIsBadCredentials) {
  for (const std::string_view header :
       {"", "token", "token ", "token wrong", "Bearer wrong", "Digest release-token",
        "release-token", "token release-token extra"}) {
    const auto v = check("GET", "/repos/babylon/x", header);
    EXPECT_EQ(v.kind, verdict_kind::unauthenticated) << header;
    EXPECT_EQ(v.message, "Bad credentials");
    EXPECT_EQ(v.who, nullptr);
  }
}

TEST_F(AuthTest, TokenForms) {
  for (const std::string& header :
       {std::string("token release-token"), std::string("Token release-token"),
        std::string("Bearer release-token"), std::string("bearer release-token"),
        std::string("BEARER   release-token  "), basic("x-access-token:release-token"),
        basic("release-token:"), basic("release-token:x-oauth-basic")}) {
    const auto v = check("GET", "/repos/babylon/x", header);
    EXPECT_EQ(v.kind, verdict_kind::allowed) << header;
    ASSERT_NE(v.who, nullptr) << header;
    EXPECT_EQ(v.who->name, "release-bot");
  }
}

TEST_F(AuthTest, BasicMalformedIsBadCredentials) {
  for (const std::string& header :
       {basic("release-token"), basic(":"), basic("user:"), std::string("Basic !!!!"),
        std::string("Basic cmVsZWFzZS10b2tlbg"), std::string("Basic ")}) {
    EXPECT_EQ(check("GET", "/repos/babylon/x", header).kind, verdict_kind::unauthenticated)
        << header;
  }
}

TEST_F(AuthTest, LegacyPlaintextTokenWorks) {
  const auto v = check("DELETE", "/orgs/anything", "token admin-token");
  EXPECT_EQ(v.kind, verdict_kind::allowed);
  ASSERT_NE(v.who, nullptr);
  EXPECT_TRUE(v.who->plaintext_token);
}

TEST_F(AuthTest, ExpiryDateIsValidThroughThatDayUtc) {
  EXPECT_EQ(check("GET", "/x", "token temp-token", {}, utc(2027, 6, 30, 23, 59, 59)).kind,
            verdict_kind::allowed);
  const auto expired = check("GET", "/x", "token temp-token", {}, utc(2027, 7, 1));
  EXPECT_EQ(expired.kind, verdict_kind::unauthenticated);
  EXPECT_EQ(expired.message, "Bad credentials");
  ASSERT_NE(expired.who, nullptr);  // known client, for the metrics label
  EXPECT_EQ(expired.who->name, "temp");
}

TEST_F(AuthTest, ExpiryTimestampIsAnInstant) {
  EXPECT_EQ(check("GET", "/x", "token precise-token", {}, utc(2027, 6, 30, 9, 59, 59)).kind,
            verdict_kind::allowed);
  EXPECT_EQ(check("GET", "/x", "token precise-token", {}, utc(2027, 6, 30, 10)).kind,
            verdict_kind::unauthenticated);
}

TEST_F(AuthTest, ScopesAllowMatchingMethodAndPath) {
  EXPECT_EQ(check("GET", "/repos/babylon/x/pulls?state=open", "token release-token").kind,
            verdict_kind::allowed);
  EXPECT_EQ(check("HEAD", "/api/v3/repos/babylon/x", "token release-token").kind,
            verdict_kind::allowed);
  EXPECT_EQ(check("POST", "/repos/babylon/x/releases", "token release-token").kind,
            verdict_kind::allowed);
  EXPECT_EQ(check("POST", "/repos/babylon/x/y/releases", "token release-token").kind,
            verdict_kind::forbidden);
  EXPECT_EQ(check("get", "/repos/babylon/x", "token release-token").kind, verdict_kind::forbidden);
  EXPECT_EQ(check("GETX", "/repos/babylon/x", "token release-token").kind, verdict_kind::forbidden);
}

TEST_F(AuthTest, ForbiddenNamesClientMethodAndNormalisedPath) {
  const auto v =
      check("DELETE", "/api/v3/repos/other/x?token=secret", "token release-token");
  EXPECT_EQ(v.kind, verdict_kind::forbidden);
  EXPECT_EQ(v.message, "Client 'release-bot' may not DELETE /repos/other/x");
  EXPECT_EQ(v.path, "/repos/other/x");
  ASSERT_NE(v.who, nullptr);
}

TEST_F(AuthTest, ForbiddenMessageEscapesNonAsciiBytes) {
  const auto v = check("GET", "/repos/%FF%C3%A9", "token release-token");
  EXPECT_EQ(v.kind, verdict_kind::forbidden);
  EXPECT_EQ(v.message, "Client 'release-bot' may not GET /repos/%FF%C3%A9");
}

TEST_F(AuthTest, UnnormalisablePathIsBadRequest) {
  const auto v = check("GET", "/repos/babylon/../../../etc", "token release-token");
  EXPECT_EQ(v.kind, verdict_kind::bad_request);
  ASSERT_NE(v.who, nullptr);
  EXPECT_NE(v.message.find("Invalid request path"), std::string::npos);
}

TEST_F(AuthTest, AllowedVerdictKeepsSnapshotAndPath) {
  const auto v = check("GET", "/api/v3/repos/babylon/x?a=b", "token release-token");
  EXPECT_EQ(v.snapshot, snapshot_);
  EXPECT_EQ(v.path, "/repos/babylon/x");
  EXPECT_TRUE(v.message.empty());
}

TEST_F(AuthTest, GraphqlQueryOnlyScope) {
  const std::string_view auth = "token reporter-token";
  EXPECT_EQ(check("POST", "/graphql", auth, R"({"query":"{ viewer { login } }"})").kind,
            verdict_kind::allowed);
  EXPECT_EQ(check("POST", "/api/graphql", auth, R"({"query":"query { viewer { login } }"})").kind,
            verdict_kind::allowed);
  const auto mutation =
      check("POST", "/graphql", auth, R"({"query":"mutation { addStar(input: {}) { x } }"})");
  EXPECT_EQ(mutation.kind, verdict_kind::forbidden);
  EXPECT_EQ(mutation.message,
            "Client 'reporter' may not POST /graphql: only GraphQL queries are allowed");
  EXPECT_EQ(check("POST", "/api/graphql", auth, R"({"query":"mutation { x }"})").kind,
            verdict_kind::forbidden);
  EXPECT_EQ(check("POST", "/graphql", auth, "").kind, verdict_kind::forbidden);
  EXPECT_EQ(check("POST", "/graphql", auth, "not json").kind, verdict_kind::forbidden);
  EXPECT_EQ(check("POST", "/graphql", auth, R"({"query":"subscription { x }"})").kind,
            verdict_kind::forbidden);
  EXPECT_EQ(check("POST", "/repos/babylon/x", auth, "").kind, verdict_kind::forbidden);
}

TEST_F(AuthTest, GraphqlGetCarriesItsDocumentInTheQueryString) {
  const std::string_view auth = "token reporter-token";
  EXPECT_EQ(check("GET", "/graphql", auth).kind, verdict_kind::allowed);  // introspection
  EXPECT_EQ(check("GET", "/graphql?query=%7B+viewer+%7B+login+%7D+%7D", auth).kind,
            verdict_kind::allowed);
  EXPECT_EQ(check("GET", "/graphql?query=mutation+%7B+x+%7D", auth).kind, verdict_kind::forbidden);
  EXPECT_EQ(check("GET", "/graphql?query=%7Bx%7D&query=mutation%7Bx%7D", auth).kind,
            verdict_kind::forbidden);
  EXPECT_EQ(
      check("GET", "/graphql?query=query+A%7Bx%7D+mutation+B%7By%7D&operationName=B", auth).kind,
      verdict_kind::forbidden);
  EXPECT_EQ(
      check("GET", "/graphql?query=query+A%7Bx%7D+mutation+B%7By%7D&operationName=A", auth).kind,
      verdict_kind::allowed);
  // Parameters in the URL and a body, or an operationName alone: ambiguous.
  EXPECT_EQ(check("GET", "/graphql?query=%7Bx%7D", auth, R"({"query":"{ x }"})").kind,
            verdict_kind::forbidden);
  EXPECT_EQ(check("POST", "/graphql?operationName=B", auth,
                  R"({"query":"query A { x } mutation B { y }","operationName":"A"})")
                .kind,
            verdict_kind::forbidden);
  EXPECT_EQ(check("POST", "/graphql?query=%7Bx%7D", auth, R"({"query":"{ x }"})").kind,
            verdict_kind::forbidden);
  EXPECT_EQ(check("GET", "/graphql?operationName=A", auth).kind, verdict_kind::forbidden);
  // ';' separates parameters for some servers: a hidden `query=` is ambiguous.
  EXPECT_EQ(check("GET", "/graphql?x=1;query=mutation%7Bx%7D", auth).kind, verdict_kind::forbidden);
  EXPECT_EQ(check("POST", "/graphql?unrelated=1", auth, R"({"query":"{ x }"})").kind,
            verdict_kind::allowed);
}

// The target is a view into the request buffer, which goes on after it.
// Only the target's own parameters count: Boost.URL 1.81's parse_query read
// on to the first NUL (the fuzzer's corpus/path_scope/graphql_get, a
// heap-buffer-overflow under ASan), so the bytes after the view decided.
TEST_F(AuthTest, GraphqlGetParametersEndWithTheTarget) {
  const std::string buffer = "/graphql?query=%7B+viewer+%7B+login+%7D+%7D&query=mutation+%7B+x+%7D";
  const std::string_view target = std::string_view(buffer).substr(0, buffer.find("&query"));
  EXPECT_EQ(check("GET", target, "token reporter-token").kind, verdict_kind::allowed);
  const std::string request_line = "/graphql?query=%7Bx%7D&operationName= HTTP/1.1\r\nHost: a&operationName=B";
  EXPECT_EQ(check("GET", std::string_view(request_line).substr(0, request_line.find(' ')), "token reporter-token").kind,
            verdict_kind::allowed);
}

// GitHub reads a GraphQL body as JSON only when it is sent as JSON; a
// query-only scope must not judge bytes GitHub would read otherwise.
// GitHub ignores the case of owner and repository names: a scope (and the
// exclusions its pattern expresses) must too.
TEST_F(AuthTest, OwnerAndRepositoryMatchWithoutCase) {
  EXPECT_EQ(check("GET", "/repos/Babylon/App", "token release-token").kind, verdict_kind::allowed);
  EXPECT_EQ(check("POST", "/repos/BABYLON/app/releases", "token release-token").kind, verdict_kind::allowed);
  EXPECT_EQ(check("DELETE", "/repos/Babylon/App", "token release-token").kind, verdict_kind::forbidden);
}

TEST_F(AuthTest, GraphqlQueryOnlyNeedsAJsonBody) {
  const std::string_view auth = "token reporter-token";
  const std::string_view query = R"({"query":"{ viewer { login } }"})";
  const auto now = utc(2026, 1, 1);
  EXPECT_EQ(check("POST", "/graphql", auth, query, now, "application/json; charset=utf-8").kind,
            verdict_kind::allowed);
  EXPECT_EQ(check("POST", "/graphql", auth, query, now, "Application/JSON").kind, verdict_kind::allowed);
  for (const std::string_view other : {"", "text/plain", "application/x-www-form-urlencoded",
                                       "multipart/form-data; boundary=x", "application/jsonx"}) {
    EXPECT_EQ(check("POST", "/graphql", auth, query, now, other).kind, verdict_kind::forbidden) << other;
  }
}

TEST_F(AuthTest, AnotherScopeMayAllowWhatQueryOnlyRefuses) {
  EXPECT_EQ(check("POST", "/graphql", "token mixed-token", R"({"query":"mutation { x }"})").kind,
            verdict_kind::allowed);
}

TEST_F(AuthTest, MessagesNeverContainTheToken) {
  for (const auto& [method, target] :
       {std::pair{"DELETE", "/repos/other"}, std::pair{"GET", "/../x"}, std::pair{"GET", "/x"}}) {
    for (const std::string_view header : {"token release-token", "token release-token-wrong"}) {
      const auto v = check(method, target, header);
      EXPECT_EQ(v.message.find("release-token"), std::string::npos) << v.message;
      EXPECT_EQ(v.path.find("release-token"), std::string::npos) << v.path;
    }
  }
}

TEST_F(AuthTest, NoSnapshotRefusesEveryone) {
  const auto v = authorize(nullptr, {"GET", "/x", "token admin-token", ""}, utc(2026, 1, 1));
  EXPECT_EQ(v.kind, verdict_kind::unauthenticated);
  EXPECT_EQ(v.message, "Bad credentials");
}

TEST_F(AuthTest, ClientsAreInFileOrderWithDenseIndex) {
  const auto& all = clients(*snapshot_);
  ASSERT_EQ(client_count(*snapshot_), 6u);
  const char* names[] = {"release-bot", "reporter", "admin", "temp", "precise", "mixed"};
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].name, names[i]);
    EXPECT_EQ(all[i].index, i);
  }
}

}  // namespace
}  // namespace github_proxy::auth
