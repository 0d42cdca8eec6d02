// Valid configs: defaults, every key read back, derived and resolved values,
// and the shipped config files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <tuple>
#include <utility>

#include "unit/config/config_test_support.h"

namespace github_proxy::config {
namespace {

using namespace std::chrono_literals;
using test_support::fake_env;
using test_support::located;
using test_support::temp_dir;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using test_support::minimal;

class ConfigLoad : public ::testing::Test {
 protected:
  void SetUp() override { dir_.write("registry.yaml", "version: 1\nclients: []\n"); }

  load_result load(const std::string& yaml) {
    return load_config_from_string(yaml, file_name(), &fake_env::lookup);
  }
  std::string file_name() const { return (dir_.path() / "proxy.yaml").string(); }
  std::string in_dir(const std::string& name) const { return (dir_.path() / name).string(); }

  temp_dir dir_;
  fake_env env_{{{"GITHUB_PROXY_BOT_PAT", "ghp_test"}}};
};

TEST_F(ConfigLoad, MinimalConfigGetsEveryDefault) {
  auto result = load(minimal);
  ASSERT_THAT(located(result), IsEmpty());
  const config& c = *result.value;
  const config defaults;
  EXPECT_EQ(c.source_file, file_name());
  EXPECT_EQ(c.listen.address, "0.0.0.0");
  EXPECT_EQ(c.listen.port, 8080);
  EXPECT_FALSE(c.listen.tls);
  EXPECT_EQ(c.listen.unix_socket, "");
  EXPECT_EQ(c.listen.public_url, "");
  EXPECT_EQ(c.listen.threads, 0u);
  EXPECT_EQ(c.listen.max_connections, 10000u);
  EXPECT_EQ(c.listen.idle_timeout, 60s);
  EXPECT_EQ(c.listen.read_timeout, 30s);
  EXPECT_EQ(c.listen.max_header_bytes, 64u * 1024);
  EXPECT_EQ(c.listen.max_body_bytes, 32u * 1024 * 1024);
  EXPECT_EQ(c.listen.shutdown_timeout, 25s);
  EXPECT_EQ(c.admin.address, "127.0.0.1") << "loopback unless chosen otherwise";
  EXPECT_EQ(c.admin.port, 9090);
  EXPECT_EQ(c.admin.one_token_limit, 5000u) << "GitHub's core limit for a user's token";
  EXPECT_EQ(c.upstream.url, "https://api.github.com");
  EXPECT_EQ(c.upstream.graphql_url, "https://api.github.com/graphql");
  EXPECT_EQ(c.upstream.ca_file, "");
  EXPECT_EQ(c.upstream.connect_timeout, 5s);
  EXPECT_EQ(c.upstream.request_timeout, 30s);
  EXPECT_EQ(c.upstream.max_connections_per_host, 64u);
  EXPECT_EQ(c.upstream.min_stream_rate, 64u * 1024);
  EXPECT_EQ(c.registry.file, in_dir("registry.yaml"));
  EXPECT_EQ(c.registry.reload_interval, 5s);
  EXPECT_EQ(c.cache.backend, cache_backend::memory);
  EXPECT_EQ(c.cache.memory.max_bytes, 256u * 1024 * 1024);
  EXPECT_EQ(c.cache.redis.url, "redis://127.0.0.1:6379/0");
  EXPECT_EQ(c.cache.redis.key_prefix, "ghp:");
  EXPECT_EQ(c.cache.redis.ttl, 7 * 24h);
  EXPECT_EQ(c.cache.redis.timeout, 200ms);
  EXPECT_EQ(c.cache.max_object_bytes, 8u * 1024 * 1024);
  EXPECT_EQ(c.cache.front_tier_bytes, 64u * 1024 * 1024);
  EXPECT_EQ(c.cache.serve_stale, serve_stale_mode::off);
  EXPECT_EQ(c.logging.level, "info");
  EXPECT_EQ(c.logging.format, log_format::json);
  EXPECT_TRUE(c.logging.access_log);
  EXPECT_EQ(c.pool.reserve, 0u);
  EXPECT_THAT(c.pool.reserve_by_resource, IsEmpty());
  EXPECT_EQ(c.pool.max_concurrent, 100u);
  EXPECT_EQ(c.pool.wait_timeout, 10s);
  EXPECT_EQ(c.pool.secret_reload_interval, 10s);
  EXPECT_EQ(c.pool.rate_limit_headers, rate_limit_headers_mode::client);
  ASSERT_EQ(c.credentials.size(), 1u);
  EXPECT_EQ(c.credentials[0].name, "bot-pat");
  EXPECT_EQ(c.credentials[0].type, credential_type::token);
  EXPECT_EQ(c.credentials[0].token_env, "GITHUB_PROXY_BOT_PAT");
  EXPECT_EQ(c.credentials[0].source_line, 4);
}

TEST_F(ConfigLoad, FullConfigRoundTrips) {
  for (const char* name : {"tls.crt", "tls.key", "ca.pem", "app.pem", "pat.txt"}) {
    dir_.write(name, "not a secret, just bytes\n");
  }
  auto result = load(R"(
listen:
  address: 127.0.0.1
  port: 18080
  tls: { cert_file: tls.crt, key_file: tls.key }
  unix_socket: /run/github-proxy.sock
  public_url: https://github-proxy.example.com/
  threads: 4
  max_connections: 500
  idle_timeout: 90s
  read_timeout: 10s
  max_header_bytes: 32KiB
  max_body_bytes: 1MiB
  shutdown_timeout: 0s
admin: { address: 127.0.0.2, port: 19090 }
upstream:
  url: https://ghe.example.com/api/v3/
  graphql_url: https://ghe.example.com/custom/graphql
  ca_file: ca.pem
  connect_timeout: 2s
  request_timeout: 1m
  max_connections_per_host: 8
registry:
  file: registry.yaml
  reload_interval: 500ms
cache:
  backend: redis
  memory: { max_bytes: 1GiB }
  redis: { url: "redis://user:pw@redis:6380/2", key_prefix: "ci:", ttl: 1d, timeout: 50ms }
  max_object_bytes: 2097152
  front_tier_bytes: 0
  serve_stale: on_upstream_error
credentials:
  - name: general-app
    type: app
    app_id: 123456
    installation_id: 7890123
    private_key_file: app.pem
  - name: other_app
    type: app
    client_id: Iv1.abc123
    installation_id: "42"
    private_key_file: app.pem
  - name: file-pat
    type: token
    token_file: pat.txt
logging:
  level: debug
  format: text
  access_log: false
)");
  ASSERT_THAT(located(result), IsEmpty());
  const config& c = *result.value;
  EXPECT_EQ(c.listen.address, "127.0.0.1");
  EXPECT_EQ(c.listen.port, 18080);
  ASSERT_TRUE(c.listen.tls);
  EXPECT_EQ(c.listen.tls->cert_file, in_dir("tls.crt"));
  EXPECT_EQ(c.listen.tls->key_file, in_dir("tls.key"));
  EXPECT_EQ(c.listen.unix_socket, "/run/github-proxy.sock");
  EXPECT_EQ(c.listen.public_url, "https://github-proxy.example.com");
  EXPECT_EQ(c.listen.threads, 4u);
  EXPECT_EQ(c.listen.max_connections, 500u);
  EXPECT_EQ(c.listen.idle_timeout, 90s);
  EXPECT_EQ(c.listen.read_timeout, 10s);
  EXPECT_EQ(c.listen.max_header_bytes, 32u * 1024);
  EXPECT_EQ(c.listen.max_body_bytes, 1024u * 1024);
  EXPECT_EQ(c.listen.shutdown_timeout, 0s);
  EXPECT_EQ(c.admin.address, "127.0.0.2");
  EXPECT_EQ(c.admin.port, 19090);
  EXPECT_EQ(c.upstream.url, "https://ghe.example.com/api/v3");
  EXPECT_EQ(c.upstream.graphql_url, "https://ghe.example.com/custom/graphql");
  EXPECT_EQ(c.upstream.ca_file, in_dir("ca.pem"));
  EXPECT_EQ(c.upstream.connect_timeout, 2s);
  EXPECT_EQ(c.upstream.request_timeout, 60s);
  EXPECT_EQ(c.upstream.max_connections_per_host, 8u);
  EXPECT_EQ(c.registry.file, in_dir("registry.yaml"));
  EXPECT_EQ(c.registry.reload_interval, 500ms);
  EXPECT_EQ(c.cache.backend, cache_backend::redis);
  EXPECT_EQ(c.cache.memory.max_bytes, 1024u * 1024 * 1024);
  EXPECT_EQ(c.cache.redis.url, "redis://user:pw@redis:6380/2");
  EXPECT_EQ(c.cache.redis.key_prefix, "ci:");
  EXPECT_EQ(c.cache.redis.ttl, 24h);
  EXPECT_EQ(c.cache.redis.timeout, 50ms);
  EXPECT_EQ(c.cache.max_object_bytes, 2u * 1024 * 1024);
  EXPECT_EQ(c.cache.front_tier_bytes, 0u);
  EXPECT_EQ(c.cache.serve_stale, serve_stale_mode::on_upstream_error);
  ASSERT_EQ(c.credentials.size(), 3u);
  EXPECT_EQ(c.credentials[0].name, "general-app");
  EXPECT_EQ(c.credentials[0].type, credential_type::app);
  EXPECT_EQ(c.credentials[0].app_id, "123456");
  EXPECT_EQ(c.credentials[0].client_id, "");
  EXPECT_EQ(c.credentials[0].installation_id, "7890123");
  EXPECT_EQ(c.credentials[0].private_key_file, in_dir("app.pem"));
  EXPECT_EQ(c.credentials[0].source_line, 34);
  EXPECT_EQ(c.credentials[1].client_id, "Iv1.abc123");
  EXPECT_EQ(c.credentials[1].installation_id, "42");
  EXPECT_EQ(c.credentials[1].source_line, 39);
  EXPECT_EQ(c.credentials[2].type, credential_type::token);
  EXPECT_EQ(c.credentials[2].token_file, in_dir("pat.txt"));
  EXPECT_EQ(c.credentials[2].token_env, "");
  EXPECT_EQ(c.credentials[2].source_line, 44);
  EXPECT_EQ(c.logging.level, "debug");
  EXPECT_EQ(c.logging.format, log_format::text);
  EXPECT_FALSE(c.logging.access_log);
}

TEST_F(ConfigLoad, DerivesGraphqlUrlFromUpstreamUrl) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"https://api.github.com", "https://api.github.com/graphql"},
      {"https://api.github.com/", "https://api.github.com/graphql"},
      {"https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql"},
      {"https://ghe.example.com/api/v3/", "https://ghe.example.com/api/graphql"},
      {"https://ghe.example.com:8443/api/v3", "https://ghe.example.com:8443/api/graphql"},
      {"http://127.0.0.1:8081", "http://127.0.0.1:8081/graphql"},
      {"https://example.com/github", "https://example.com/github/graphql"},
  };
  for (const auto& [url, graphql] : cases) {
    auto result = load(std::string(minimal) + "upstream:\n  url: " + url + "\n");
    ASSERT_THAT(located(result), IsEmpty()) << url;
    EXPECT_EQ(result.value->upstream.graphql_url, graphql) << url;
  }
}

