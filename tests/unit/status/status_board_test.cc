// The status page's data (include/github_proxy/status/status_board.h): the
// same counters /metrics exports, read back per client, the "last hour"
// columns on a hand-moved clock, and the one-token replay fed by the meter.
#include "github_proxy/status/status_board.h"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "unit/credentials/manual_clock.h"
#include "github_proxy/metrics/request_counters.h"

namespace github_proxy::status {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using credentials::testing::manual_clock;

const std::string digest_a(64, 'a');
const std::string digest_b(64, 'b');

class StatusBoard : public ::testing::Test {
 protected:
  StatusBoard() {
    auto loaded = auth::load_registry_from_string("version: 1\nclients:\n"
                                                  "  - name: release-bot\n"
                                                  "    token_sha256: " + digest_a + "\n"
                                                  "    upstream_budget: 10/h\n"
                                                  "  - name: nightly\n"
                                                  "    token_sha256: " + digest_b + "\n",
                                                  "registry.yaml");
    EXPECT_TRUE(loaded.snapshot);
    registry.replace(loaded.snapshot);
  }

  std::unique_ptr<status_board> make_board(std::uint64_t limit) {
    status_sources sources;
    sources.metrics = &families;
    sources.registry = &registry;
    sources.budgets = &budgets;
    sources.one_token_limit = limit;
    sources.version = "test";
    return std::make_unique<status_board>(std::move(sources), clock);
  }

  static const json::object& client(const json::object& report, std::string_view name) {
    for (const auto& c : report.at("clients").as_array()) {
      if (c.as_object().at("name").as_string() == name) return c.as_object();
    }
    ADD_FAILURE() << "no client " << name << " in " << json::serialize(report);
    static const json::object none;
    return none;
  }

