// Invalid configs: each problem is reported with its line and key path, all
// problems at once, and nothing is silently defaulted.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "unit/config/config_test_support.h"

namespace github_proxy::config {
namespace {

using test_support::fake_env;
using test_support::located;
using test_support::temp_dir;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using test_support::minimal;  // six lines: a section appended starts on line 7

// Credential items appended to this start on line 3.
std::string creds(const std::string& items) {
  return "registry: { file: registry.yaml }\ncredentials:\n" + items;
}

struct error_case {
  std::string yaml;
  std::vector<std::string> expected;  // "LINE: message"; {dir} = scratch dir
};

class ConfigErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("registry.yaml", "version: 1\n");
    dir_.write("tls.crt", "x");
    dir_.write("empty", "");
    std::filesystem::create_directory(dir_.path() / "certs");
  }

  load_result load(const std::string& yaml) {
    return load_config_from_string(yaml, (dir_.path() / "proxy.yaml").string(),
                                   &fake_env::lookup);
  }

  void expect_errors(const std::vector<error_case>& cases) {
    for (const auto& c : cases) {
      SCOPED_TRACE(c.yaml);
      std::vector<std::string> expected;
      for (std::string e : c.expected) {
        if (auto at = e.find("{dir}"); at != std::string::npos) {
          e.replace(at, 5, dir_.path().string());
        }
        expected.push_back(e);
      }
      auto result = load(c.yaml);
      EXPECT_THAT(located(result), ElementsAreArray(expected));
      EXPECT_FALSE(result.value);
    }
  }

  temp_dir dir_;
  fake_env env_{{{"GITHUB_PROXY_BOT_PAT", "ghp_test"}, {"EMPTY_VAR", ""}}};
};

std::string with(const std::string& extra) { return minimal + extra; }

// A missing registry says that the proxy does not start without one, and
// where one comes from.
const std::string registry_hint =
    "; the proxy refuses to start without its client registry: create it with the entries "
    "`github-proxy new-token --client NAME` prints (docs/contract.md §4, config/registry.example.yaml)";

// After this stray tag yaml-cpp 0.7 reports empty documents for ever
// (tests/fuzz/corpus/config/hang-tag-after-comma, found by the registry
// fuzzer): YAML::LoadAll never returned, growing until the process was
// killed. With the fix reverted this test does not end.
TEST(ConfigStream, AStreamYamlCppNeverEndsIsAnError) {
  const auto result = load_config_from_string("&etoo9t-\x96!,!strn\n", "github-proxy.yaml",
                                              [](const char*) -> const char* { return nullptr; });
  EXPECT_FALSE(result.value);
  EXPECT_FALSE(result.errors.empty());
}

TEST_F(ConfigErrors, SyntaxAndShape) {
  expect_errors({
      {"listen:\n  port: [8080\nadmin:\n  port: 9090\n",
       {"3: YAML syntax error: end of sequence flow not found"}},
      {"listen:\n  port: 1\n port: 2\n", {"3: YAML syntax error: end of map not found"}},
      {"", {"0: the config file is empty"}},
      {"# nothing but a comment\n", {"0: the config file is empty"}},
      {"- listen\n- admin\n",
       {"1: expected a map of sections (listen, upstream, ...) at the top level, got a list"}},
      {with("---\nlisten: {}\n"),
       {"8: only one YAML document is allowed; remove this `---` and what follows"}},
      {with("listen: 8080\n"), {"7: listen: expected a map, got a scalar"}},
      {with("cache:\n  redis: [a]\n"), {"8: cache.redis: expected a map, got a list"}},
      {with("listen:\n  port: [1, 2]\n"),
       {"8: listen.port: expected a single value, got a list"}},
      {with("listen:\n  port: 1\n  port: 2\n"),
       {"9: duplicate key \"port\" in listen (first on line 8)"}},
  });
}