TEST_F(ConfigLoad, ResolvesRelativePathsAgainstTheConfigDirectory) {
  dir_.write("shared/registry.yaml", "version: 1\n");
  dir_.write("etc/certs/tls.crt", "x");
  dir_.write("etc/certs/tls.key", "x");
  dir_.write("etc/ca.pem", "x");
  dir_.write("etc/secrets/pat", "x");
  dir_.write("etc/secrets/app.pem", "x");
  auto file = dir_.write("etc/proxy.yaml", R"(
listen:
  tls: { cert_file: certs/tls.crt, key_file: ./certs/../certs/tls.key }
upstream: { ca_file: ca.pem }
registry: { file: ../shared/registry.yaml }
credentials:
  - { name: pat, type: token, token_file: secrets/pat }
  - { name: app, type: app, app_id: 1, installation_id: 2, private_key_file: secrets/app.pem }
)");
  auto result = load_config(file.string(), &fake_env::lookup);
  ASSERT_THAT(located(result), IsEmpty());
  const config& c = *result.value;
  auto at = [&](const char* name) { return (dir_.path() / name).string(); };
  EXPECT_EQ(c.listen.tls->cert_file, at("etc/certs/tls.crt"));
  EXPECT_EQ(c.listen.tls->key_file, at("etc/certs/tls.key"));
  EXPECT_EQ(c.upstream.ca_file, at("etc/ca.pem"));
  EXPECT_EQ(c.registry.file, at("shared/registry.yaml"));
  EXPECT_EQ(c.credentials[0].token_file, at("etc/secrets/pat"));
  EXPECT_EQ(c.credentials[1].private_key_file, at("etc/secrets/app.pem"));
}

