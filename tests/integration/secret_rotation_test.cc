// Credentials rotate without a restart (docs/contract.md §7 "Secrets"; issue
// 18): the real daemon reads its PAT from a file laid out as Kubernetes
// mounts a Secret volume, GitHub (the fake) has revoked that token, and the
// kubelet's update — a new timestamped directory and the `..data` link
// swapped to it — is picked up by the secret watcher: the next request is
// served with the new token by the same process, with no SIGHUP.
//
// Nothing sleeps to let time pass: the test polls /metrics until the
// reload is counted, within a deadline.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "support/harness.h"
#include "support/pool_helpers.h"

namespace ghp_test {
namespace {

namespace fs = std::filesystem;
using namespace pool_support;
using namespace std::chrono_literals;

const std::string client_token = "ghpx_rotation_ci";
const std::string old_secret = "rotation-token-old";
const std::string new_secret = "rotation-token-new";

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

TEST(SecretRotation, AKubernetesSecretSwapIsUsedWithoutRestartOrSighup) {
  temp_dir dir;
  fake_github fake(dir);

  // The Secret volume: bot-pat -> ..data/bot-pat, ..data -> ..2026_a.
  const fs::path volume = dir.file("secret");
  fs::create_directories(volume / "..2026_a");
  write_file(volume / "..2026_a" / "bot-pat", old_secret + "\n");
  fs::create_directory_symlink("..2026_a", volume / "..data");
  fs::create_symlink("..data/bot-pat", volume / "bot-pat");

  // GitHub no longer takes the old token.
  fake.control("POST", "/_fake/revoke", R"({"token":")" + old_secret + R"("})");

  daemon_options opts;
  opts.upstream_url = fake.url();
  credential_spec pat;
  pat.name = "bot-pat";
  pat.token_file = (volume / "bot-pat").string();
  opts.credentials = {pat};
  opts.clients = {{"ci", client_token, ""}};
  opts.pool_yaml = "pool:\n  secret_reload_interval: 100ms\n";
  pool_daemon proxy(dir, std::move(opts));
  const pid_t pid = proxy.process().pid();

  const auto refused = request(proxy.where(), "GET", fresh_path("rotation", 0), {auth_of(client_token)});
  EXPECT_EQ(refused.result_int(), 401) << refused.body();
  ASSERT_TRUE(proxy.state_becomes("bot-pat", "broken"));
  EXPECT_EQ(proxy.metric("github_proxy_secret_reloads_total", {{"result", "ok"}}), 0);
  EXPECT_GT(proxy.metric("github_proxy_registry_last_success_timestamp_seconds"), 1.7e9)
      << "the initial registry load is a success";

  // What the kubelet does on a Secret update: write the new directory, point
  // a new link at it, rename that over ..data (atomic), drop the old one.
  fs::create_directories(volume / "..2026_b");
  write_file(volume / "..2026_b" / "bot-pat", new_secret + "\n");
  fs::create_directory_symlink("..2026_b", volume / "..data_tmp");
  fs::rename(volume / "..data_tmp", volume / "..data");
  fs::remove_all(volume / "..2026_a");

  double reloaded = 0;
  ASSERT_TRUE(poll_until(
      [&] { return (reloaded = proxy.metric("github_proxy_secret_reloads_total", {{"result", "ok"}})) >= 1; }, 10s,
      20ms))
      << proxy.log();
  EXPECT_EQ(reloaded, 1);
  EXPECT_EQ(proxy.metric("github_proxy_secret_reloads_total", {{"result", "error"}}), 0);
  EXPECT_EQ(proxy.metric("github_proxy_credential_state", {{"credential", "bot-pat"}, {"state", "ok"}}), 1)
      << "a new token starts unbroken";

  const auto served = request(proxy.where(), "GET", fresh_path("rotation", 1), {auth_of(client_token)});
  EXPECT_EQ(served.result_int(), 200) << served.body();
  EXPECT_EQ(counters_of(fake, new_secret).status("200"), 1);
  EXPECT_EQ(counters_of(fake, old_secret).requests, counters_of(fake, old_secret).status("401"))
      << "the old token was not sent again after the swap";

  // The same process, never signalled.
  EXPECT_TRUE(proxy.process().running());
  EXPECT_EQ(proxy.process().pid(), pid);
  const auto log = proxy.log();
  EXPECT_EQ(log.find("SIGHUP"), std::string::npos) << log;
  EXPECT_NE(log.find("credential bot-pat: " + (volume / "bot-pat").string() + " changed; the new secret is in use"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find(new_secret), std::string::npos) << "a secret in the log";
  EXPECT_EQ(proxy.metric("github_proxy_secret_reloads_total", {{"result", "ok"}}), 1) << "counted once";
}

}  // namespace
}  // namespace ghp_test