TEST_F(ConfigErrors, UnknownKeysAtEveryLevel) {
  expect_errors({
      {with("listn:\n  port: 1\n"),
       {"7: unknown key \"listn\" at the top level (did you mean \"listen\"?)"}},
      {with("listen:\n  foo: 1\n"), {"8: unknown key \"foo\" in listen"}},
      {with("listen:\n  tls:\n    cert: a\n"),
       {// The tls map is present, so what it lacks is reported too.
        "8: listen.tls.cert_file: required when listen.tls is set (TLS needs both "
        "cert_file and key_file)",
        "8: listen.tls.key_file: required when listen.tls is set (TLS needs both "
        "cert_file and key_file)",
        "9: unknown key \"cert\" in listen.tls"}},
      {with("cache:\n  redis:\n    urls: redis://x\n"),
       {"9: unknown key \"urls\" in cache.redis (did you mean \"url\"?)"}},
      {with("cache:\n  disk: {}\n"), {"8: unknown key \"disk\" in cache"}},
      {creds("  - name: a\n    type: token\n    tokenenv: X\n"),
       {"3: credentials[0]: needs token_env or token_file",
        "5: unknown key \"tokenenv\" in credentials[0] (did you mean \"token_env\"?)"}},
  });
}

TEST_F(ConfigErrors, ListenAndAdminValues) {
  expect_errors({
      {with("listen:\n  port: 70000\n"),
       {"8: listen.port: expected a port number 0-65535, got \"70000\""}},
      {with("admin:\n  port: -1\n"),
       {"8: admin.port: expected a port number 0-65535, got \"-1\""}},
      {with("admin:\n  port: 8080\n"),
       {"8: admin.port: the admin listener needs its own port; 8080 is listen.port"}},
      {with("admin:\n  one_token_limit: 0\n"), {"8: admin.one_token_limit: must be greater than 0"}},
      {with("admin:\n  one_token_limit: lots\n"),
       {"8: admin.one_token_limit: expected a number of credits per hour, got \"lots\""}},
      {with("listen:\n  address: \"\"\n"), {"8: listen.address: must not be empty"}},
      {with("listen:\n  threads: 5000\n"), {"8: listen.threads: at most 1024, got 5000"}},
      {with("listen:\n  threads: many\n"),
       {"8: listen.threads: expected a number of threads (0 = one per core), got \"many\""}},
      {with("listen:\n  max_connections: 0\n"),
       {"8: listen.max_connections: must be greater than 0"}},
      {with("listen:\n  idle_timeout: 60\n"),
       {"8: listen.idle_timeout: expected a duration like 5s, got \"60\""}},
      {with("listen:\n  read_timeout: -5s\n"),
       {"8: listen.read_timeout: expected a duration like 5s, got \"-5s\""}},
      {with("listen:\n  max_body_bytes: 10MB\n"),
       {"8: listen.max_body_bytes: expected a size like 256MiB, got \"10MB\""}},
      {with("listen:\n  max_header_bytes: 0\n"),
       {"8: listen.max_header_bytes: must be greater than 0"}},
      {with("listen:\n  public_url: github-proxy.example.com\n"),
       {"8: listen.public_url: expected an absolute http(s) URL like https://api.github.com, "
        "got \"github-proxy.example.com\""}},
  });
}

TEST_F(ConfigErrors, ListenTls) {
  expect_errors({
      {with("listen:\n  tls:\n    cert_file: tls.crt\n"),
       {"8: listen.tls.key_file: required when listen.tls is set (TLS needs both cert_file "
        "and key_file)"}},
      {with("listen:\n  tls:\n    cert_file: missing.crt\n    key_file: certs\n"),
       {"9: listen.tls.cert_file: cannot read {dir}/missing.crt: No such file or directory",
        "10: listen.tls.key_file: cannot read {dir}/certs: it is a directory"}},
  });
}

