// load_admin_config: what `github-proxy healthcheck` reads, without the
// secrets and registry that load_config insists on.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "github_proxy/config/load_admin.h"
#include "unit/config/config_test_support.h"

namespace github_proxy::config {
namespace {

using test_support::fake_env;
using test_support::temp_dir;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// A daemon's config whose secret variable, token file and registry are all
// missing where the probe runs.
constexpr const char* daemon_config = R"(admin:
  address: 0.0.0.0
  port: 9191
registry:
  file: /nonexistent/registry.yaml
credentials:
  - name: bot-pat
    type: token
    token_env: GITHUB_PROXY_BOT_PAT
  - name: file-pat
    type: token
    token_file: /nonexistent/secrets/pat
)";

TEST(LoadAdminConfig, NeedsNoSecretNorRegistry) {
  temp_dir dir;
  const auto file = dir.write("proxy.yaml", daemon_config).string();
  fake_env env({});
  ASSERT_FALSE(load_config(file, &fake_env::lookup).value) << "load_config checks the secrets";
  const auto loaded = load_admin_config(file, &fake_env::lookup);
  ASSERT_TRUE(loaded.value) << (loaded.errors.empty() ? "" : loaded.errors.front().to_string());
  EXPECT_EQ(loaded.value->address, "0.0.0.0");
  EXPECT_EQ(loaded.value->port, 9191);
}

TEST(LoadAdminConfig, DefaultsAndEnvironmentOverridesAsTheDaemon) {
  temp_dir dir;
  const auto file = dir.write("proxy.yaml", "listen:\n  port: 8080\n").string();
  fake_env env({});
  auto loaded = load_admin_config(file, &fake_env::lookup);
  ASSERT_TRUE(loaded.value);
  EXPECT_EQ(loaded.value->address, "127.0.0.1");
  EXPECT_EQ(loaded.value->port, 9090);

  env.set("GITHUB_PROXY_ADMIN_ADDRESS", "::");
  env.set("GITHUB_PROXY_ADMIN_PORT", "9292");
  loaded = load_admin_config(file, &fake_env::lookup);
  ASSERT_TRUE(loaded.value);
  EXPECT_EQ(loaded.value->address, "::");
  EXPECT_EQ(loaded.value->port, 9292);
}

TEST(LoadAdminConfig, ReportsOnlyProblemsWithTheAdminSection) {
  temp_dir dir;
  const auto file = dir.write("proxy.yaml", "listen:\n  port: lots\nadmin:\n  port: 70000\n").string();
  fake_env env({});
  const auto loaded = load_admin_config(file, &fake_env::lookup);
  EXPECT_FALSE(loaded.value);
  ASSERT_THAT(loaded.errors, SizeIs(1));
  EXPECT_EQ(loaded.errors[0].line, 4);
  EXPECT_THAT(loaded.errors[0].message, HasSubstr("admin.port"));
}

TEST(LoadAdminConfig, AnUnreadableOrBrokenFileIsAnError) {
  temp_dir dir;
  fake_env env({});
  auto loaded = load_admin_config((dir.path() / "missing.yaml").string(), &fake_env::lookup);
  ASSERT_THAT(loaded.errors, SizeIs(1));
  EXPECT_THAT(loaded.errors[0].message, HasSubstr("cannot read the config file"));

  loaded = load_admin_config(dir.write("bad.yaml", "admin: [\n").string(), &fake_env::lookup);
  ASSERT_THAT(loaded.errors, SizeIs(1));
  EXPECT_THAT(loaded.errors[0].message, HasSubstr("YAML syntax error"));

  loaded = load_admin_config(dir.write("empty-address.yaml", "admin:\n  address: \"\"\n").string(),
                             &fake_env::lookup);
  ASSERT_THAT(loaded.errors, SizeIs(1));
  EXPECT_THAT(loaded.errors[0].message, HasSubstr("admin.address: must not be empty"));
}

}  // namespace
}  // namespace github_proxy::config
