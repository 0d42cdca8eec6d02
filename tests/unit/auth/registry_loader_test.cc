#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "auth/digest.h"
#include "auth/registry_snapshot.h"
#include "github_proxy/auth/registry.h"

namespace github_proxy::auth {
namespace {

using namespace std::chrono_literals;
using testing::ElementsAre;
using testing::HasSubstr;

const std::string hash_a = to_hex(sha256("token-a"));
const std::string hash_b = to_hex(sha256("token-b"));

registry_load_result load(const std::string& yaml) {
  return load_registry_from_string(yaml, "registry.yaml");
}

// "line: message" of every error, for compact assertions.
std::vector<std::string> errors_of(const registry_load_result& result) {
  std::vector<std::string> lines;
  for (const auto& e : result.errors) {
    EXPECT_EQ(e.file, "registry.yaml");
    lines.push_back(std::to_string(e.line) + ": " + e.message);
  }
  return lines;
}
std::vector<std::string> warnings_of(const registry_load_result& result) {
  std::vector<std::string> lines;
  for (const auto& e : result.warnings) lines.push_back(std::to_string(e.line) + ": " + e.message);
  return lines;
}

// A single error at `line` whose message contains `text`.
void expect_error(const std::string& yaml, int line, const std::string& text) {
  const auto result = load(yaml);
  EXPECT_FALSE(result.snapshot) << yaml;
  ASSERT_EQ(result.errors.size(), 1u) << testing::PrintToString(errors_of(result)) << "\n" << yaml;
  EXPECT_EQ(result.errors[0].line, line) << result.errors[0].message;
  EXPECT_THAT(result.errors[0].message, HasSubstr(text));
}

TEST(RegistryLoad, FullExample) {
  const auto result = load(R"(version: 1
clients:
  - name: release-bot
    token_sha256: )" + hash_a +
                           R"(
    scopes:
      - method: GET
        path: /repos/babylon/.*
      - method: POST
        path: /graphql
        graphql: query
    upstream_budget: 2000/h
    expires: 2027-06-30
  - name: legacy
    token: H+hYxlecgRq7yfmhq2COlJk7tpSwDmdsp8thdPsnbnQ=
)");
  ASSERT_TRUE(result.snapshot) << testing::PrintToString(errors_of(result));
  const auto& all = clients(*result.snapshot);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "release-bot");
  EXPECT_EQ(all[0].index, 0u);
  EXPECT_EQ(all[0].source_line, 3);
  ASSERT_TRUE(all[0].upstream_budget);
  EXPECT_EQ(all[0].upstream_budget->credits, 2000u);
  EXPECT_EQ(all[0].upstream_budget->window, 1h);
  ASSERT_TRUE(all[0].expires);
  EXPECT_EQ(*all[0].expires, std::chrono::system_clock::time_point(
                                 std::chrono::sys_days(std::chrono::year(2027) / 7 / 1)));
  EXPECT_FALSE(all[0].plaintext_token);
  EXPECT_EQ(all[1].name, "legacy");
  EXPECT_EQ(all[1].index, 1u);
  EXPECT_TRUE(all[1].plaintext_token);
  EXPECT_FALSE(all[1].upstream_budget);

  const auto& rules = result.snapshot->rules;
  ASSERT_TRUE(rules[0].scopes);
  ASSERT_EQ(rules[0].scopes->size(), 2u);
  EXPECT_EQ((*rules[0].scopes)[1].graphql, graphql_policy::query_only);
  EXPECT_EQ((*rules[0].scopes)[1].line, 8);
  EXPECT_FALSE(rules[1].scopes);  // absent: everything

  EXPECT_EQ(result.snapshot->find(sha256("token-a")), &all[0]);
  EXPECT_EQ(result.snapshot->find(sha256("H+hYxlecgRq7yfmhq2COlJk7tpSwDmdsp8thdPsnbnQ=")), &all[1]);
  EXPECT_EQ(result.snapshot->find(sha256("nope")), nullptr);

  EXPECT_THAT(warnings_of(result),
              ElementsAre(HasSubstr("14: client 'legacy' has a plaintext token")));
  EXPECT_EQ(result.warnings[0].message.find("H+hYx"), std::string::npos);  // never echoed
}

