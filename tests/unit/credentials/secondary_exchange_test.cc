// Secondary limits shared by replicas through Redis (secondary_exchange.h):
// the reply's parsing, and two pools on one real redis-server.
#include "credentials/secondary_exchange.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "redis/redis_url.h"
#include "support/redis_server.h"
#include "unit/credentials/manual_clock.h"
#include "unit/redis/redis_test_support.h"

namespace github_proxy::credentials {
namespace {

using namespace std::chrono_literals;
using ghp_test::run_to_completion;
using testing::manual_clock;

const time_point t0 = from_epoch_seconds(1'732'528'800);

redis::reply text(std::string s) {
  redis::reply r;
  r.type = redis::reply::kind::string;
  r.text = std::move(s);
  return r;
}

TEST(SecondaryExchangeReply, SumsTheOtherReplicasPerCredentialAndSkipsTheRest) {
  redis::reply answer;
  answer.type = redis::reply::kind::array;
  for (const auto& [field, value] : std::vector<std::pair<std::string, std::string>>{
           {"r1|a", "1700000000000 10 2 1 3 0"},
           {"r2|a", "1700000000100 5 0 0 1 1"},
           {"r2|b", "1700000000100 7 0 0 0 0"},
           {"r3|unknown", "1700000000100 100 0 0 0 0"},
           {"r4|b", "not a value"},
           {"no-bar", "1700000000100 100 0 0 0 0"},
       }) {
    answer.elements.push_back(text(field));
    answer.elements.push_back(text(value));
  }
  const std::vector<std::string_view> names{"a", "b"};
  const auto others = others_from_reply(answer, names);
  ASSERT_EQ(others.size(), 2u);
  EXPECT_EQ(others[0].rest_points, 15);
  EXPECT_EQ(others[0].graphql_points, 2);
  EXPECT_EQ(others[0].content_minute, 1);
  EXPECT_EQ(others[0].content_hour, 4);
  EXPECT_TRUE(others[0].filled);
  EXPECT_EQ(others[1].rest_points, 7);
  EXPECT_FALSE(others[1].filled);
  EXPECT_EQ(encode_secondary_usage({3, 4, 5, 6, true}), "3 4 5 6 1");
}

// A credential another replica cools carries the seconds its cool-down
// still runs; the longest one counts, believed for an hour at most.
TEST(SecondaryExchangeReply, CarriesTheLongestCoolDownOfTheOtherReplicas) {
  redis::reply answer;
  answer.type = redis::reply::kind::array;
  for (const auto& [field, value] : std::vector<std::pair<std::string, std::string>>{
           {"r1|a", "1700000000000 0 0 0 0 30"},
           {"r2|a", "1700000000100 0 0 0 0 7"},
           {"r3|b", "1700000000100 0 0 0 0 999999"},
       }) {
    answer.elements.push_back(text(field));
    answer.elements.push_back(text(value));
  }
  const std::vector<std::string_view> names{"a", "b"};
  const auto others = others_from_reply(answer, names);
  ASSERT_EQ(others.size(), 2u);
  EXPECT_TRUE(others[0].filled);
  EXPECT_EQ(others[0].cooling_seconds, 30);
  EXPECT_EQ(others[1].cooling_seconds, 3600);
  EXPECT_EQ(encode_secondary_usage({0, 0, 0, 0, true, 42}), "0 0 0 0 42");
  EXPECT_EQ(encode_secondary_usage({0, 0, 0, 0, true, 0}), "0 0 0 0 1") << "filled says at least a second";
}

class SecondaryExchange : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!ghp_test::redis_server::available()) GTEST_SKIP() << "redis-server is not installed";
    server_ = std::make_unique<ghp_test::redis_server>();
    auto parsed = redis::parse_redis_url(server_->url());
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    settings_.connection.target = parsed.value;
    settings_.connection.command_timeout = 2s;
    settings_.key_prefix = "ghp:";
    settings_.on_error = [this](std::string_view op) { errors_.push_back(std::string(op)); };
    dir_ = std::filesystem::temp_directory_path() / ("ghp-exchange-" + make_replica_id());
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "a.token") << "ghp_aaaa\n";
    cfg_.source_file = "config.yaml";
    config::credential_config c;
    c.name = "a";
    c.token_file = (dir_ / "a.token").string();
    cfg_.credentials.push_back(c);
  }
  void TearDown() override {
    exchanges_.clear();
    io_.restart();
    io_.run_for(2s);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // A replica: its own pool (5 REST points of share) and exchange.
  pool& replica(std::string id) {
    pool_options options;
    options.secondary.rest_points_per_minute = 10;
    options.secondary.share_percent = 50;
    auto built = pool::from_config(cfg_, clock_, nullptr, options);
    EXPECT_TRUE(built.errors.empty());
    pools_.push_back(std::move(built.value));
    exchanges_.push_back(std::make_unique<secondary_exchange>(io_.get_executor(), settings_, *pools_.back(), id));
    return *pools_.back();
  }

  bool exchange(std::size_t i) { return run_to_completion(io_, exchanges_[i]->exchange_once()); }

  acquisition acquire(pool& p) {
    return run_to_completion(io_, [](pool& p) -> boost::asio::awaitable<acquisition> {
      co_return co_await p.acquire(resource::core, {}, {}, false, {secondary_cost("GET", false, false), false});
    }(p));
  }

  boost::asio::io_context io_;
  manual_clock clock_{t0};
  redis_ledger_settings settings_;
  std::vector<std::string> errors_;
  std::unique_ptr<ghp_test::redis_server> server_;
  std::filesystem::path dir_;
  config::config cfg_;
  std::vector<std::unique_ptr<pool>> pools_;
  std::vector<std::unique_ptr<secondary_exchange>> exchanges_;
};