TEST_F(ConfigErrors, UpstreamValues) {
  expect_errors({
      {with("upstream:\n  url: ftp://example.com\n"),
       {"8: upstream.url: expected an http:// or https:// URL, got \"ftp://example.com\""}},
      {with("upstream:\n  url: api.github.com\n"),
       {"8: upstream.url: expected an absolute http(s) URL like https://api.github.com, got "
        "\"api.github.com\""}},
      {with("upstream:\n  url: \"https://api.github.com/?per_page=1\"\n"),
       {"8: upstream.url: the URL must not have a query or fragment, got "
        "\"https://api.github.com/?per_page=1\""}},
      {with("upstream:\n  url: \"https://api.github.com/#top\"\n"),
       {"8: upstream.url: the URL must not have a query or fragment, got "
        "\"https://api.github.com/#top\""}},
      {with("upstream:\n  url: https://me:hunter2@api.github.com\n"),
       {"8: upstream.url: the URL must not contain user:password@; credentials come from "
        "the pool"}},
      {with("upstream:\n  url: https://api.github.com:99999\n"),
       {"8: upstream.url: the URL's port must be 1-65535, got \"https://api.github.com:99999\""}},
      {with("upstream:\n  graphql_url: /graphql\n"),
       {"8: upstream.graphql_url: expected an absolute http(s) URL like "
        "https://api.github.com, got \"/graphql\""}},
      {with("upstream:\n  ca_file: ca.pem\n"),
       {"8: upstream.ca_file: cannot read {dir}/ca.pem: No such file or directory"}},
      {with("upstream:\n  connect_timeout: 0s\n  max_connections_per_host: 0\n"),
       {"8: upstream.connect_timeout: must be greater than 0",
        "9: upstream.max_connections_per_host: must be greater than 0"}},
      {with("upstream:\n  min_stream_rate: 0/s\n"), {"8: upstream.min_stream_rate: must be greater than 0"}},
      {with("upstream:\n  min_stream_rate: 64KB/s\n"),
       {"8: upstream.min_stream_rate: expected a rate like 64KiB/s, got \"64KB/s\""}},
  });
}

TEST_F(ConfigErrors, RegistryValues) {
  const std::string cred =
      "credentials: [{ name: a, type: token, token_env: GITHUB_PROXY_BOT_PAT }]\n";
  expect_errors({
      {cred, {"0: registry.file: required: the client registry that proxy tokens are "
              "checked against"}},
      {cred + "registry:\n  file: \"\"\n",
       {"3: registry.file: required: the client registry that proxy tokens are checked "
        "against"}},
      {cred + "registry:\n  reload_interval: 5s\n",
       {"2: registry.file: required: the client registry that proxy tokens are checked "
        "against"}},
      {cred + "registry:\n  file: nope.yaml\n  reload_interval: 0ms\n",
       {"3: registry.file: cannot read {dir}/nope.yaml: No such file or directory" + registry_hint,
        "4: registry.reload_interval: must be greater than 0"}},
  });
}

TEST_F(ConfigErrors, PoolValues) {
  expect_errors({
      {with("pool:\n  reserve: -1\n"),
       {"8: pool.reserve: expected credits like 100 or \"100, search=0\", got \"-1\""}},
      {with("pool:\n  reserve: \"100,\"\n"),
       {"8: pool.reserve: expected credits like 100 or \"100, search=0\", got \"100,\""}},
      {with("pool:\n  reserve: serch=1\n"),
       {"8: pool.reserve: unknown resource \"serch\" (one of core, search, code_search, graphql, "
        "integration_manifest, source_import, code_scanning_upload, scim, dependency_snapshots, "
        "dependency_sbom, audit_log, actions_runner_registration)"}},
      {with("pool:\n  reserve: \"core=1, core=2\"\n"),
       {"8: pool.reserve: resource \"core\" is given twice"}},
      {with("pool:\n  reserve: \"1, 2\"\n"),
       {"8: pool.reserve: give one reserve for every resource, got two in \"1, 2\""}},
      {with("pool:\n  reserve: [1]\n"), {"8: pool.reserve: expected a single value, got a list"}},
      {with("pool:\n  max_concurrent: 0\n  wait_timeout: 0s\n"),
       {"8: pool.max_concurrent: expected 1 to 100 (GitHub's limit of concurrent requests), got 0",
        "9: pool.wait_timeout: expected more than 0 and at most 5m"}},
      {with("pool:\n  max_concurrent: 101\n  wait_timeout: 6m\n"),
       {"8: pool.max_concurrent: expected 1 to 100 (GitHub's limit of concurrent requests), got 101",
        "9: pool.wait_timeout: expected more than 0 and at most 5m"}},
      {with("pool:\n  max_concurrent: many\n"),
       {"8: pool.max_concurrent: expected a number of requests, got \"many\""}},
      {with("pool:\n  secret_reload_interval: 10ms\n"),
       {"8: pool.secret_reload_interval: expected 0 (off) or at least 100ms"}},
      {with("pool:\n  reload_interval: 1s\n"),
       {"8: unknown key \"reload_interval\" in pool"}},
  });
}