// The original format (version 1, name, token, scopes of {method, path})
// loads unchanged.
TEST(RegistryLoad, OriginalFormat) {
  const auto result = load(R"(version: 1
clients:
  - name: ci
    token: ci-secret
    scopes:
      - method: GET
        path: /repos/org/.*
      - {method: POST, path: "/repos/org/[^/]+/statuses/[0-9a-f]+"}
  - name: ops
    token: ops-secret
)");
  ASSERT_TRUE(result.snapshot) << testing::PrintToString(errors_of(result));
  EXPECT_EQ(client_count(*result.snapshot), 2u);
  EXPECT_EQ(result.warnings.size(), 2u);  // the two plaintext tokens
}

TEST(RegistryLoad, VersionIsOptionalAndEmptyClientListIsValid) {
  const auto result = load("clients: []\n");
  ASSERT_TRUE(result.snapshot);
  EXPECT_EQ(client_count(*result.snapshot), 0u);
}

TEST(RegistryLoad, TokenSha256Forms) {
  const auto result =
      load("clients:\n  - name: a\n    token_sha256: sha256:" + hash_a +
           "\n  - name: b\n    token_sha256: \"" + to_hex(sha256("token-b")) + "\"\n");
  ASSERT_TRUE(result.snapshot) << testing::PrintToString(errors_of(result));
  EXPECT_NE(result.snapshot->find(sha256("token-a")), nullptr);
  EXPECT_NE(result.snapshot->find(sha256("token-b")), nullptr);
}

TEST(RegistryLoad, YamlSyntaxErrorHasItsLine) {
  expect_error("clients:\n  - name: a\n    token: [unclosed\n", 4, "invalid YAML");
}

TEST(RegistryLoad, DocumentShapeErrors) {
  expect_error("", 0, "empty");
  expect_error("- a\n- b\n", 1, "must be a mapping");
  expect_error("version: 1\n", 1, "missing 'clients:'");
  expect_error("version: 2\nclients: []\n", 1, "unsupported registry version '2'");
  expect_error("clients: []\nextra: 1\n", 2, "unknown key 'extra'");
  expect_error("clients:\n  name: a\n", 2, "'clients' must be a list");
  expect_error("clients:\n  - just-a-string\n", 2, "each client must be a mapping");
  expect_error("clients: []\n---\nclients: []\n", 3, "single YAML document");
  expect_error("clients: []\nclients: []\n", 2, "duplicate key 'clients' (first at line 1)");
}

// After this stray tag yaml-cpp 0.7 reports empty documents for ever
// (tests/fuzz/corpus/registry/hang-tag-after-comma, found by the registry
// fuzzer): YAML::LoadAll never returned, growing until the process was
// killed. With the fix reverted this test does not end.
TEST(RegistryLoad, AStreamYamlCppNeverEndsIsAnError) {
  const auto result = load("&etoo9t-\x96!,!strn\n");
  EXPECT_FALSE(result.snapshot);
  EXPECT_FALSE(result.errors.empty());
}

TEST(RegistryLoad, ClientErrors) {
  const std::string token = "\n    token_sha256: " + hash_a;
  expect_error("clients:\n  - token_sha256: " + hash_a + "\n", 2, "has no 'name'");
  expect_error("clients:\n  - name: Bad.Name" + token + "\n", 2,
               "client name 'Bad.Name' must match");
  expect_error("clients:\n  - name: a\n", 2, "client 'a' has no 'token_sha256'");
  expect_error("clients:\n  - name: a" + token + "\n    token: x\n", 4,
               "both 'token' and 'token_sha256'");
  expect_error("clients:\n  - name: a\n    token_sha256: abc123\n", 3, "64 hex digits");
  expect_error("clients:\n  - name: a\n    token: \"\"\n", 3, "token must not be empty");
  expect_error("clients:\n  - name: a" + token + "\n    tokn: x\n", 4, "unknown key 'tokn'");
  expect_error("clients:\n  - name: a" + token + "\n    graphql: query\n", 4,
               "'graphql' belongs inside an entry of 'scopes:'");
  expect_error("clients:\n  - name: a" + token + "\n    upstream_budget: lots\n", 4,
               "upstream_budget 'lots' must be credits per window");
  expect_error("clients:\n  - name: a" + token + "\n    expires: next-year\n", 4,
               "expires 'next-year' must be a date");
  expect_error("clients:\n  - name: a" + token + "\n    name: b\n", 4, "duplicate key 'name'");
  expect_error("clients:\n  - name:" + token + "\n", 2, "'name' needs a value");
  expect_error("clients:\n  - name: [a]" + token + "\n", 2, "'name' must be a string");
}

