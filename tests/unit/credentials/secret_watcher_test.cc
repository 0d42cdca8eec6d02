// The secret watcher (docs/contract.md §7 "Secrets") over a real pool and
// real files: polls are triggered by hand (poll_once), SIGHUP by
// reload_all, time by a manual clock; nothing waits for time to pass.
#include "github_proxy/credentials/secret_watcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "github_proxy/credentials/errors.h"
#include "github_proxy/metrics/metrics.h"
#include "unit/credentials/manual_clock.h"
#include "unit/credentials/rsa_test_keys.h"

namespace github_proxy::credentials {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace http = boost::beast::http;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::manual_clock;

const time_point t0 = from_epoch_seconds(1'732'492'802);

// Installation tokens for the App tests: refused (401) or issued, as told.
class switchable_issuer final : public token_issuer {
 public:
  asio::awaitable<issuer_response> request_installation_token(std::string_view, std::string) override {
    ++calls;
    issuer_response out;
    if (!accept) {
      out.status = 401;
      out.body = R"({"message":"A JSON web token could not be decoded"})";
      co_return out;
    }
    out.status = 201;
    out.body = R"({"token":"ghs_issued","expires_at":"2024-11-25T01:00:02Z","permissions":{"metadata":"read"}})";
    co_return out;
  }
  bool accept = false;
  int calls = 0;
};

template <typename T>
T run(asio::io_context& io, asio::awaitable<T> work) {
  std::optional<T> result;
  asio::co_spawn(io, std::move(work), [&](std::exception_ptr e, T value) {
    if (e) std::rethrow_exception(e);
    result.emplace(std::move(value));
  });
  io.restart();
  io.run();
  if (!result) throw std::runtime_error("the awaitable did not complete");
  return std::move(*result);
}

class SecretWatcherTest : public ::testing::Test {
 protected:
  SecretWatcherTest() : clock_(t0), issuer_(std::make_shared<switchable_issuer>()) {
    std::string pattern = ::testing::TempDir() + "secret_watcher_XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp");
    dir_ = pattern;
    cfg_.source_file = "/etc/github-proxy/config.yaml";
    logger_ = std::make_shared<spdlog::logger>("secret-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_));
    logger_->set_pattern("%l %v");
  }
  ~SecretWatcherTest() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  static void write(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  }
  // As an editor or `kubectl cp` would: a new file renamed over the old.
  static void replace(const fs::path& path, const std::string& text) {
    write(path.string() + ".tmp", text);
    fs::rename(path.string() + ".tmp", path);
  }

  void add_token(const std::string& name, const std::string& secret, fs::path file = {}) {
    config::credential_config c;
    c.name = name;
    c.type = config::credential_type::token;
    if (file.empty()) {
      file = dir_ / (name + ".token");
      write(file, secret + "\n");
    }
    c.token_file = file.string();
    c.source_line = 10 + static_cast<int>(cfg_.credentials.size());
    cfg_.credentials.push_back(c);
  }

  void add_env_token(const std::string& name, const std::string& variable, const std::string& secret) {
    ::setenv(variable.c_str(), secret.c_str(), 1);
    config::credential_config c;
    c.name = name;
    c.type = config::credential_type::token;
    c.token_env = variable;
    c.source_line = 10 + static_cast<int>(cfg_.credentials.size());
    cfg_.credentials.push_back(c);
  }

  void add_app(const std::string& name, const std::string& pem) {
    config::credential_config c;
    c.name = name;
    c.type = config::credential_type::app;
    c.app_id = "123456";
    c.installation_id = "7890123";
    c.private_key_file = (dir_ / (name + ".pem")).string();
    c.source_line = 10 + static_cast<int>(cfg_.credentials.size());
    write(c.private_key_file, pem);
    cfg_.credentials.push_back(c);
  }

  secret_watcher& make(std::chrono::milliseconds interval = 1h) {
    auto built = pool::from_config(cfg_, clock_, issuer_);
    for (const auto& e : built.errors) ADD_FAILURE() << e.to_string();
    pool_ = std::move(built.value);
    watcher_ = std::make_unique<secret_watcher>(io_.get_executor(), *pool_, interval, logger_,
                                                metrics_.secret_reloads_total);
    return *watcher_;
  }

  acquisition acquire(std::string_view preferred = {}, std::vector<std::string_view> exclude = {}) {
    return run(io_, [](pool& p, std::string_view want, std::vector<std::string_view> skip) -> asio::awaitable<acquisition> {
      co_return co_await p.acquire(resource::core, want, skip);
    }(*pool_, preferred, std::move(exclude)));
  }

  // The Authorization header the pool sends for `name` now ("" when it
  // would not send one).
  std::string authorization_of(const std::string& name) {
    std::vector<std::string_view> others;
    for (const auto& c : cfg_.credentials) {
      if (c.name != name) others.push_back(c.name);
    }
    auto got = acquire(name, others);
    if (!got.granted) return {};
    std::string value = got.granted->authorization;
    pool_->abandon(*got.granted);
    return value;
  }

  void reject(const std::string& name) {
    auto got = acquire(name);
    ASSERT_TRUE(got.granted);
    ASSERT_EQ(got.granted->name, name);
    pool_->complete(*got.granted, 401, http::fields{}, R"({"message":"Bad credentials"})");
  }

  credential_state state_of(std::string_view name) const {
    for (const auto& r : pool_->report()) {
      if (r.name == name) return r.state;
    }
    throw std::runtime_error("no such credential");
  }
  credential_report report_of(std::string_view name) const {
    for (auto& r : pool_->report()) {
      if (r.name == name) return r;
    }
    throw std::runtime_error("no such credential");
  }

  double count(const char* result) { return metrics_.secret_reloads_total.Add({{"result", result}}).Value(); }

  fs::path dir_;
  manual_clock clock_;
  std::shared_ptr<switchable_issuer> issuer_;
  config::config cfg_;
  asio::io_context io_;
  metrics::families metrics_{"test"};
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<pool> pool_;
  std::unique_ptr<secret_watcher> watcher_;
};

TEST_F(SecretWatcherTest, NothingChangedNothingReloaded) {
  add_token("a", "ghp_aaaa");
  auto& w = make();
  EXPECT_EQ(count("ok"), 0);  // both series exist from the start
  EXPECT_EQ(count("error"), 0);
  const auto result = w.poll_once();
  EXPECT_EQ(result.reloaded, 0u);
  EXPECT_EQ(result.failed, 0u);
  // A file rewritten with the same bytes is no change either.
  replace(cfg_.credentials[0].token_file, "ghp_aaaa\n");
  EXPECT_EQ(w.poll_once().reloaded, 0u);
  EXPECT_EQ(count("ok"), 0);
}

// Only the changed credential is reloaded: the other, broken one, whose file
// did not change, stays broken (reload_secrets would have restored it).
TEST_F(SecretWatcherTest, OnlyTheChangedCredentialIsReloaded) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  add_token("c", "ghp_cccc");
  auto& w = make();
  reject("b");
  ASSERT_EQ(state_of("b"), credential_state::broken);
  auto before = acquire("c");  // sent with c's old token, answered after the rotation

  replace(cfg_.credentials[2].token_file, "ghp_rotated\n");
  const auto result = w.poll_once();
  EXPECT_EQ(result.reloaded, 1u);
  EXPECT_EQ(result.failed, 0u);
  EXPECT_EQ(count("ok"), 1);
  EXPECT_EQ(authorization_of("c"), "token ghp_rotated");
  EXPECT_EQ(authorization_of("a"), "token ghp_aaaa");
  EXPECT_EQ(state_of("b"), credential_state::broken) << "b's file did not change";
  EXPECT_THAT(log_.str(), HasSubstr("info credential c: " + cfg_.credentials[2].token_file +
                                    " changed; the new secret is in use"));
  EXPECT_THAT(log_.str(), Not(HasSubstr("ghp_rotated")));

  // The old token's late 401 does not break the new one.
  ASSERT_TRUE(before.granted);
  pool_->complete(*before.granted, 401, http::fields{}, R"({"message":"Bad credentials"})");
  EXPECT_EQ(state_of("c"), credential_state::ok);

  EXPECT_EQ(w.poll_once().reloaded, 0u);
  EXPECT_EQ(count("ok"), 1);
}

// A periodic poll must not do what SIGHUP does: a broken token whose file
// is the same stays broken, however many polls go by.
TEST_F(SecretWatcherTest, ABrokenUnchangedTokenStaysBrokenAcrossPolls) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  auto& w = make();
  reject("a");
  for (int i = 0; i < 3; ++i) {
    clock_.advance(10s);
    EXPECT_EQ(w.poll_once().reloaded, 0u);
    EXPECT_EQ(state_of("a"), credential_state::broken) << "poll " << i;
  }
  EXPECT_EQ(count("ok") + count("error"), 0);

