// An App installation-token renewal that "succeeds" with a token already
// due for renewal (inside its expiry margin, or shorter-lived than
// renew_before) must back off like a failed one instead of asking GitHub
// again at once, while the token is still used for as long as it is usable
// (issue 20). The state machine first, then the pool with its injected clock.
#include "github_proxy/credentials/installation_token.h"

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "github_proxy/config/config.h"
#include "github_proxy/credentials/pool.h"
#include "unit/credentials/manual_clock.h"
#include "unit/credentials/rsa_test_keys.h"

namespace github_proxy::credentials {
namespace {

namespace asio = boost::asio;
using std::chrono::minutes;
using std::chrono::seconds;
using access = installation_token::access;

const time_point t0 = from_epoch_seconds(1'732'492'802);  // 2024-11-25T00:00:02Z

// --- the state machine ---------------------------------------------------------

TEST(InstallationTokenBackoff, ATokenInsideItsExpiryMarginBacksOffLikeAFailure) {
  installation_token token;  // default policy: margin 30 s, backoff 5 s doubling
  time_point now = t0;
  const seconds waits[] = {seconds(5), seconds(10), seconds(20), seconds(40)};
  for (const auto wait : waits) {
    ASSERT_TRUE(token.try_begin_renewal(now));
    token.renewal_succeeded(issued_token{"ghs_short", now + seconds(20)}, now);
    EXPECT_FALSE(token.current(now)) << "inside the margin: never handed out";
    EXPECT_EQ(token.state(now), token_state::failed);
    EXPECT_EQ(token.check(now), access::unavailable);
    EXPECT_EQ(token.next_attempt_at(), now + wait);
    EXPECT_FALSE(token.renewal_due(now + wait - seconds(1))) << "renewed again before the backoff";
    now += wait;
    EXPECT_TRUE(token.renewal_due(now));
  }
  // A proper token ends the streak.
  ASSERT_TRUE(token.try_begin_renewal(now));
  token.renewal_succeeded(issued_token{"ghs_hour", now + minutes(60)}, now);
  EXPECT_EQ(token.state(now), token_state::valid);
  EXPECT_FALSE(token.next_attempt_at());
}

TEST(InstallationTokenBackoff, AShortLivedTokenIsUsedWhileRenewalsBackOff) {
  installation_token token;
  ASSERT_TRUE(token.try_begin_renewal(t0));
  // Two minutes: usable, but past renew_at (expiry − 5 min) from the start.
  token.renewal_succeeded(issued_token{"ghs_two_minutes", t0 + minutes(2)}, t0);
  EXPECT_EQ(token.check(t0), access::use);
  EXPECT_EQ(token.current(t0)->token, "ghs_two_minutes");
  EXPECT_EQ(token.state(t0), token_state::expiring_soon);
  EXPECT_FALSE(token.renewal_due(t0)) << "renewed again at once";
  EXPECT_FALSE(token.renewal_due(t0 + seconds(4)));
  EXPECT_TRUE(token.renewal_due(t0 + seconds(5)));

  // Later ones back off further, but never past the held token's last
  // usable second, so that its successor comes before it is needed.
  time_point now = t0 + seconds(5);
  const auto usable_until = [](time_point issued) { return issued + minutes(2) - seconds(30); };
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(token.try_begin_renewal(now));
    token.renewal_succeeded(issued_token{"ghs_next", now + minutes(2)}, now);
    ASSERT_TRUE(token.next_attempt_at());
    EXPECT_GE(*token.next_attempt_at(), now + seconds(5));
    EXPECT_LE(*token.next_attempt_at(), usable_until(now));
    EXPECT_EQ(token.check(*token.next_attempt_at() - seconds(1)), access::use);
    now = *token.next_attempt_at();
  }
}

TEST(InstallationTokenBackoff, AShorterTokenDoesNotReplaceOneThatLastsLonger) {
  installation_token token;
  ASSERT_TRUE(token.try_begin_renewal(t0));
  token.renewal_succeeded(issued_token{"ghs_hour", t0 + minutes(60)}, t0);
  const auto generation = token.current(t0)->generation;
  const auto later = t0 + minutes(50);
  ASSERT_TRUE(token.try_begin_renewal(later));
  token.renewal_succeeded(issued_token{"ghs_short", later + seconds(20)}, later);
  EXPECT_EQ(token.current(later)->token, "ghs_hour");
  EXPECT_EQ(token.current(later)->generation, generation);
  EXPECT_EQ(token.next_attempt_at(), later + seconds(5));
  EXPECT_FALSE(token.renewal_due(later + seconds(4)));
}

// --- the pool, on its injected clock --------------------------------------------

std::string rfc3339(time_point t) {
  const std::time_t seconds_since_epoch = to_epoch_seconds(t);
  std::tm tm{};
  gmtime_r(&seconds_since_epoch, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// GitHub answering every renewal with a token that expires `lifetime` after
// the clock's now. After `give_up_after` calls it answers 500, so that a
// pool renewing in a loop ends the loop (and fails the test) instead of
// spinning.
class short_token_issuer final : public token_issuer {
 public:
  short_token_issuer(const testing::manual_clock& time, seconds lifetime) : clock_(time), lifetime_(lifetime) {}

  asio::awaitable<issuer_response> request_installation_token(std::string_view, std::string) override {
    const std::lock_guard lock(mutex_);
    issuer_response out;
    if (++calls_ > give_up_after) {
      out.status = 500;
      out.body = R"({"message":"Server Error"})";
      co_return out;
    }
    out.status = 201;
    out.body = R"({"token":"ghs_short)" + std::to_string(calls_) + R"(","expires_at":")" +
               rfc3339(clock_.now() + lifetime_) + R"("})";
    co_return out;
  }

