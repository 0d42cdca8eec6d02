#include "github_proxy/auth/tools.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "auth/digest.h"
#include "github_proxy/auth/registry.h"

namespace github_proxy::auth {
namespace {

using testing::HasSubstr;

std::string write_temp(const std::string& name, const std::string& content) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  return path;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The acceptance test of the issue: three different mistakes, all three
// reported with their lines, exit 1.
TEST(RegistryTools, CheckRegistryReportsEveryMistakeWithItsLine) {
  const std::string path = write_temp("three_mistakes.yaml", R"(version: 1
clients:
  - name: release-bot
    token_sha256: not-a-hash
    scopes:
      - method: GET
        path: /repos/(babylon
  - name: reporter
    token_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    upstream_budget: 2000 per hour
)");
  std::ostringstream out, err;
  EXPECT_EQ(check_registry_command(path, out, err), 1);
  const auto lines = lines_of(err.str());
  ASSERT_EQ(lines.size(), 4u) << err.str();
  EXPECT_THAT(lines[0],
              testing::StartsWith(path + ":4: client 'release-bot': token_sha256 must be 64 hex"));
  EXPECT_THAT(lines[1],
              testing::StartsWith(path + ":7: client 'release-bot': invalid path pattern"));
  EXPECT_THAT(lines[2], testing::StartsWith(path + ":10: client 'reporter': upstream_budget"));
  EXPECT_EQ(lines[3], path + ": 3 errors, 0 warnings");
  EXPECT_EQ(out.str(), "");
}

TEST(RegistryTools, CheckRegistryOkWithWarnings) {
  const std::string path = write_temp("legacy.yaml", R"(version: 1
clients:
  - name: legacy
    token: H+hYxlecgRq7yfmhq2COlJk7tpSwDmdsp8thdPsnbnQ=
  - name: old
    token_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    expires: 2001-01-01
)");
  std::ostringstream out, err;
  EXPECT_EQ(check_registry_command(path, out, err), 0);
  EXPECT_EQ(out.str(), path + ": ok, 2 clients, 2 warnings\n");
  const auto lines = lines_of(err.str());
  ASSERT_EQ(lines.size(), 2u) << err.str();
  EXPECT_THAT(lines[0],
              testing::StartsWith(path + ":4: warning: client 'legacy' has a plaintext token"));
  EXPECT_EQ(lines[1],
            path + ":5: warning: client 'old' expired at 2001-01-02T00:00:00Z and is refused");
  EXPECT_THAT(err.str(), testing::Not(HasSubstr("H+hYx")));
}

TEST(RegistryTools, CheckRegistryMissingFile) {
  std::ostringstream out, err;
  EXPECT_EQ(check_registry_command("/nonexistent/registry.yaml", out, err), 1);
  EXPECT_THAT(err.str(), testing::StartsWith("/nonexistent/registry.yaml: cannot read"));
}

// config/registry.example.yaml stays valid: only the legacy entry warns.
TEST(RegistryTools, ExampleRegistryIsValid) {
  const std::string example =
      (std::filesystem::path(__FILE__).parent_path() / "../../../config/registry.example.yaml")
          .string();
  std::ostringstream out, err;
  EXPECT_EQ(check_registry_command(example, out, err), 0) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("ok, 5 clients, 1 warning"));
  EXPECT_THAT(err.str(), HasSubstr("warning: client 'legacy-monitor' has a plaintext token"));

  const auto loaded = load_registry(example);
  ASSERT_TRUE(loaded.snapshot);
  const auto now =
      std::chrono::system_clock::time_point(std::chrono::sys_days(std::chrono::year(2026) / 1 / 1));
  auto check = [&](std::string_view token, std::string_view method, std::string_view target,
                   std::string_view body = {}) {
    const std::string header = "token " + std::string(token);
    return authorize(loaded.snapshot, {method, target, header, body, "application/json"}, now).kind;
  };
  EXPECT_EQ(check("example-release-bot", "GET", "/api/v3/repos/babylon/app/pulls"),
            verdict_kind::allowed);
  EXPECT_EQ(check("example-release-bot", "POST", "/repos/babylon/app/releases"),
            verdict_kind::allowed);
  EXPECT_EQ(check("example-release-bot", "DELETE", "/repos/babylon/app"), verdict_kind::forbidden);
  EXPECT_EQ(check("example-reporter", "POST", "/graphql", R"({"query":"{ viewer { login } }"})"),
            verdict_kind::allowed);
  EXPECT_EQ(check("example-reporter", "POST", "/graphql", R"({"query":"mutation { x }"})"),
            verdict_kind::forbidden);
  EXPECT_EQ(check("example-contractor", "GET", "/repos/babylon/legacy-monolith"),
            verdict_kind::allowed);
  EXPECT_EQ(check("EXAMPLE-ONLY-fake-token-do-not-use", "GET", "/repos/babylon/status-page/x"),
            verdict_kind::allowed);
}

TEST(TokenTools, NewTokenPrintsTokenAndHashedEntry) {
  std::ostringstream out, err;
  EXPECT_EQ(new_token_command("release-bot", out, err), 0);
  EXPECT_EQ(err.str(), "");
  const auto lines = lines_of(out.str());
  ASSERT_GE(lines.size(), 3u) << out.str();
  const std::string token = lines[0];
  EXPECT_THAT(token, testing::MatchesRegex("ghpx_[0-9A-Za-z]{43}"));
  EXPECT_EQ(lines[lines.size() - 2], "- name: release-bot");
  EXPECT_EQ(lines.back(), "  token_sha256: " + to_hex(sha256(token)));
  EXPECT_THAT(out.str(), HasSubstr("Only the SHA-256 goes in the registry"));

  // The printed entry is a valid registry entry that the token unlocks.
  std::string entry;
  for (std::size_t i = lines.size() - 2; i < lines.size(); ++i) entry += "  " + lines[i] + "\n";
  const auto loaded = load_registry_from_string("version: 1\nclients:\n" + entry, "r.yaml");
  ASSERT_TRUE(loaded.snapshot);
  EXPECT_EQ(authorize(loaded.snapshot, {"GET", "/user", "token " + token, ""},
                      std::chrono::system_clock::now())
                .kind,
            verdict_kind::allowed);
}

TEST(TokenTools, NewTokenRejectsInvalidName) {
  std::ostringstream out, err;
  EXPECT_EQ(new_token_command("Release Bot", out, err), 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_THAT(err.str(), HasSubstr("[a-z0-9_-]+"));
}

TEST(TokenTools, HashToken) {
  std::istringstream in("abc\n");
  std::ostringstream out, err;
  EXPECT_EQ(hash_token_command(in, out, err), 0);
  EXPECT_EQ(out.str(), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n");
}

TEST(TokenTools, HashTokenRejectsEmptyOrSeveralWords) {
  for (const char* input : {"", "\n", "  \n", "a b\n", "a\nb\n"}) {
    std::istringstream in(input);
    std::ostringstream out, err;
    EXPECT_EQ(hash_token_command(in, out, err), 1) << input;
    EXPECT_EQ(out.str(), "");
    EXPECT_FALSE(err.str().empty());
  }
}

}  // namespace
}  // namespace github_proxy::auth