  // A new token in the file is the operator's answer: usable at once.
  replace(cfg_.credentials[0].token_file, "ghp_new_a\n");
  EXPECT_EQ(w.poll_once().reloaded, 1u);
  EXPECT_EQ(state_of("a"), credential_state::ok);
  EXPECT_EQ(authorization_of("a"), "token ghp_new_a");
}

// Only the file's whitespace changed: the same token, so a broken one
// stays broken (only its secret matters), and the change is still counted.
TEST_F(SecretWatcherTest, TheSameTokenRewrittenKeepsItsState) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  auto& w = make();
  reject("a");
  replace(cfg_.credentials[0].token_file, "  ghp_aaaa\r\n");
  EXPECT_EQ(w.poll_once().reloaded, 1u);
  EXPECT_EQ(count("ok"), 1);
  EXPECT_EQ(state_of("a"), credential_state::broken);
  EXPECT_THAT(log_.str(), HasSubstr("changed but holds the same token"));
}

TEST_F(SecretWatcherTest, AnInvalidNewFileKeepsTheOldSecretAndIsCountedOnce) {
  add_token("a", "ghp_aaaa");
  auto& w = make();
  const auto& file = cfg_.credentials[0].token_file;
  replace(file, "ghp_half pasted\n");
  auto result = w.poll_once();
  EXPECT_EQ(result.failed, 1u);
  EXPECT_EQ(result.reloaded, 0u);
  EXPECT_EQ(count("error"), 1);
  EXPECT_EQ(authorization_of("a"), "token ghp_aaaa");
  EXPECT_THAT(log_.str(), HasSubstr("error credential a: the token contains whitespace or control characters "
                                    "(token_file " + file + "); keeping the previous secret"));
  EXPECT_THAT(log_.str(), Not(HasSubstr("pasted")));

  // Re-read at every poll, counted once.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(w.poll_once().failed, 0u);
  EXPECT_EQ(count("error"), 1);

  // Another invalid content is another failure.
  replace(file, "\n");
  EXPECT_EQ(w.poll_once().failed, 1u);
  EXPECT_EQ(count("error"), 2);
  EXPECT_THAT(log_.str(), HasSubstr("credential a: the token is empty"));

  // Fixed: picked up at the next poll.
  replace(file, "ghp_fixed\n");
  EXPECT_EQ(w.poll_once().reloaded, 1u);
  EXPECT_EQ(count("ok"), 1);
  EXPECT_EQ(authorization_of("a"), "token ghp_fixed");
}

