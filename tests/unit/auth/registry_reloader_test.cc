#include "github_proxy/auth/registry_reloader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "github_proxy/metrics/metrics.h"

namespace github_proxy::auth {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using outcome = registry_reloader::poll_outcome;
using testing::HasSubstr;

std::string registry_with(std::initializer_list<const char*> names) {
  std::string yaml = "version: 1\nclients:\n";
  for (const char* name : names) {
    yaml += std::string("  - name: ") + name + "\n    token: token-of-" + name + "\n";
  }
  return yaml;
}

const std::string invalid_registry =
    "version: 1\nclients:\n  - name: BAD NAME\n    token: leaked-secret\n";

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

// Editors save by writing a new file and renaming it over the old one.
void replace_file(const fs::path& path, const std::string& content) {
  const fs::path temporary = path.string() + ".tmp";
  write_file(temporary, content);
  fs::rename(temporary, path);
}

class RegistryReloaderTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "registry_reloader_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    logger_ = std::make_shared<spdlog::logger>(
        "registry-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_));
    logger_->set_pattern("%l %v");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<registry_reloader> make(const fs::path& file,
                                          std::chrono::milliseconds every = 1h) {
    return std::make_unique<registry_reloader>(ioc_.get_executor(), store_, file.string(), every,
                                               logger_, metrics_.registry_reloads_total, gauge_,
                                               last_success_, [this] { return now_; });
  }
  double count(const char* result) {
    return metrics_.registry_reloads_total.Add({{"result", result}}).Value();
  }
  std::vector<std::string> names() {
    std::vector<std::string> out;
    for (const auto& c : clients(*store_.current())) out.push_back(c.name);
    return out;
  }