TEST_F(ConfigLoad, KeepsAbsolutePaths) {
  auto registry = in_dir("registry.yaml");
  auto result = load_config_from_string("registry: { file: " + registry + " }\n" +
                                            "credentials: [{ name: a, type: token, "
                                            "token_env: GITHUB_PROXY_BOT_PAT }]\n",
                                        "elsewhere/proxy.yaml", &fake_env::lookup);
  ASSERT_THAT(located(result), IsEmpty());
  EXPECT_EQ(result.value->registry.file, registry);
}

TEST_F(ConfigLoad, PoolSection) {
  auto result = load(std::string(minimal) +
                     "pool:\n  reserve: 100\n  max_concurrent: 40\n  wait_timeout: 2s\n"
                     "  secret_reload_interval: 0s\n  rate_limit_headers: github\n");
  ASSERT_THAT(located(result), IsEmpty());
  const pool_config& p = result.value->pool;
  EXPECT_EQ(p.rate_limit_headers, rate_limit_headers_mode::github);
  EXPECT_EQ(p.reserve, 100u);
  EXPECT_THAT(p.reserve_by_resource, IsEmpty());
  EXPECT_EQ(p.max_concurrent, 40u);
  EXPECT_EQ(p.wait_timeout, 2s);
  EXPECT_EQ(p.secret_reload_interval, 0s) << "0 turns the polling off";
}