TEST(RegistryLoad, DuplicateNamesAndTokensNameBothLines) {
  expect_error("clients:\n  - name: a\n    token_sha256: " + hash_a +
                   "\n  - name: a\n    token_sha256: " + hash_b + "\n",
               4, "duplicate client name 'a' (first at line 2)");
  expect_error("clients:\n  - name: a\n    token_sha256: " + hash_a +
                   "\n  - name: b\n    token_sha256: " + hash_a + "\n",
               5, "client 'b' has the same token as client 'a' (line 3)");
  // The same token once in plaintext and once hashed is still the same token.
  expect_error("clients:\n  - name: a\n    token: token-a\n  - name: b\n    token_sha256: sha256:" +
                   hash_a + "\n",
               5, "client 'b' has the same token as client 'a' (line 3)");
}

TEST(RegistryLoad, ScopeErrors) {
  const std::string head = "clients:\n  - name: a\n    token_sha256: " + hash_a + "\n    scopes:\n";
  expect_error(head + "      - method: GET\n        path: /repos/(unclosed\n", 6,
               "invalid path pattern '/repos/(unclosed': missing ): /repos/(unclosed");
  expect_error(head + "      - method: GE[T\n        path: /x\n", 5, "invalid method pattern");
  expect_error(head + "      - method: GET\n", 5, "scope has no 'path'");
  expect_error(head + "      - path: /x\n", 5, "scope has no 'method'");
  expect_error(head + "      - method: GET\n        path: \"\"\n", 6,
               "scope path must not be empty");
  expect_error(head + "      - method: GET\n        path: /x\n        verb: GET\n", 7,
               "unknown scope key 'verb'");
  expect_error(head + "      - method: POST\n        path: /graphql\n        graphql: read\n", 7,
               "graphql must be 'query' or 'any', not 'read'");
  expect_error(head + "      - GET /x\n", 5, "each scope must be a mapping");
  expect_error("clients:\n  - name: a\n    token_sha256: " + hash_a + "\n    scopes:\n", 4,
               "'scopes' is empty");
  expect_error("clients:\n  - name: a\n    token_sha256: " + hash_a + "\n    scopes: GET\n", 4,
               "'scopes' must be a list");
}

TEST(RegistryLoad, ScopeWarnings) {
  const auto result = load("clients:\n  - name: a\n    token_sha256: " + hash_a + R"(
    scopes:
      - method: get
        path: /api/v3/repos/.*
      - method: GET
        path: repos/.*
      - method: POST
        path: /repos/.*
        graphql: query
  - name: b
    token_sha256: )" + hash_b +
                           R"(
    scopes: []
)");
  ASSERT_TRUE(result.snapshot) << testing::PrintToString(errors_of(result));
  EXPECT_THAT(warnings_of(result),
              ElementsAre(HasSubstr("5: client 'a': method 'get' matches none of GET"),
                          HasSubstr("6: client 'a': path '/api/v3/repos/.*' starts with /api/v3"),
                          HasSubstr("8: client 'a': path 'repos/.*' must match the whole path"),
                          HasSubstr("11: client 'a': 'graphql: query' has no effect"),
                          HasSubstr("14: client 'b' has an empty scope list")));
}