  int calls() const {
    const std::lock_guard lock(mutex_);
    return calls_;
  }

  static constexpr int give_up_after = 50;

 private:
  const testing::manual_clock& clock_;
  const seconds lifetime_;
  mutable std::mutex mutex_;
  int calls_ = 0;
};

class PoolRenewalBackoff : public ::testing::Test {
 protected:
  PoolRenewalBackoff() : clock_(t0) {
    // A fresh directory of its own under $TMPDIR (mkdtemp), never a name made
    // of the PID (issue 20); removed with the fixture.
    std::string pattern = (std::filesystem::temp_directory_path() / "ghp-renewal-backoff-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    }
    dir_ = pattern;
    config::credential_config c;
    c.name = "app";
    c.type = config::credential_type::app;
    c.app_id = "123456";
    c.installation_id = "7890123";
    c.private_key_file = (dir_ / "app.pem").string();
    c.source_line = 10;
    std::ofstream(c.private_key_file) << testing::generate_rsa_key().private_pkcs1;
    cfg_.source_file = "/etc/github-proxy/config.yaml";
    cfg_.credentials.push_back(c);
  }
  ~PoolRenewalBackoff() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::unique_ptr<pool> make(std::shared_ptr<token_issuer> issuer) {
    auto built = pool::from_config(cfg_, clock_, std::move(issuer));
    for (const auto& e : built.errors) ADD_FAILURE() << e.to_string();
    return std::move(built.value);
  }

  // One request's acquire, run to completion (with the renewal it starts).
  acquisition acquire(pool& p) {
    std::optional<acquisition> out;
    asio::co_spawn(io_, p.acquire(resource::core), [&](std::exception_ptr e, acquisition a) {
      if (e) std::rethrow_exception(e);
      out = std::move(a);
    });
    io_.restart();
    io_.run();
    if (!out) throw std::runtime_error("acquire did not complete");
    return std::move(*out);
  }

  testing::manual_clock clock_;
  std::filesystem::path dir_;
  config::config cfg_;
  asio::io_context io_;
};

TEST_F(PoolRenewalBackoff, RenewalsOfTokensInsideTheMarginAreSpacedByTheBackoff) {
  auto issuer = std::make_shared<short_token_issuer>(clock_, seconds(20));  // margin: 30 s
  auto p = make(issuer);
  // A request a second for a minute. Renewals: at 0 s, then 5, 10, 20 s
  // apart (backoff_initial doubling): at 0, 5, 15 and 35 s.
  for (int second = 0; second < 60; ++second) {
    const auto got = acquire(*p);
    EXPECT_FALSE(got.granted) << "at " << second << " s: a token inside its expiry margin was handed out";
    clock_.advance(seconds(1));
  }
  EXPECT_EQ(issuer->calls(), 4) << "renewals were not spaced by the backoff";
}

TEST_F(PoolRenewalBackoff, AShortLivedTokenServesWhileRenewalsBackOff) {
  auto issuer = std::make_shared<short_token_issuer>(clock_, minutes(2));  // past renew_at at once
  auto p = make(issuer);
  for (int second = 0; second < 60; ++second) {
    const auto got = acquire(*p);
    EXPECT_TRUE(got.granted) << "at " << second << " s";
    clock_.advance(seconds(1));
  }
  EXPECT_EQ(issuer->calls(), 4) << "renewals were not spaced by the backoff";
}

}  // namespace
}  // namespace github_proxy::credentials