// A reserve for core would close search (30 a minute): resources are named.
TEST_F(ConfigLoad, PoolReserveByResource) {
  using named = std::vector<std::pair<std::string, std::uint32_t>>;
  for (const auto& [text, every, by_resource] : std::initializer_list<std::tuple<const char*, std::uint32_t, named>>{
           {"\"100, search=0, code_search=0\"", 100, {{"search", 0}, {"code_search", 0}}},
           {"core=500,graphql=200", 0, {{"core", 500}, {"graphql", 200}}},
           {"\" graphql = 7 , 3 \"", 3, {{"graphql", 7}}},
           {"0", 0, {}}}) {
    auto result = load(std::string(minimal) + "pool:\n  reserve: " + text + "\n");
    ASSERT_THAT(located(result), IsEmpty()) << text;
    EXPECT_EQ(result.value->pool.reserve, every) << text;
    EXPECT_EQ(result.value->pool.reserve_by_resource, by_resource) << text;
  }
}

TEST_F(ConfigLoad, MinStreamRateIsBytesPerSecond) {
  for (const auto& [text, bytes] : std::initializer_list<std::pair<const char*, std::uint64_t>>{
           {"1MiB/s", 1024 * 1024}, {"512KiB", 512 * 1024}, {"1000/s", 1000}}) {
    auto result = load(std::string(minimal) + "upstream:\n  min_stream_rate: " + text + "\n");
    ASSERT_THAT(located(result), IsEmpty()) << text;
    EXPECT_EQ(result.value->upstream.min_stream_rate, bytes) << text;
  }
}

TEST_F(ConfigLoad, AcceptsNullSectionsAsDefaults) {
  auto result = load(std::string(minimal) + "listen:\ncache:\n  redis:\nlogging: ~\n");
  ASSERT_THAT(located(result), IsEmpty());
  EXPECT_FALSE(result.value->listen.tls);
}

// The shipped files must only fail for what this machine lacks (the /etc
// paths, the registry another change adds), never for schema drift.
TEST_F(ConfigLoad, ShippedConfigFilesUseOnlyKnownKeys) {
  auto config_dir = std::filesystem::path(__FILE__).parent_path() / "../../../config";
  for (const char* name : {"github-proxy.yaml", "github-proxy.example.yaml"}) {
    auto result = load_config((config_dir / name).string(), &fake_env::lookup);
    EXPECT_THAT(result.errors,
                Each(::testing::Field(&config_error::message, HasSubstr(": cannot read /"))))
        << name;
  }
}

TEST_F(ConfigLoad, ExampleConfigLoadsWhenItsFilesExist) {
  // Same document with its absolute paths pointed into the scratch dir.
  auto example = std::filesystem::path(__FILE__).parent_path() /
                 "../../../config/github-proxy.example.yaml";
  std::ifstream in(example);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (std::string::size_type at; (at = text.find("/etc/github-proxy/")) != std::string::npos;) {
    text.replace(at, 18, "");
  }
  dir_.write("secrets/general-app.pem", "x");
  dir_.write("secrets/bot-pat", "x");
  auto result = load(text);
  ASSERT_THAT(located(result), IsEmpty());
  EXPECT_EQ(result.value->credentials.size(), 2u);
  EXPECT_EQ(result.value->cache.redis.url, "redis://redis:6379/0");
}

}  // namespace
}  // namespace github_proxy::config