TEST_F(SecondaryExchange, TwoReplicasShareOneCredentialsWindow) {
  auto& a = replica("replica-a");
  auto& b = replica("replica-b");
  for (int i = 0; i < 3; ++i) {
    auto got = acquire(a);
    ASSERT_TRUE(got.granted);
    a.abandon(*got.granted);
  }
  ASSERT_TRUE(exchange(0));  // a publishes its 3 points
  ASSERT_TRUE(exchange(1));  // b learns them
  EXPECT_EQ(b.report().at(0).secondary.rest_points, 3);
  for (int i = 0; i < 2; ++i) {
    auto got = acquire(b);
    ASSERT_TRUE(got.granted) << i;
    b.abandon(*got.granted);
  }
  // 3 + 2: the credential's share is spent for both replicas.
  EXPECT_FALSE(acquire(b).granted);
  ASSERT_TRUE(exchange(1));
  ASSERT_TRUE(exchange(0));
  EXPECT_EQ(a.report().at(0).secondary.rest_points, 5);
  const auto refused = acquire(a);
  EXPECT_FALSE(refused.granted);
  EXPECT_TRUE(refused.paced);
  EXPECT_TRUE(errors_.empty());
  // One hash, one field per replica and credential, expiring.
  EXPECT_EQ(server_->command({"HLEN", "ghp:secondary"}), "2");
  EXPECT_GT(std::stoll(server_->command({"TTL", "ghp:secondary"})), 0);
}

TEST_F(SecondaryExchange, RedisDownKeepsEachReplicaServing) {
  auto& a = replica("replica-a");
  server_.reset();  // Redis is gone
  EXPECT_FALSE(exchange(0));
  EXPECT_FALSE(errors_.empty());
  EXPECT_EQ(errors_.front(), "secondary_exchange");
  auto got = acquire(a);
  EXPECT_TRUE(got.granted) << "a replica counts alone while Redis is down";
}

}  // namespace
}  // namespace github_proxy::credentials