  manual_clock clock{credentials::from_epoch_seconds(1'800'000'000)};
  metrics::families families{"test"};
  metrics::request_counters counters{families};
  auth::registry_store registry;
  credentials::memory_budget_ledger budgets{clock};
};

TEST_F(StatusBoard, ClientsComeInRegistryOrderWithTheCountersOfMetrics) {
  auto board = make_board(5000);
  using metrics::cache_outcome;
  using metrics::method_label;
  counters.requests("nightly", method_label::get, 200, cache_outcome::miss).Increment();
  counters.requests("release-bot", method_label::get, 200, cache_outcome::miss).Increment();
  counters.requests("release-bot", method_label::get, 200, cache_outcome::hit).Increment(3);
  counters.client_credits("release-bot").Increment();
  counters.credits_saved("release-bot").Increment(3);
  counters.direct_demand("release-bot", credentials::resource::core).Increment(4);
  counters.rejected("unauthenticated", metrics::reject_reason::unauthenticated).Increment(2);
  budgets.add("release-bot", auth::budget{10, 1h}, 1);

  const auto report = board->report();
  const auto& clients = report.at("clients").as_array();
  ASSERT_EQ(clients.size(), 3u) << json::serialize(report);
  EXPECT_EQ(clients[0].as_object().at("name").as_string(), "release-bot");
  EXPECT_EQ(clients[1].as_object().at("name").as_string(), "nightly");
  EXPECT_EQ(clients[2].as_object().at("name").as_string(), "unauthenticated");

  const auto& bot = client(report, "release-bot");
  EXPECT_EQ(bot.at("requests").as_int64(), 4);
  EXPECT_EQ(bot.at("credits_spent").as_int64(), 1);
  EXPECT_EQ(bot.at("credits_saved").as_int64(), 3);
  EXPECT_EQ(bot.at("demand").as_int64(), 4);
  EXPECT_EQ(bot.at("budget").as_object().at("credits").as_uint64(), 10u);
  EXPECT_EQ(bot.at("budget").as_object().at("used").as_double(), 1.0);
  EXPECT_TRUE(client(report, "nightly").at("budget").is_null());
  EXPECT_EQ(client(report, "unauthenticated").at("rejected_last_hour").as_int64(), 2);

  const auto& cache = report.at("cache").as_object();
  EXPECT_EQ(cache.at("hits").as_int64(), 3);
  EXPECT_EQ(cache.at("cacheable").as_int64(), 5);
  EXPECT_EQ(cache.at("hit_ratio").as_double(), 0.6);
}

TEST_F(StatusBoard, FreshAnswersCountAsHitsLikeTheHitRatioAlert) {
  auto board = make_board(5000);
  using metrics::cache_outcome;
  using metrics::method_label;
  counters.requests("nightly", method_label::get, 200, cache_outcome::fresh).Increment(3);
  counters.requests("nightly", method_label::get, 200, cache_outcome::hit).Increment();
  counters.requests("nightly", method_label::get, 200, cache_outcome::miss).Increment(4);
  counters.requests("nightly", method_label::post, 201, cache_outcome::bypass).Increment(2);

  const auto report = board->report();
  const auto& cache = report.at("cache").as_object();
  EXPECT_EQ(cache.at("hits").as_int64(), 4) << json::serialize(report);
  EXPECT_EQ(cache.at("cacheable").as_int64(), 8);
  EXPECT_EQ(cache.at("hit_ratio").as_double(), 0.5);
}

TEST_F(StatusBoard, RejectionsOlderThanAnHourLeaveTheLastHourColumn) {
  auto board = make_board(5000);
  counters.rejected("nightly", metrics::reject_reason::scope).Increment(3);
  // One sample a minute, for an hour and a bit.
  for (int minute = 0; minute < 62; ++minute) {
    clock.advance(60s);
    board->tick();
    if (minute == 30) counters.rejected("nightly", metrics::reject_reason::budget).Increment();
  }
  const auto report = board->report();
  EXPECT_EQ(client(report, "nightly").at("rejected").as_int64(), 4);
  EXPECT_EQ(client(report, "nightly").at("rejected_last_hour").as_int64(), 1);
}

TEST_F(StatusBoard, TheMeterFeedsTheOneTokenReplay) {
  auto board = make_board(5);
  board->demand().add(4);
  board->tick();
  clock.advance(10min);
  board->demand().add(3);  // the sixth and seventh credits, 10 minutes in

  const auto report = board->report();
  const auto& one = report.at("one_token").as_object();
  EXPECT_EQ(one.at("limit_per_hour").as_uint64(), 5u);
  EXPECT_EQ(one.at("demand").as_uint64(), 7u);
  EXPECT_EQ(one.at("outages").as_uint64(), 1u);
  EXPECT_EQ(one.at("refused").as_uint64(), 2u);
  EXPECT_EQ(one.at("exhausted_seconds").as_int64(), 50 * 60);
  const auto& outages = one.at("recent_outages").as_array();
  ASSERT_EQ(outages.size(), 1u);
  EXPECT_TRUE(outages[0].as_object().at("ongoing").as_bool());

  // After the reset the outage is history and the totals keep it.
  clock.advance(1h);
  const auto later = board->report();
  EXPECT_TRUE(later.at("one_token").as_object().at("current_window").is_null());
  EXPECT_EQ(later.at("one_token").as_object().at("outages").as_uint64(), 1u);
  EXPECT_FALSE(later.at("one_token").as_object().at("recent_outages").as_array()[0].as_object().at("ongoing").as_bool());
}

TEST_F(StatusBoard, CredentialsShowTheirStateAndEachResourceGitHubReported) {
  auto board = make_board(5000);
  families.credential_state.Add({{"credential", "bot-pat"}, {"state", "ok"}}).Set(0);
  families.credential_state.Add({{"credential", "bot-pat"}, {"state", "exhausted"}}).Set(1);
  families.rate_limit_remaining.Add({{"credential", "bot-pat"}, {"resource", "core"}}).Set(0);
  families.rate_limit_limit.Add({{"credential", "bot-pat"}, {"resource", "core"}}).Set(5000);
  families.rate_limit_reset.Add({{"credential", "bot-pat"}, {"resource", "core"}}).Set(1'800'003'600);

  const auto report = board->report();
  const auto& credentials = report.at("credentials").as_array();
  ASSERT_EQ(credentials.size(), 1u);
  const auto& c = credentials[0].as_object();
  EXPECT_EQ(c.at("state").as_string(), "exhausted");
  const auto& core = c.at("resources").as_object().at("core").as_object();
  EXPECT_EQ(core.at("remaining").as_int64(), 0);
  EXPECT_EQ(core.at("limit").as_int64(), 5000);
  EXPECT_EQ(core.at("reset").as_int64(), 1'800'003'600);
}

TEST_F(StatusBoard, TheHtmlAndTheTableShowTheReportsNumbers) {
  auto board = make_board(5);
  counters.requests("release-bot", metrics::method_label::get, 200, metrics::cache_outcome::miss).Increment(1234);
  board->demand().add(8);
  const auto report = board->report();

  const auto html = render_status_html(report);
  EXPECT_NE(html.find("<tr data-client=\"release-bot\">"), std::string::npos);
  EXPECT_NE(html.find("<td data-field=\"requests\">1,234</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("data-field=\"outages\">1<"), std::string::npos);
  EXPECT_NE(html.find("data-field=\"refused\">3<"), std::string::npos);
  EXPECT_NE(html.find("http-equiv=\"refresh\""), std::string::npos);
  // Self-contained: nothing is fetched from elsewhere.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);

  const auto table = render_status_table(report);
  EXPECT_NE(table.find("release-bot"), std::string::npos) << table;
  EXPECT_NE(table.find("1,234"), std::string::npos) << table;
  EXPECT_NE(table.find("outages avoided 1"), std::string::npos) << table;
}

TEST_F(StatusBoard, NamesAreEscapedInTheHtml) {
  auto board = make_board(5000);
  families.credential_state.Add({{"credential", "<b>x</b>"}, {"state", "ok"}}).Set(1);
  const auto html = render_status_html(board->report());
  EXPECT_EQ(html.find("<b>x</b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;x&lt;/b&gt;"), std::string::npos);
}

}  // namespace
}  // namespace github_proxy::status