TEST_F(SecretWatcherTest, AMissingFileIsAnErrorOnceAndItsReturnIsNoReload) {
  add_token("a", "ghp_aaaa");
  auto& w = make();
  const auto& file = cfg_.credentials[0].token_file;
  fs::remove(file);
  EXPECT_EQ(w.poll_once().failed, 1u);
  EXPECT_THAT(log_.str(),
              HasSubstr("credential a: cannot read token_file " + file + ": No such file or directory"));
  EXPECT_EQ(w.poll_once().failed, 0u);
  EXPECT_EQ(count("error"), 1);
  EXPECT_EQ(authorization_of("a"), "token ghp_aaaa");

  write(file, "ghp_aaaa\n");  // back as it was: nothing to reload
  EXPECT_EQ(w.poll_once().reloaded, 0u);
  EXPECT_EQ(count("ok"), 0);
  // Gone again: a new failure, counted again.
  fs::remove(file);
  EXPECT_EQ(w.poll_once().failed, 1u);
  EXPECT_EQ(count("error"), 2);
}

// Reading is bounded: a huge file or a FIFO swapped in is an error, read
// neither whole nor waited on.
TEST_F(SecretWatcherTest, OversizedFilesAndFifosAreRefusedNotRead) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  auto& w = make();
  replace(cfg_.credentials[0].token_file, std::string(64 * 1024 + 1, 'x'));
  fs::remove(cfg_.credentials[1].token_file);
  ASSERT_EQ(::mkfifo(cfg_.credentials[1].token_file.c_str(), 0600), 0);
  EXPECT_EQ(w.poll_once().failed, 2u);
  EXPECT_THAT(log_.str(), HasSubstr("credential a: cannot read token_file " + cfg_.credentials[0].token_file +
                                    ": larger than 64 KiB"));
  EXPECT_THAT(log_.str(), HasSubstr("credential b: cannot read token_file " + cfg_.credentials[1].token_file +
                                    ": not a regular file"));
  EXPECT_EQ(authorization_of("a"), "token ghp_aaaa");
  EXPECT_EQ(authorization_of("b"), "token ghp_bbbb");
}