TEST(RegistryLoad, CollectsEveryErrorInLineOrder) {
  const auto result = load("version: 1\nclients:\n  - name: a\n    token_sha256: " + hash_a + R"(
    scopes:
      - method: GET
        path: /repos/[
  - name: a
    token_sha256: )" + hash_b +
                           R"(
    upstream_budget: 10/week
)");
  EXPECT_FALSE(result.snapshot);
  EXPECT_THAT(errors_of(result),
              ElementsAre(HasSubstr("7: client 'a': invalid path pattern '/repos/['"),
                          HasSubstr("8: duplicate client name 'a' (first at line 3)"),
                          HasSubstr("10: client 'a': upstream_budget '10/week'")));
}

TEST(RegistryLoad, MissingFile) {
  const auto result = load_registry("/nonexistent/registry.yaml");
  EXPECT_FALSE(result.snapshot);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].file, "/nonexistent/registry.yaml");
  EXPECT_EQ(result.errors[0].line, 0);
}

TEST(RegistryLoad, FromFile) {
  const std::string path = testing::TempDir() + "registry_load_from_file.yaml";
  std::ofstream(path) << "clients:\n  - name: a\n    token_sha256: " << hash_a << "\n";
  const auto result = load_registry(path);
  ASSERT_TRUE(result.snapshot);
  EXPECT_EQ(client_count(*result.snapshot), 1u);
  std::remove(path.c_str());
}

TEST(RegistryLint, RepositoriesByIdScopesAreWarnedAbout) {
  const auto result = load_registry_from_string(R"(version: 1
clients:
  - name: a
    token: token-a
    scopes:
      - {method: GET, path: /repositories/.*}
      - {method: GET, path: "/repositories/[0-9]+/issues"}
      - {method: GET, path: /repositories/1000/issues}
      - {method: GET, path: /repos/babylon/.*}
      - {method: GET, path: .*}
      - {method: GET, path: "/repositories/[0-9]+/pulls.*"}
      - {method: GET, path: "/repositories/\\d+"}
)",
                                                "registry.yaml");
  ASSERT_TRUE(result.snapshot);
  std::vector<int> lines;
  for (const auto& w : result.warnings) {
    if (w.message.find("grants every repository") != std::string::npos) lines.push_back(w.line);
  }
  // One repository by id is a deliberate choice; any id is every repository.
  EXPECT_EQ(lines, (std::vector<int>{6, 7, 10, 11, 12}));
}

}  // namespace
}  // namespace github_proxy::auth

namespace github_proxy::auth {
namespace {

// An alias lets a few bytes expand into any number of scopes to compile,
// on the thread that reloads the registry: refused with its line.
TEST(RegistryBounds, YamlAliasesAreRefused) {
  const auto result = load_registry_from_string(R"(version: 1
clients:
  - name: a
    token: token-a
    scopes: &all
      - {method: GET, path: /repos/.*}
  - name: b
    token: token-b
    scopes: *all
)",
                                                "registry.yaml");
  EXPECT_FALSE(result.snapshot);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].line, 9);
  EXPECT_THAT(result.errors[0].message, testing::HasSubstr("aliases"));
}

TEST(RegistryBounds, ScopesPerClientAreCapped) {
  std::string yaml = "version: 1\nclients:\n  - name: a\n    token: token-a\n    scopes:\n";
  for (int i = 0; i < 300; ++i) yaml += "      - {method: GET, path: /repos/o/r" + std::to_string(i) + "}\n";
  const auto result = load_registry_from_string(yaml, "registry.yaml");
  EXPECT_FALSE(result.snapshot);
  ASSERT_FALSE(result.errors.empty());
  EXPECT_THAT(result.errors[0].message, testing::HasSubstr("more than 256 scopes"));
}

TEST(RegistryBounds, UpperCaseOwnersInScopesAreWarnedAbout) {
  const auto result = load_registry_from_string(R"(version: 1
clients:
  - name: a
    token: token-a
    scopes:
      - {method: GET, path: /repos/Babylon/.*}
      - {method: GET, path: /repos/babylon/app/contents/README.md}
)",
                                                "registry.yaml");
  ASSERT_TRUE(result.snapshot);
  std::vector<int> lines;
  for (const auto& w : result.warnings) {
    if (w.message.find("lower case") != std::string::npos) lines.push_back(w.line);
  }
  EXPECT_EQ(lines, std::vector<int>{6});
}

}  // namespace
}  // namespace github_proxy::auth