TEST_F(ConfigErrors, CacheAndLoggingValues) {
  expect_errors({
      {with("cache:\n  memory:\n    max_bytes: lots\n"),
       {"9: cache.memory.max_bytes: expected a size like 256MiB, got \"lots\""}},
      {with("cache:\n  backend: disk\n"),
       {"8: cache.backend: expected memory or redis, got \"disk\""}},
      {with("cache:\n  serve_stale: always\n"),
       {"8: cache.serve_stale: expected off or on_upstream_error, got \"always\""}},
      {with("pool:\n  rate_limit_headers: credential\n"),
       {"8: pool.rate_limit_headers: expected client or github, got \"credential\""}},
      {with("cache:\n  max_object_bytes: 0\n"),
       {"8: cache.max_object_bytes: must be greater than 0"}},
      {with("cache:\n  redis:\n    url: http://redis:6379\n"),
       {"9: cache.redis.url: the scheme must be redis, rediss (TLS), redis-sentinel, rediss-sentinel, "
        "redis-cluster or rediss-cluster, got \"http://redis:6379\""}},
      {with("cache:\n  redis:\n    url: redis://:6379\n"),
       {"9: cache.redis.url: the Redis URL's host list is not valid: a host is missing, got \"redis://:6379\""}},
      {with("cache:\n  redis:\n    url: redis://user:s3cret@redis:6379/cache\n"),
       {"9: cache.redis.url: the Redis URL's path must end in a database number like /0, got "
        "\"redis://***@redis:6379/cache\""}},
      {with("cache:\n  redis:\n    url: redis-sentinel://s1:26379,s2:26379\n"),
       {"9: cache.redis.url: a redis-sentinel:// URL needs the master's name: redis-sentinel://host:26379/mymaster, "
        "got \"redis-sentinel://s1:26379,s2:26379\""}},
      {with("cache:\n  redis:\n    url: redis-cluster://n1,n2\n    key_prefix: \"{ghp}:\"\n"),
       {"10: cache.redis.key_prefix: must not contain a hash tag ({…}) with redis-cluster://: every key would land "
        "in one slot, on one node"}},
      {with("cache:\n  redis:\n    tls: { ca_file: ca.pem }\n"),
       {"9: cache.redis.tls.ca_file: is set, but cache.redis.url does not ask for TLS (use rediss://, "
        "rediss-sentinel:// or rediss-cluster://)"}},
      {with("cache:\n  redis:\n    url: rediss://redis:6380\n    tls:\n      ca_file: missing-ca.pem\n"),
       {"11: cache.redis.tls.ca_file: cannot read {dir}/missing-ca.pem: No such file or directory"}},
      {with("cache:\n  redis:\n    url: rediss://redis:6380\n    tls:\n      key_file: registry.yaml\n"),
       {"10: cache.redis.tls.cert_file: required with the other: a client certificate needs both cert_file and "
        "key_file"}},
      {with("cache:\n  redis: { ttl: 1w, timeout: 0ms }\n"),
       {"8: cache.redis.ttl: expected a duration like 5s, got \"1w\"",
        "8: cache.redis.timeout: must be greater than 0"}},
      {with("logging:\n  level: verbose\n  format: xml\n  access_log: maybe\n"),
       {"8: logging.level: expected one of trace, debug, info, warn, error, critical, off, "
        "got \"verbose\"",
        "9: logging.format: expected json or text, got \"xml\"",
        "10: logging.access_log: expected true or false, got \"maybe\""}},
  });
}