// A Kubernetes Secret volume: bot-pat -> ..data/bot-pat, ..data ->
// ..2026_a. The kubelet writes a new timestamped directory and renames a
// new ..data link over the old one; the bot-pat link itself never changes.
TEST_F(SecretWatcherTest, TheKubeletsDataSymlinkSwapIsSeen) {
  const fs::path volume = dir_ / "secret";
  fs::create_directories(volume / "..2026_a");
  write(volume / "..2026_a" / "bot-pat", "ghp_before\n");
  fs::create_directory_symlink("..2026_a", volume / "..data");
  fs::create_symlink("..data/bot-pat", volume / "bot-pat");
  add_token("bot-pat", "", volume / "bot-pat");
  auto& w = make();
  EXPECT_EQ(authorization_of("bot-pat"), "token ghp_before");
  struct stat link_before {};
  ASSERT_EQ(::lstat((volume / "bot-pat").c_str(), &link_before), 0);

  fs::create_directories(volume / "..2026_b");
  write(volume / "..2026_b" / "bot-pat", "ghp_after\n");
  fs::create_directory_symlink("..2026_b", volume / "..data_tmp");
  fs::rename(volume / "..data_tmp", volume / "..data");
  fs::remove_all(volume / "..2026_a");

  struct stat link_after {};
  ASSERT_EQ(::lstat((volume / "bot-pat").c_str(), &link_after), 0);
  EXPECT_EQ(link_after.st_ino, link_before.st_ino) << "the name's own link is untouched";
  EXPECT_EQ(link_after.st_mtim.tv_nsec, link_before.st_mtim.tv_nsec);
  EXPECT_EQ(link_after.st_mtim.tv_sec, link_before.st_mtim.tv_sec);

  EXPECT_EQ(w.poll_once().reloaded, 1u);
  EXPECT_EQ(authorization_of("bot-pat"), "token ghp_after");
}