  fs::path dir_;
  boost::asio::io_context ioc_;
  registry_store store_;
  metrics::families metrics_{"test"};
  prometheus::Gauge& gauge_ = metrics_.registry_clients.Add({});
  prometheus::Gauge& last_success_ = metrics_.registry_last_success.Add({});
  std::chrono::system_clock::time_point now_{std::chrono::seconds(1'700'000'000)};
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> logger_;
};

TEST_F(RegistryReloaderTest, InitialLoadInstallsAndSetsGauge) {
  const fs::path file = dir_ / "registry.yaml";
  write_file(file, registry_with({"a", "b"}));
  auto reloader = make(file);
  const auto result = reloader->load_initial();
  EXPECT_TRUE(result.errors.empty());
  EXPECT_THAT(names(), testing::ElementsAre("a", "b"));
  EXPECT_EQ(gauge_.Value(), 2);
  EXPECT_EQ(count("success"), 0);  // start-up is not a reload
  EXPECT_EQ(count("error"), 0);    // but both series exist from the start
  EXPECT_EQ(reloader->poll_once(), outcome::unchanged);
}

// github_proxy_registry_last_success_timestamp_seconds: the Unix time of
// every load that installed a registry, the first included; a failed or
// unchanged poll leaves it.
TEST_F(RegistryReloaderTest, LastSuccessIsTheTimeOfEveryGoodLoad) {
  const fs::path file = dir_ / "registry.yaml";
  write_file(file, registry_with({"a"}));
  auto reloader = make(file);
  now_ += 250ms;
  reloader->load_initial();
  EXPECT_DOUBLE_EQ(last_success_.Value(), 1'700'000'000.25);

  now_ += 60s;
  replace_file(file, invalid_registry);
  EXPECT_EQ(reloader->poll_once(), outcome::failed);
  EXPECT_DOUBLE_EQ(last_success_.Value(), 1'700'000'000.25) << "a failure is not a success";
  now_ += 60s;
  EXPECT_EQ(reloader->poll_once(), outcome::unchanged);
  EXPECT_DOUBLE_EQ(last_success_.Value(), 1'700'000'000.25);

  now_ += 60s;
  replace_file(file, registry_with({"a", "b"}));
  EXPECT_EQ(reloader->poll_once(), outcome::reloaded);
  EXPECT_DOUBLE_EQ(last_success_.Value(), 1'700'000'180.25);
}

// Reverting an invalid edit to the registry in use installs nothing, but the
// file is good again: without the stamp, "registry stays invalid" would fire
// until the next real change.
TEST_F(RegistryReloaderTest, RevertingAnInvalidEditIsASuccess) {
  const fs::path file = dir_ / "registry.yaml";
  write_file(file, registry_with({"a"}));
  auto reloader = make(file);
  reloader->load_initial();
  now_ += 60s;
  replace_file(file, invalid_registry);
  EXPECT_EQ(reloader->poll_once(), outcome::failed);
  now_ += 60s;
  replace_file(file, registry_with({"a"}));
  EXPECT_EQ(reloader->poll_once(), outcome::unchanged);
  EXPECT_DOUBLE_EQ(last_success_.Value(), 1'700'000'120.0);
}

// A start-up load that failed is no success; the first poll that installs
// a registry (the baseline) is.
TEST_F(RegistryReloaderTest, LastSuccessStartsWithTheFirstGoodLoad) {
  const fs::path file = dir_ / "registry.yaml";
  write_file(file, invalid_registry);
  auto reloader = make(file);
  reloader->load_initial();
  EXPECT_EQ(last_success_.Value(), 0);
  now_ += 5s;
  replace_file(file, registry_with({"a"}));
  EXPECT_EQ(reloader->poll_once(), outcome::reloaded);
  EXPECT_DOUBLE_EQ(last_success_.Value(), 1'700'000'005.0);
}

TEST_F(RegistryReloaderTest, InitialLoadReportsErrorsAndInstallsNothing) {
  const fs::path file = dir_ / "registry.yaml";
  write_file(file, invalid_registry);
  auto reloader = make(file);
  const auto result = reloader->load_initial();
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].line, 3);
  EXPECT_EQ(store_.current(), nullptr);
}

TEST_F(RegistryReloaderTest, EditorReplacingTheFile) {
  const fs::path file = dir_ / "registry.yaml";
  write_file(file, registry_with({"a"}));
  auto reloader = make(file);
  reloader->load_initial();

  replace_file(file, registry_with({"a", "b", "c"}));
  EXPECT_EQ(reloader->poll_once(), outcome::reloaded);
  EXPECT_THAT(names(), testing::ElementsAre("a", "b", "c"));
  EXPECT_EQ(gauge_.Value(), 3);
  EXPECT_EQ(count("success"), 1);
  EXPECT_THAT(log_.str(), HasSubstr("registry reloaded: 3 clients"));
  EXPECT_EQ(reloader->poll_once(), outcome::unchanged);
}

TEST_F(RegistryReloaderTest, InPlaceRewriteWithSameSizeIsSeenByContent) {
  const fs::path file = dir_ / "registry.yaml";
  write_file(file, registry_with({"aa"}));
  auto reloader = make(file);
  reloader->load_initial();
  const auto before = fs::last_write_time(file);
  write_file(file, registry_with({"bb"}));  // same size, same inode
  fs::last_write_time(file, before);        // and the same mtime
  EXPECT_EQ(reloader->poll_once(), outcome::reloaded);
  EXPECT_THAT(names(), testing::ElementsAre("bb"));
}

TEST_F(RegistryReloaderTest, TouchWithoutChangeDoesNotReload) {
  const fs::path file = dir_ / "registry.yaml";
  write_file(file, registry_with({"a"}));
  auto reloader = make(file);
  reloader->load_initial();
  const auto installed = store_.current();
  replace_file(file, registry_with({"a"}));  // new inode, same content
  EXPECT_EQ(reloader->poll_once(), outcome::unchanged);
  EXPECT_EQ(store_.current(), installed);
  EXPECT_EQ(count("success"), 0);
}

// A Kubernetes ConfigMap volume: registry.yaml → ..data/registry.yaml, and
// an update swaps the ..data symlink to a new timestamped directory.
TEST_F(RegistryReloaderTest, ConfigMapSymlinkSwap) {
  fs::create_directory(dir_ / "..2024_01");
  write_file(dir_ / "..2024_01" / "registry.yaml", registry_with({"a"}));
  fs::create_directory_symlink("..2024_01", dir_ / "..data");
  fs::create_symlink("..data/registry.yaml", dir_ / "registry.yaml");
  auto reloader = make(dir_ / "registry.yaml");
  reloader->load_initial();
  EXPECT_THAT(names(), testing::ElementsAre("a"));

  fs::create_directory(dir_ / "..2024_02");
  write_file(dir_ / "..2024_02" / "registry.yaml", registry_with({"a", "b"}));
  fs::create_directory_symlink("..2024_02", dir_ / "..data_tmp");
  fs::rename(dir_ / "..data_tmp", dir_ / "..data");  // atomic swap, as kubelet does
  fs::remove_all(dir_ / "..2024_01");

  EXPECT_EQ(reloader->poll_once(), outcome::reloaded);
  EXPECT_THAT(names(), testing::ElementsAre("a", "b"));
  EXPECT_EQ(reloader->poll_once(), outcome::unchanged);
}

TEST_F(RegistryReloaderTest, InvalidChangeKeepsOldSnapshotAndIsCountedOnce) {
  const fs::path file = dir_ / "registry.yaml";
  write_file(file, registry_with({"a"}));
  auto reloader = make(file);
  reloader->load_initial();
  const auto installed = store_.current();

  replace_file(file, invalid_registry);
  EXPECT_EQ(reloader->poll_once(), outcome::failed);
  EXPECT_EQ(store_.current(), installed);
  EXPECT_EQ(gauge_.Value(), 1);
  EXPECT_EQ(count("error"), 1);
  EXPECT_THAT(log_.str(), HasSubstr("error registry reload failed: " + file.string() +
                                    ":3: client name 'BAD NAME' must match"));
  EXPECT_THAT(log_.str(), testing::Not(HasSubstr("leaked-secret")));

  EXPECT_EQ(reloader->poll_once(), outcome::unchanged);  // same broken file
  EXPECT_EQ(count("error"), 1);

  replace_file(file, registry_with({"a", "z"}));  // fixed
  EXPECT_EQ(reloader->poll_once(), outcome::reloaded);
  EXPECT_THAT(names(), testing::ElementsAre("a", "z"));
  EXPECT_EQ(count("success"), 1);
}

TEST_F(RegistryReloaderTest, MissingFileKeepsOldSnapshot) {
  const fs::path file = dir_ / "registry.yaml";
  write_file(file, registry_with({"a"}));
  auto reloader = make(file);
  reloader->load_initial();
  fs::remove(file);
  EXPECT_EQ(reloader->poll_once(), outcome::failed);
  EXPECT_EQ(reloader->poll_once(), outcome::unchanged);
  EXPECT_EQ(count("error"), 1);
  EXPECT_THAT(names(), testing::ElementsAre("a"));
  write_file(file, registry_with({"a"}));  // back as it was: nothing to install
  EXPECT_EQ(reloader->poll_once(), outcome::unchanged);
}

// `serve` may load the registry itself and hand the store to the reloader:
// the first poll then establishes the baseline without counting a reload.
TEST_F(RegistryReloaderTest, WithoutInitialLoadFirstPollIsTheBaseline) {
  const fs::path file = dir_ / "registry.yaml";
  write_file(file, registry_with({"a"}));
  store_.replace(load_registry(file.string()).snapshot);
  auto reloader = make(file);
  EXPECT_EQ(reloader->poll_once(), outcome::reloaded);
  EXPECT_THAT(names(), testing::ElementsAre("a"));
  EXPECT_EQ(gauge_.Value(), 1);
  EXPECT_EQ(count("success"), 0);
  EXPECT_EQ(reloader->poll_once(), outcome::unchanged);

  replace_file(file, invalid_registry);
  EXPECT_EQ(reloader->poll_once(), outcome::failed);
  EXPECT_EQ(count("error"), 1);
  EXPECT_THAT(names(), testing::ElementsAre("a"));
}

// The timer loop on a real io_context: it notices a change by itself, and
// stop() ends it so that run() runs out of work.
TEST_F(RegistryReloaderTest, TimerLoopReloadsAndStops) {
  const fs::path file = dir_ / "registry.yaml";
  write_file(file, registry_with({"a"}));
  auto reloader = make(file, 1ms);
  reloader->load_initial();
  reloader->start();
  ioc_.run_for(5ms);
  replace_file(file, registry_with({"a", "b"}));

  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (client_count(*store_.current()) != 2 && std::chrono::steady_clock::now() < deadline) {
    ioc_.run_one_for(10ms);
  }
  EXPECT_EQ(client_count(*store_.current()), 2u);

  reloader->stop();
  ioc_.run_for(5s);
  EXPECT_TRUE(ioc_.stopped()) << "the poll loop did not end";
}

TEST_F(RegistryReloaderTest, StopBeforeRunEndsImmediately) {
  const fs::path file = dir_ / "registry.yaml";
  write_file(file, registry_with({"a"}));
  auto reloader = make(file, 1ms);
  reloader->start();
  reloader->stop();
  ioc_.run_for(5s);
  EXPECT_TRUE(ioc_.stopped());
  EXPECT_EQ(store_.current(), nullptr);  // never polled
}

TEST_F(RegistryReloaderTest, DestroyingTheReloaderWhileWaitingIsSafe) {
  const fs::path file = dir_ / "registry.yaml";
  write_file(file, registry_with({"a"}));
  auto reloader = make(file, 1h);
  reloader->start();
  ioc_.run_for(5ms);  // the loop is now waiting on its timer
  reloader.reset();
  ioc_.run_for(5s);
  EXPECT_TRUE(ioc_.stopped());
}

}  // namespace
}  // namespace github_proxy::auth
