// GITHUB_PROXY_<SECTION>_<KEY> overrides, and secrets kept out of messages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>

#include "unit/config/config_test_support.h"

namespace github_proxy::config {
namespace {

using namespace std::chrono_literals;
using test_support::fake_env;
using test_support::located;
using test_support::temp_dir;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

using test_support::minimal;

class ConfigEnv : public ::testing::Test {
 protected:
  void SetUp() override { dir_.write("registry.yaml", "version: 1\n"); }

  load_result load(const std::string& yaml) {
    return load_config_from_string(yaml, (dir_.path() / "proxy.yaml").string(),
                                   &fake_env::lookup);
  }

  temp_dir dir_;
  fake_env env_{{{"GITHUB_PROXY_BOT_PAT", "ghp_test"}}};
};

bool same_entry(const env_override& entry, std::string_view variable, std::string_view key) {
  return entry.variable == variable && entry.key == key;
}

TEST(ConfigEnvTable, NamesEveryScalarBySectionAndKey) {
  const auto& table = env_overrides();
  EXPECT_EQ(table.size(), 55u);
  std::set<std::string_view> variables;
  for (const env_override& entry : table) {
    std::string expected = "GITHUB_PROXY_";
    for (char c : std::string_view(entry.key)) {
      expected += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    EXPECT_EQ(entry.variable, expected);
    EXPECT_TRUE(variables.insert(entry.variable).second) << "duplicate " << entry.variable;
    EXPECT_FALSE(std::string_view(entry.key).starts_with("credentials"));
  }
  for (auto [variable, key] : std::initializer_list<std::pair<const char*, const char*>>{
           {"GITHUB_PROXY_CACHE_REDIS_URL", "cache.redis.url"},
           {"GITHUB_PROXY_CACHE_REDIS_TLS_CA_FILE", "cache.redis.tls.ca_file"},
           {"GITHUB_PROXY_LISTEN_PORT", "listen.port"},
           {"GITHUB_PROXY_UPSTREAM_URL", "upstream.url"},
           {"GITHUB_PROXY_CACHE_BACKEND", "cache.backend"},
           {"GITHUB_PROXY_CACHE_FRONT_TIER_BYTES", "cache.front_tier_bytes"},
           {"GITHUB_PROXY_LOGGING_LEVEL", "logging.level"},
           {"GITHUB_PROXY_REGISTRY_FILE", "registry.file"},
           {"GITHUB_PROXY_ADMIN_PORT", "admin.port"},
           {"GITHUB_PROXY_ADMIN_ONE_TOKEN_LIMIT", "admin.one_token_limit"},
           {"GITHUB_PROXY_LISTEN_PUBLIC_URL", "listen.public_url"},
           {"GITHUB_PROXY_LISTEN_TLS_CERT_FILE", "listen.tls.cert_file"},
           {"GITHUB_PROXY_CACHE_MEMORY_MAX_BYTES", "cache.memory.max_bytes"},
           {"GITHUB_PROXY_POOL_RESERVE", "pool.reserve"},
           {"GITHUB_PROXY_POOL_SECRET_RELOAD_INTERVAL", "pool.secret_reload_interval"},
           {"GITHUB_PROXY_POOL_RATE_LIMIT_HEADERS", "pool.rate_limit_headers"},
       }) {
    EXPECT_TRUE(std::ranges::any_of(
        table, [&](const env_override& e) { return same_entry(e, variable, key); }))
        << variable;
  }
}

TEST_F(ConfigEnv, OverridesWinOverTheFile) {
  env_.set("GITHUB_PROXY_LISTEN_PORT", "18080");
  env_.set("GITHUB_PROXY_ADMIN_PORT", "19090");
  env_.set("GITHUB_PROXY_LISTEN_PUBLIC_URL", "https://proxy.example.com/");
  env_.set("GITHUB_PROXY_UPSTREAM_URL", "https://ghe.example.com/api/v3");
  env_.set("GITHUB_PROXY_CACHE_BACKEND", "redis");
  env_.set("GITHUB_PROXY_CACHE_REDIS_URL", "redis://:pw@redis.internal:6380/3");
  env_.set("GITHUB_PROXY_CACHE_REDIS_TTL", "1d");
  env_.set("GITHUB_PROXY_CACHE_MEMORY_MAX_BYTES", "1GiB");
  env_.set("GITHUB_PROXY_CACHE_SERVE_STALE", "on_upstream_error");
  env_.set("GITHUB_PROXY_LOGGING_LEVEL", "debug");
  env_.set("GITHUB_PROXY_LOGGING_ACCESS_LOG", "false");
  auto result = load(std::string(minimal) +
                     "listen: { port: 8080 }\nupstream: { url: https://api.github.com }\n"
                     "logging: { level: info, format: text }\n");
  ASSERT_THAT(located(result), IsEmpty());
  const config& c = *result.value;
  EXPECT_EQ(c.listen.port, 18080);
  EXPECT_EQ(c.admin.port, 19090);
  EXPECT_EQ(c.listen.public_url, "https://proxy.example.com");
  EXPECT_EQ(c.upstream.url, "https://ghe.example.com/api/v3");
  // Derived after the override, from the overridden url.
  EXPECT_EQ(c.upstream.graphql_url, "https://ghe.example.com/api/graphql");
  EXPECT_EQ(c.cache.backend, cache_backend::redis);
  EXPECT_EQ(c.cache.redis.url, "redis://:pw@redis.internal:6380/3");
  EXPECT_EQ(c.cache.redis.ttl, 24h);
  EXPECT_EQ(c.cache.memory.max_bytes, 1024u * 1024 * 1024);
  EXPECT_EQ(c.cache.serve_stale, serve_stale_mode::on_upstream_error);
  EXPECT_EQ(c.logging.level, "debug");
  EXPECT_EQ(c.logging.format, log_format::text);  // not overridden
  EXPECT_FALSE(c.logging.access_log);
}

TEST_F(ConfigEnv, CanSupplyWhatTheFileLacks) {
  auto registry = (dir_.path() / "registry.yaml").string();
  env_.set("GITHUB_PROXY_REGISTRY_FILE", registry);
  auto result = load("credentials: [{ name: a, type: token, token_env: GITHUB_PROXY_BOT_PAT }]\n");
  ASSERT_THAT(located(result), IsEmpty());
  EXPECT_EQ(result.value->registry.file, registry);
}

// The variable replaces the whole reserve, not only the resources it names.
TEST_F(ConfigEnv, PoolReserveFromTheEnvironmentReplacesTheFilesWhole) {
  env_.set("GITHUB_PROXY_POOL_RESERVE", "graphql=50");
  env_.set("GITHUB_PROXY_POOL_MAX_CONCURRENT", "20");
  auto result = load(std::string(minimal) + "pool: { reserve: \"100, search=0\", max_concurrent: 50 }\n");
  ASSERT_THAT(located(result), IsEmpty());
  const pool_config& p = result.value->pool;
  EXPECT_EQ(p.reserve, 0u);
  EXPECT_EQ(p.reserve_by_resource, (std::vector<std::pair<std::string, std::uint32_t>>{{"graphql", 50}}));
  EXPECT_EQ(p.max_concurrent, 20u);
}

TEST_F(ConfigEnv, EmptyValueClearsAString) {
  env_.set("GITHUB_PROXY_LISTEN_PUBLIC_URL", "");
  auto result = load(std::string(minimal) + "listen: { public_url: https://p.example.com }\n");
  ASSERT_THAT(located(result), IsEmpty());
  EXPECT_EQ(result.value->listen.public_url, "");
}

TEST_F(ConfigEnv, BadValuesNameTheVariable) {
  env_.set("GITHUB_PROXY_LISTEN_PORT", "http");
  env_.set("GITHUB_PROXY_UPSTREAM_URL", "ftp://x");
  env_.set("GITHUB_PROXY_REGISTRY_FILE", "no-such-registry.yaml");
  auto result = load(std::string(minimal) + "cache: { backend: disk }\n");
  std::vector<std::string> rendered;
  for (const auto& e : result.errors) rendered.push_back(e.to_string());
  auto file = (dir_.path() / "proxy.yaml").string();
  // The file's errors first, then the environment's, in table order.
  EXPECT_THAT(rendered,
              ElementsAre(file + ":7: cache.backend: expected memory or redis, got \"disk\"",
                          "GITHUB_PROXY_LISTEN_PORT: listen.port: expected a port number "
                          "0-65535, got \"http\"",
                          "GITHUB_PROXY_UPSTREAM_URL: upstream.url: expected an http:// or "
                          "https:// URL, got \"ftp://x\"",
                          // Relative to the working directory, not the config file.
                          "GITHUB_PROXY_REGISTRY_FILE: registry.file: cannot read " +
                              (std::filesystem::current_path() / "no-such-registry.yaml")
                                  .string() +
                              ": No such file or directory; the proxy refuses to start without its client "
                              "registry: create it with the entries `github-proxy new-token --client NAME` "
                              "prints (docs/contract.md §4, config/registry.example.yaml)"));
  for (const auto& e : result.errors) {
    if (e.file != file) {
      EXPECT_EQ(e.line, 0);
    }
  }
}

TEST_F(ConfigEnv, NullLookupReadsTheProcessEnvironment) {
  ::setenv("GHP_CONFIG_TEST_TOKEN", "ghp_x", 1);
  ::setenv("GITHUB_PROXY_LOGGING_LEVEL", "warn", 1);
  auto result = load_config_from_string(
      "registry: { file: " + (dir_.path() / "registry.yaml").string() +
          " }\ncredentials: [{ name: a, type: token, token_env: GHP_CONFIG_TEST_TOKEN }]\n",
      "proxy.yaml");
  ::unsetenv("GITHUB_PROXY_LOGGING_LEVEL");
  ::unsetenv("GHP_CONFIG_TEST_TOKEN");
  ASSERT_THAT(located(result), IsEmpty());
  EXPECT_EQ(result.value->logging.level, "warn");
}

// docs/contract.md §3 and §8: a secret is referenced, never stored, never printed.
TEST_F(ConfigEnv, SecretsNeverAppearInMessages) {
  const std::string token = "ghp_SuperSecretToken0123456789";
  const std::string redis_password = "r3dis-Passw0rd";
  env_.set("GITHUB_PROXY_BOT_PAT", token);
  env_.set("GITHUB_PROXY_CACHE_REDIS_URL", "redis://app:" + redis_password + "@redis/db0");
  dir_.write("pat.txt", token + "\n");
  dir_.write("app.pem", "-----BEGIN PRIVATE KEY-----\n" + token + "\n");
  auto result = load(R"(registry:
  file: missing-registry.yaml
upstream:
  url: https://user:)" + redis_password + R"(@api.github.com/api/v3
credentials:
  - name: bot-pat
    type: token
    token_env: GITHUB_PROXY_BOT_PAT
    token_file: pat.txt
  - name: Inline
    type: token
    token: )" + token + R"(
  - name: app
    type: app
    private_key_file: app.pem
    private_key: )" + token + R"(
)");
  ASSERT_GE(result.errors.size(), 6u);
  for (const auto& e : result.errors) {
    EXPECT_THAT(e.to_string(), Not(::testing::HasSubstr(token)));
    EXPECT_THAT(e.to_string(), Not(::testing::HasSubstr(redis_password)));
  }
  // The redacted form still tells the operator which URL is wrong.
  std::vector<std::string> rendered;
  for (const auto& e : result.errors) rendered.push_back(e.to_string());
  EXPECT_THAT(rendered, Contains("GITHUB_PROXY_CACHE_REDIS_URL: cache.redis.url: the Redis "
                                 "URL's path must end in a database number like /0, got "
                                 "\"redis://***@redis/db0\""));
}

TEST_F(ConfigEnv, LoadedConfigHoldsOnlySecretReferences) {
  const std::string token = "ghp_SuperSecretToken0123456789";
  env_.set("GITHUB_PROXY_BOT_PAT", token);
  dir_.write("pat.txt", token);
  auto result = load(std::string(minimal) + "  - { name: file-pat, type: token, token_file: pat.txt }\n");
  ASSERT_THAT(located(result), IsEmpty());
  for (const credential_config& c : result.value->credentials) {
    for (const std::string* field : {&c.name, &c.token_env, &c.token_file, &c.app_id,
                                     &c.client_id, &c.installation_id, &c.private_key_file}) {
      EXPECT_EQ(field->find(token), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace github_proxy::config