// token_env cannot change under a running process: polls leave it alone;
// SIGHUP re-reads it like every other credential.
TEST_F(SecretWatcherTest, TokenEnvIsNotPolledAndSighupCountsEveryCredential) {
  add_env_token("env", "GHP_SECRET_WATCHER_TEST_TOKEN", "ghp_env");
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  auto& w = make();
  ::setenv("GHP_SECRET_WATCHER_TEST_TOKEN", "ghp_env_changed", 1);
  EXPECT_EQ(w.poll_once().reloaded, 0u);
  EXPECT_EQ(authorization_of("env"), "token ghp_env");

  reject("a");
  fs::remove(cfg_.credentials[2].token_file);
  w.reload_all();
  io_.restart();
  io_.run();
  EXPECT_EQ(count("ok"), 2);  // env and a
  EXPECT_EQ(count("error"), 1);  // b
  EXPECT_EQ(authorization_of("env"), "token ghp_env_changed");
  EXPECT_EQ(state_of("a"), credential_state::ok) << "SIGHUP: the operator says it works";
  EXPECT_EQ(authorization_of("b"), "token ghp_bbbb");
  EXPECT_THAT(log_.str(), HasSubstr("error /etc/github-proxy/config.yaml:12: credential b: cannot read token_file"));
  // The failure SIGHUP reported is not reported again by the next poll.
  EXPECT_EQ(w.poll_once().failed, 0u);
  EXPECT_EQ(count("error"), 1);
  ::unsetenv("GHP_SECRET_WATCHER_TEST_TOKEN");
}

// An App whose renewals fail (GitHub refuses the key's JWTs): a new key file
// makes it retry at once; an invalid one keeps the old key.
TEST_F(SecretWatcherTest, ANewAppKeyRetriesAFailingApp) {
  add_app("app", testing::generate_rsa_key().private_pkcs1);
  auto& w = make();
  EXPECT_FALSE(acquire().granted);
  ASSERT_EQ(issuer_->calls, 1);
  ASSERT_EQ(report_of("app").renewal_error, make_error_code(credential_error::token_rejected));

  replace(cfg_.credentials[0].private_key_file, "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n");
  EXPECT_EQ(w.poll_once().failed, 1u);
  EXPECT_THAT(log_.str(), HasSubstr("credential app: the GitHub App private key is not an RSA private key"));
  EXPECT_EQ(report_of("app").renewal_error, make_error_code(credential_error::token_rejected)) << "still failing";

  replace(cfg_.credentials[0].private_key_file, testing::generate_rsa_key().private_pkcs8);
  EXPECT_EQ(w.poll_once().reloaded, 1u);
  EXPECT_FALSE(report_of("app").renewal_error) << "restarted with the new key";
  issuer_->accept = true;
  auto got = acquire();
  ASSERT_TRUE(got.granted) << "retried at once, not after the backoff";
  EXPECT_EQ(got.granted->authorization, "Bearer ghs_issued");
  EXPECT_EQ(issuer_->calls, 2);
}

// The timer loop, on a real io_context: it sees a change by itself (waited
// for with a deadline), and stop() ends it.
TEST_F(SecretWatcherTest, TimerLoopReloadsAndStops) {
  add_token("a", "ghp_aaaa");
  auto& w = make(1ms);
  w.start();
  replace(cfg_.credentials[0].token_file, "ghp_looped\n");
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  io_.restart();
  while (count("ok") < 1 && std::chrono::steady_clock::now() < deadline) io_.run_one_for(10ms);
  EXPECT_EQ(count("ok"), 1);
  w.stop();
  io_.run_for(5s);
  EXPECT_TRUE(io_.stopped()) << "the poll loop did not end";
  EXPECT_EQ(authorization_of("a"), "token ghp_looped");
}

TEST_F(SecretWatcherTest, ZeroIntervalNeverPolls) {
  add_token("a", "ghp_aaaa");
  auto& w = make(0ms);
  w.start();
  replace(cfg_.credentials[0].token_file, "ghp_unseen\n");
  io_.restart();
  io_.run_for(1s);
  EXPECT_TRUE(io_.stopped()) << "nothing was scheduled";
  EXPECT_EQ(count("ok"), 0);
  w.stop();
  EXPECT_EQ(authorization_of("a"), "token ghp_aaaa");
}

}  // namespace
}  // namespace github_proxy::credentials