// A readable file that is not PEM is refused by check-config, not first by serve.
TEST_F(ConfigErrors, RedisTlsFilesMustBeUsable) {
  auto result = load(with("cache:\n  redis:\n    url: rediss://redis:6380\n    tls:\n      ca_file: registry.yaml\n"));
  EXPECT_FALSE(result.value);
  EXPECT_THAT(located(result), ElementsAre(HasSubstr("10: cache.redis.tls: cache.redis.tls.ca_file ")));
  EXPECT_THAT(located(result), ElementsAre(HasSubstr("is not a PEM CA bundle")));
}

TEST_F(ConfigErrors, CredentialShapeAndNames) {
  const std::string pat = "    type: token\n    token_env: GITHUB_PROXY_BOT_PAT\n";
  expect_errors({
      {"registry: { file: registry.yaml }\n",
       {"0: credentials: at least one credential (a token or a GitHub App) is required"}},
      {creds("  []\n"),
       {"2: credentials: at least one credential (a token or a GitHub App) is required"}},
      {creds("  name: a\n"), {"2: credentials: expected a list of credentials, got a map"}},
      {creds("  - bot-pat\n  - name: a\n" + pat),
       {"3: credentials[0]: expected a map with name and type, got a scalar"}},
      {creds("  - name: Bot PAT\n" + pat),
       {"3: credentials[0].name: expected lower-case letters, digits, _ or - (it becomes a "
        "metrics label), got \"Bot PAT\""}},
      {creds("  - name: a\n" + pat + "  - name: a\n" + pat),
       {"6: credentials[1].name: duplicate credential name \"a\" (first on line 3)"}},
      {creds("  - type: token\n    token_env: GITHUB_PROXY_BOT_PAT\n"),
       {"3: credentials[0]: missing required key \"name\""}},
      {creds("  - name: a\n    token_env: GITHUB_PROXY_BOT_PAT\n"),
       {"3: credentials[0]: missing required key \"type\" (token or app)"}},
      {creds("  - name: a\n    type: pat\n"),
       {"4: credentials[0].type: expected token or app, got \"pat\""}},
  });
}

TEST_F(ConfigErrors, TokenCredentials) {
  expect_errors({
      {creds("  - name: a\n    type: token\n    token_env: GITHUB_PROXY_BOT_PAT\n"
             "    token_file: empty\n"),
       {"3: credentials[0]: set token_env or token_file, not both"}},
      {creds("  - name: a\n    type: token\n"),
       {"3: credentials[0]: needs token_env or token_file"}},
      {creds("  - name: a\n    type: token\n    token_env: UNSET_VAR\n"),
       {"5: credentials[0].token_env: environment variable UNSET_VAR is not set"}},
      {creds("  - name: a\n    type: token\n    token_env: EMPTY_VAR\n"),
       {"5: credentials[0].token_env: environment variable EMPTY_VAR is empty"}},
      {creds("  - name: a\n    type: token\n    token_env: not a name\n"),
       {"5: credentials[0].token_env: expected an environment variable name, got "
        "\"not a name\""}},
      {creds("  - name: a\n    type: token\n    token_env: [A, B]\n"),
       {"5: credentials[0].token_env: expected a single value, got a list"}},
      {creds("  - name: a\n    type: token\n    token_env:\n"),
       {"5: credentials[0].token_env: must not be empty"}},
      {creds("  - name: a\n    type: token\n    token_file: missing\n"),
       {"5: credentials[0].token_file: cannot read {dir}/missing: No such file or directory"}},
      {creds("  - name: a\n    type: token\n    token_file: empty\n"),
       {"5: credentials[0].token_file: cannot read {dir}/empty: the file is empty"}},
      {creds("  - name: a\n    type: token\n    token_env: GITHUB_PROXY_BOT_PAT\n"
             "    installation_id: 1\n"),
       {"6: credentials[0].installation_id: not valid for type token"}},
  });
}

TEST_F(ConfigErrors, AppCredentials) {
  dir_.write("app.pem", "x");
  expect_errors({
      {creds("  - name: a\n    type: app\n    app_id: 1\n"),
       {"3: credentials[0]: missing required key \"installation_id\"",
        "3: credentials[0]: missing required key \"private_key_file\""}},
      {creds("  - name: a\n    type: app\n    app_id: 1\n    client_id: Iv1.x\n"
             "    installation_id: 2\n    private_key_file: app.pem\n"),
       {"3: credentials[0]: set app_id or client_id, not both"}},
      {creds("  - name: a\n    type: app\n    installation_id: 2\n"
             "    private_key_file: app.pem\n"),
       {"3: credentials[0]: needs app_id or client_id"}},
      {creds("  - name: a\n    type: app\n    app_id: my-app\n    installation_id: 2x\n"
             "    private_key_file: nope.pem\n    token_env: GITHUB_PROXY_BOT_PAT\n"),
       {"5: credentials[0].app_id: expected the numeric App ID, got \"my-app\"",
        "6: credentials[0].installation_id: expected the numeric installation ID, got \"2x\"",
        "7: credentials[0].private_key_file: cannot read {dir}/nope.pem: No such file or "
        "directory",
        "8: credentials[0].token_env: not valid for type app"}},
  });
}

TEST_F(ConfigErrors, InlineSecretsAreRefusedWithoutEchoingThem) {
  expect_errors({
      {creds("  - name: a\n    type: token\n    token: ghp_inline_secret\n"),
       {"3: credentials[0]: needs token_env or token_file",
        "5: credentials[0].token: secrets are not allowed in the config file; reference them "
        "with token_env or token_file"}},
      {creds("  - name: a\n    type: app\n    app_id: 1\n    installation_id: 2\n"
             "    private_key: \"-----BEGIN RSA PRIVATE KEY-----\"\n"),
       {"3: credentials[0]: missing required key \"private_key_file\"",
        "7: credentials[0].private_key: secrets are not allowed in the config file; reference "
        "them with private_key_file"}},
  });
}

TEST_F(ConfigErrors, ReportsEveryProblemInFileOrder) {
  auto result = load(R"(listen:
  port: eighty
  bogus: true
upstream:
  url: ftp://x
cache:
  memory: { max_bytes: lots }
registry:
  file: missing.yaml
credentials:
  - name: a
    type: token
)");
  EXPECT_THAT(located(result),
              ElementsAre("2: listen.port: expected a port number 0-65535, got \"eighty\"",
                          "3: unknown key \"bogus\" in listen",
                          "5: upstream.url: expected an http:// or https:// URL, got \"ftp://x\"",
                          "7: cache.memory.max_bytes: expected a size like 256MiB, got \"lots\"",
                          "9: registry.file: cannot read " + (dir_.path() / "missing.yaml").string() +
                              ": No such file or directory" + registry_hint,
                          "11: credentials[0]: needs token_env or token_file"));
  for (const auto& e : result.errors) EXPECT_EQ(e.file, (dir_.path() / "proxy.yaml").string());
}

TEST_F(ConfigErrors, UnreadableFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  auto key = dir_.write("tls.key", "x");
  std::filesystem::permissions(key, std::filesystem::perms::none);
  auto result = load(with("listen:\n  tls: { cert_file: tls.crt, key_file: tls.key }\n"));
  EXPECT_THAT(located(result), ElementsAre("8: listen.tls.key_file: cannot read " +
                                           key.string() + ": Permission denied"));
}

TEST(ConfigLoadFile, MissingFileOrDirectory) {
  temp_dir dir;
  auto missing = (dir.path() / "nope.yaml").string();
  auto result = load_config(missing);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].to_string(),
            missing + ": cannot read the config file: No such file or directory");
  result = load_config(dir.path().string());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].message, "cannot read the config file: it is a directory");
  auto empty = dir.write("empty.yaml", "");
  EXPECT_THAT(located(load_config(empty.string())), ElementsAre("0: the config file is empty"));
}

}  // namespace
}  // namespace github_proxy::config
