#include "github_proxy/credentials/pool.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include <unistd.h>

#include "github_proxy/credentials/errors.h"
#include "unit/credentials/manual_clock.h"
#include "unit/credentials/rsa_test_keys.h"

namespace github_proxy::credentials {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::manual_clock;

const time_point t0 = from_epoch_seconds(1'732'492'802);  // 2024-11-25T00:00:02Z

const testing::rsa_key_pems& test_key() {
  static const testing::rsa_key_pems key = testing::generate_rsa_key();
  return key;
}

std::string rfc3339(time_point t) {
  const std::time_t seconds_since_epoch = to_epoch_seconds(t);
  std::tm tm{};
  gmtime_r(&seconds_since_epoch, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string http_date(time_point t) {
  const std::time_t seconds_since_epoch = to_epoch_seconds(t);
  std::tm tm{};
  gmtime_r(&seconds_since_epoch, &tm);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return text;
}

// A scripted POST /app/installations/{id}/access_tokens. By default every
// call issues "ghs_<n>" valid for an hour from the clock's now; `script`
// overrides the next answers; `hold` parks calls until `release`.
class fake_issuer final : public token_issuer {
 public:
  explicit fake_issuer(const manual_clock& time) : clock_(time) {}

  asio::awaitable<issuer_response> request_installation_token(std::string_view installation_id,
                                                              std::string jwt) override {
    const auto executor = co_await asio::this_coro::executor;
    std::shared_ptr<asio::steady_timer> gate;
    {
      const std::lock_guard lock(mutex_);
      ++calls_;
      installation_ids_.emplace_back(installation_id);
      jwts_.push_back(jwt);
      if (hold_) {
        gate = std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
        gates_.push_back(gate);
      }
    }
    if (gate) co_await gate->async_wait(asio::as_tuple(asio::use_awaitable));
    const std::lock_guard lock(mutex_);
    if (!script_.empty()) {
      auto next = std::move(script_.front());
      script_.pop_front();
      co_return next;
    }
    ++issued_;
    issuer_response out;
    out.status = 201;
    out.body = R"({"token":"ghs_)" + std::to_string(issued_) + R"(","expires_at":")" +
               rfc3339(clock_.now() + minutes(60)) + R"(","permissions":{"metadata":"read"}})";
    co_return out;
  }

  // GET /rate_limit with a broken token: answers `probe_status` (or the
  // next of `script_probe`), parked like renewals while `hold_probes`.
  asio::awaitable<issuer_response> probe_credential(std::string authorization) override {
    const auto executor = co_await asio::this_coro::executor;
    std::shared_ptr<asio::steady_timer> gate;
    {
      const std::lock_guard lock(mutex_);
      probes_.push_back(std::move(authorization));
      if (hold_probes_) {
        gate = std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
        gates_.push_back(gate);
      }
    }
    if (gate) co_await gate->async_wait(asio::as_tuple(asio::use_awaitable));
    const std::lock_guard lock(mutex_);
    issuer_response out;
    if (!probe_script_.empty()) {
      out.status = probe_script_.front();
      probe_script_.pop_front();
    } else {
      out.status = probe_status_;
    }
    out.body = R"({"resources":{}})";
    co_return out;
  }

  void probe_status(unsigned status) {
    const std::lock_guard lock(mutex_);
    probe_status_ = status;
  }
  void script_probe(unsigned status) {
    const std::lock_guard lock(mutex_);
    probe_script_.push_back(status);
  }
  void hold_probes() {
    const std::lock_guard lock(mutex_);
    hold_probes_ = true;
  }
  std::vector<std::string> probes() const {
    const std::lock_guard lock(mutex_);
    return probes_;
  }

  void hold() {
    const std::lock_guard lock(mutex_);
    hold_ = true;
  }
  // Lets the parked calls answer (posting to each one's executor).
  void release() {
    std::vector<std::shared_ptr<asio::steady_timer>> gates;
    {
      const std::lock_guard lock(mutex_);
      hold_ = false;
      hold_probes_ = false;
      gates.swap(gates_);
    }
    for (auto& g : gates) asio::post(g->get_executor(), [g] { g->cancel(); });
  }
  void script(issuer_response response) {
    const std::lock_guard lock(mutex_);
    script_.push_back(std::move(response));
  }
  void fail_always(unsigned status) {
    const std::lock_guard lock(mutex_);
    for (int i = 0; i < 64; ++i) {
      issuer_response r;
      r.status = status;
      r.body = R"({"message":"A JSON web token could not be decoded","documentation_url":"https://docs.github.com/rest"})";
      script_.push_back(r);
    }
  }
  int calls() const {
    const std::lock_guard lock(mutex_);
    return calls_;
  }
  std::vector<std::string> jwts() const {
    const std::lock_guard lock(mutex_);
    return jwts_;
  }
  std::vector<std::string> installation_ids() const {
    const std::lock_guard lock(mutex_);
    return installation_ids_;
  }

 private:
  const manual_clock& clock_;
  mutable std::mutex mutex_;
  int calls_ = 0;
  int issued_ = 0;
  bool hold_ = false;
  std::vector<std::shared_ptr<asio::steady_timer>> gates_;
  std::deque<issuer_response> script_;
  std::vector<std::string> jwts_;
  std::vector<std::string> installation_ids_;
  bool hold_probes_ = false;
  unsigned probe_status_ = 401;
  std::deque<unsigned> probe_script_;
  std::vector<std::string> probes_;
};

// An issuer that only renews App tokens: probe_credential keeps the
// interface's default.
class renewing_only_issuer final : public token_issuer {
 public:
  asio::awaitable<issuer_response> request_installation_token(std::string_view, std::string) override {
    issuer_response out;
    out.status = 500;
    co_return out;
  }
};

// Runs one awaitable to completion on `io`.
template <typename T>
T run(asio::io_context& io, asio::awaitable<T> work) {
  std::optional<T> result;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(work), [&](std::exception_ptr e, T value) {
    failure = e;
    if (!e) result.emplace(std::move(value));
  });
  io.restart();
  while (!result && !failure) {
    if (io.run_one() == 0) break;
  }
  if (failure) std::rethrow_exception(failure);
  if (!result) throw std::runtime_error("the awaitable did not complete");
  return std::move(*result);
}

http::fields rate_headers(std::int64_t remaining, time_point reset, std::int64_t limit = 5000,
                          std::string_view resource_name = "core") {
  http::fields h;
  h.set("X-RateLimit-Limit", std::to_string(limit));
  h.set("X-RateLimit-Remaining", std::to_string(remaining));
  h.set("X-RateLimit-Used", std::to_string(limit - remaining));
  h.set("X-RateLimit-Reset", std::to_string(to_epoch_seconds(reset)));
  h.set("X-RateLimit-Resource", resource_name);
  return h;
}

class PoolTest : public ::testing::Test {
 protected:
  PoolTest() : clock_(t0), issuer_(std::make_shared<fake_issuer>(clock_)) {
    // A fresh directory of its own (mkdtemp), never a predictable name.
    std::string pattern = (std::filesystem::temp_directory_path() / "ghp-pool-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    cfg_.source_file = "/etc/github-proxy/config.yaml";
  }
  ~PoolTest() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void write(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }

  void add_token(const std::string& name, const std::string& secret) {
    config::credential_config c;
    c.name = name;
    c.type = config::credential_type::token;
    c.token_file = (dir_ / (name + ".token")).string();
    c.source_line = 10 + static_cast<int>(cfg_.credentials.size());
    write(c.token_file, secret + "\n");
    cfg_.credentials.push_back(c);
  }

  void add_app(const std::string& name, const std::string& installation_id = "7890123") {
    config::credential_config c;
    c.name = name;
    c.type = config::credential_type::app;
    c.app_id = "123456";
    c.installation_id = installation_id;
    c.private_key_file = (dir_ / (name + ".pem")).string();
    c.source_line = 10 + static_cast<int>(cfg_.credentials.size());
    write(c.private_key_file, test_key().private_pkcs1);
    cfg_.credentials.push_back(c);
  }

  pool& make(pool_options options = {}) {
    auto built = pool::from_config(cfg_, clock_, issuer_, std::move(options));
    for (const auto& e : built.errors) ADD_FAILURE() << e.to_string();
    pool_ = std::move(built.value);
    return *pool_;
  }

  acquisition acquire(resource r = resource::core, std::string_view preferred = {},
                      std::vector<std::string_view> exclude = {}, bool free_revalidation = false) {
    return run(io_, acquire_on(*pool_, r, preferred, std::move(exclude), free_revalidation));
  }

  static asio::awaitable<acquisition> acquire_on(pool& p, resource r, std::string_view preferred,
                                                 std::vector<std::string_view> exclude,
                                                 bool free_revalidation = false) {
    co_return co_await p.acquire(r, preferred, exclude, free_revalidation);
  }

  // Runs what acquire left detached (renewals, probes) to completion.
  void settle() {
    io_.restart();
    io_.run();
  }

  lease take(resource r = resource::core, std::string_view preferred = {},
             std::vector<std::string_view> exclude = {}) {
    auto got = acquire(r, preferred, std::move(exclude));
    if (!got.granted) throw std::runtime_error("no credential granted");
    return std::move(*got.granted);
  }

  std::uint32_t in_flight_total() const {
    std::uint32_t total = 0;
    for (const auto& r : pool_->report()) total += r.in_flight;
    return total;
  }

  const credential_report find_report(std::string_view name) const {
    for (auto& r : pool_->report()) {
      if (r.name == name) return r;
    }
    throw std::runtime_error("no such credential");
  }

  manual_clock clock_;
  std::shared_ptr<fake_issuer> issuer_;
  std::filesystem::path dir_;
  config::config cfg_;
  std::unique_ptr<pool> pool_;
  asio::io_context io_;
};

// --- selection -----------------------------------------------------------

TEST_F(PoolTest, SpreadsRequestsAcrossThreeTokens) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  add_token("c", "ghp_cccc");
  auto& p = make();
  ASSERT_EQ(p.size(), 3u);
  std::map<std::string, int> uses;
  std::vector<lease> held;
  for (int i = 0; i < 9; ++i) {
    held.push_back(take());
    ++uses[std::string(held.back().name)];
  }
  EXPECT_EQ(uses["a"], 3);
  EXPECT_EQ(uses["b"], 3);
  EXPECT_EQ(uses["c"], 3);
  EXPECT_EQ(held[0].authorization.rfind("token ghp_", 0), 0u);
  EXPECT_EQ(in_flight_total(), 9u);

  // Then the most headroom wins: GitHub reports c far ahead of the others.
  for (auto& l : held) {
    const auto remaining = l.name == "c" ? 4000 : 1000;
    p.complete(l, 200, rate_headers(remaining, t0 + minutes(30)), "{}");
  }
  EXPECT_EQ(in_flight_total(), 0u);
  for (int i = 0; i < 5; ++i) {
    auto l = take();
    EXPECT_EQ(l.name, "c");
    p.complete(l, 200, rate_headers(3999 - i, t0 + minutes(30)), "{}");
  }
}

TEST_F(PoolTest, PreferredWinsWhileUsable) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  auto& p = make();
  // a has far more headroom, but the cache entry was fetched with b.
  auto first = take(resource::core, "a");
  p.complete(first, 200, rate_headers(4900, t0 + minutes(30)), "{}");
  auto second = take(resource::core, "b");
  EXPECT_EQ(second.name, "b");
  p.complete(second, 200, rate_headers(10, t0 + minutes(30)), "{}");
  for (int i = 0; i < 3; ++i) {
    auto l = take(resource::core, "b");
    EXPECT_EQ(l.name, "b");
    p.complete(l, 200, rate_headers(9 - i, t0 + minutes(30)), "{}");
  }
  // b spent: the preference yields.
  auto spent = take(resource::core, "b");
  EXPECT_EQ(spent.name, "b");
  p.complete(spent, 403, rate_headers(0, t0 + minutes(30)), R"({"message":"API rate limit exceeded for user ID 1."})");
  auto other = take(resource::core, "b");
  EXPECT_EQ(other.name, "a");
  p.abandon(other);
  // An unknown preferred name is ignored.
  auto any = take(resource::core, "nope");
  EXPECT_EQ(any.name, "a");
}

TEST_F(PoolTest, PrimaryLimitParksUntilResetAndAnotherServes) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  auto& p = make();
  auto l = take(resource::core, "a");
  ASSERT_EQ(l.name, "a");
  const auto v = p.complete(l, 403, rate_headers(0, t0 + minutes(10)),
                            R"({"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"})");
  EXPECT_EQ(v.kind, verdict_kind::primary_limit);
  EXPECT_EQ(find_report("a").state, credential_state::exhausted);

  // The retry goes to b, even when a is preferred.
  for (int i = 0; i < 3; ++i) {
    auto next = take(resource::core, "a");
    EXPECT_EQ(next.name, "b");
    p.complete(next, 200, rate_headers(100 - i, t0 + minutes(20)), "{}");
  }
  // Only a left: exhausted until its reset.
  auto none = acquire(resource::core, {}, {"b"});
  EXPECT_FALSE(none.granted);
  EXPECT_EQ(none.outcome, selection_outcome::exhausted);
  EXPECT_EQ(none.retry_at, t0 + minutes(10));
  EXPECT_EQ(none.retry_after, seconds(600));
  // Other resources of a are unaffected.
  auto search = take(resource::search, "a");
  EXPECT_EQ(search.name, "a");
  p.abandon(search);

  clock_.set(t0 + minutes(10) + seconds(1));
  auto back = acquire(resource::core, "a");
  ASSERT_TRUE(back.granted);
  EXPECT_EQ(back.granted->name, "a");
}

TEST_F(PoolTest, ExcludeSkipsCredentialsAlreadyTried) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  add_token("c", "ghp_cccc");
  auto& p = make();
  for (int i = 0; i < 4; ++i) {
    auto l = take(resource::core, "a", {"a", "c"});
    EXPECT_EQ(l.name, "b");
    p.abandon(l);
  }
  auto none = acquire(resource::core, {}, {"a", "b", "c"});
  EXPECT_FALSE(none.granted);
  EXPECT_EQ(none.outcome, selection_outcome::exhausted);
  EXPECT_FALSE(none.retry_at);
}

TEST_F(PoolTest, SecondaryLimitParksForRetryAfterOrAMinute) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  auto& p = make();
  auto l = take(resource::core, "a");
  auto headers = rate_headers(4000, t0 + minutes(30));
  headers.set("Retry-After", "30");
  const auto v = p.complete(l, 403, headers,
                            R"({"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."})");
  EXPECT_EQ(v.kind, verdict_kind::secondary_limit);
  EXPECT_EQ(find_report("a").state, credential_state::cooling);
  // Cooling parks every resource of a.
  auto g = take(resource::graphql, "a");
  EXPECT_EQ(g.name, "b");
  p.abandon(g);
  auto only_a = acquire(resource::core, "a", {"b"});
  EXPECT_EQ(only_a.outcome, selection_outcome::exhausted);
  EXPECT_EQ(only_a.retry_at, t0 + seconds(30));

  clock_.advance(seconds(31));
  auto again = take(resource::core, "a");
  EXPECT_EQ(again.name, "a");
  // Without Retry-After: 60 s.
  const auto v2 = p.complete(again, 403, rate_headers(3999, t0 + minutes(30)),
                             R"({"message":"You have exceeded a secondary rate limit."})");
  EXPECT_EQ(v2.kind, verdict_kind::secondary_limit);
  auto parked = acquire(resource::core, "a", {"b"});
  EXPECT_EQ(parked.outcome, selection_outcome::exhausted);
  EXPECT_EQ(parked.retry_at, clock_.now() + seconds(60));
}

TEST_F(PoolTest, AllExhaustedReportsTheEarliestReset) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  auto& p = make();
  auto la = take(resource::core, "a");
  auto lb = take(resource::core, "b");
  ASSERT_NE(la.name, lb.name);
  p.complete(la, 403, rate_headers(0, t0 + seconds(100)), R"({"message":"API rate limit exceeded"})");
  p.complete(lb, 429, rate_headers(0, t0 + seconds(50)), R"({"message":"API rate limit exceeded"})");
  auto none = acquire();
  EXPECT_FALSE(none.granted);
  EXPECT_EQ(none.outcome, selection_outcome::exhausted);
  EXPECT_EQ(none.retry_at, t0 + seconds(50));
  EXPECT_EQ(none.retry_after, seconds(50));
  EXPECT_TRUE(p.any_usable());  // parked, not broken: the proxy answers 429s meanwhile
  EXPECT_EQ(in_flight_total(), 0u);
}

TEST_F(PoolTest, GraphqlRateLimitedBodyParksOnlyTheGraphqlBucket) {
  add_token("a", "ghp_aaaa");
  auto& p = make();
  auto l = take(resource::graphql);
  const auto v = p.complete(l, 200, rate_headers(0, t0 + minutes(40), 5000, "graphql"),
                            R"({"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded for user ID 1."}]})");
  EXPECT_EQ(v.kind, verdict_kind::primary_limit);
  auto g = acquire(resource::graphql);
  EXPECT_EQ(g.outcome, selection_outcome::exhausted);
  EXPECT_EQ(g.retry_at, t0 + minutes(40));
  auto core = acquire(resource::core);
  EXPECT_TRUE(core.granted);
}

TEST_F(PoolTest, UnauthorisedTokenIsBrokenUntilItsFileChanges) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  auto& p = make();
  auto l = take(resource::core, "a");
  const auto v = p.complete(l, 401, http::fields{}, R"({"message":"Bad credentials"})");
  EXPECT_EQ(v.kind, verdict_kind::bad_credential);
  EXPECT_EQ(find_report("a").state, credential_state::broken);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(take(resource::core, "a").name, "b");
  auto none = acquire(resource::core, {}, {"b"});
  EXPECT_EQ(none.outcome, selection_outcome::exhausted);
  EXPECT_FALSE(none.retry_at);  // a broken token does not come back by itself

  // A new token in the file: usable again, with the new secret.
  write(cfg_.credentials[0].token_file, "ghp_rotated\n");
  EXPECT_TRUE(p.reload_secrets().empty());
  EXPECT_EQ(find_report("a").state, credential_state::ok);
  auto fresh = take(resource::core, "a");
  EXPECT_EQ(fresh.name, "a");
  EXPECT_EQ(fresh.authorization, "token ghp_rotated");
  EXPECT_EQ(in_flight_total(), 1u);
}

// SIGHUP is how an operator says "this token works": it ends the broken
// state even when the secret read is the same (GitHub may have been wrong
// for a while, or the token was restored on GitHub's side).
TEST_F(PoolTest, ReloadOfTheSameSecretEndsTheBrokenState) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  auto& p = make();
  auto late = take(resource::core, "a");  // in flight when a breaks
  auto l = take(resource::core, "a");
  ASSERT_EQ(l.name, "a");
  p.complete(l, 401, http::fields{}, R"({"message":"Bad credentials"})");
  EXPECT_EQ(find_report("a").state, credential_state::broken);
  EXPECT_FALSE(acquire(resource::core, {}, {"b"}).granted);

  EXPECT_TRUE(p.reload_secrets().empty());
  EXPECT_EQ(find_report("a").state, credential_state::ok);
  auto back = take(resource::core, "a");
  EXPECT_EQ(back.name, "a");
  EXPECT_EQ(back.authorization, "token ghp_aaaa");
  EXPECT_NE(back.generation, l.generation);
  // The late 401 of a request sent before the reload does not break it again.
  p.complete(late, 401, http::fields{}, R"({"message":"Bad credentials"})");
  EXPECT_EQ(find_report("a").state, credential_state::ok);
  // A 401 for a request sent after it does.
  p.complete(back, 401, http::fields{}, R"({"message":"Bad credentials"})");
  EXPECT_EQ(find_report("a").state, credential_state::broken);
  // A reload leaves a token that is not broken alone: its requests in
  // flight stay current (b), while a is restored once more.
  auto b = take(resource::core, "b");
  EXPECT_TRUE(p.reload_secrets().empty());
  EXPECT_EQ(find_report("a").state, credential_state::ok);
  auto b2 = take(resource::core, "b");
  EXPECT_EQ(b2.generation, b.generation);
}

// Deliverable of docs/github-api.md §5: a 401 from a path that takes only an
// App JWT ("A JSON web token could not be decoded") is the client's answer.
// A client calling such paths in a loop must not take the credentials out of
// service for everyone.
TEST_F(PoolTest, JwtOnly401sBreakNothing) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  add_app("app");
  auto& p = make();
  constexpr std::string_view jwt_401 =
      R"({"message":"A JSON web token could not be decoded","documentation_url":"https://docs.github.com/rest"})";
  auto first = take();  // starts the App's renewal
  p.abandon(first);
  settle();
  ASSERT_EQ(issuer_->calls(), 1);
  clock_.advance(minutes(1));  // past the App token's replication grace
  std::map<std::string, int> uses;
  for (int i = 0; i < 30; ++i) {
    auto l = take();
    ++uses[std::string(l.name)];
    const auto v = p.complete(l, 401, http::fields{}, jwt_401);
    EXPECT_EQ(v.kind, verdict_kind::ok);
  }
  EXPECT_EQ(uses.size(), 3u);
  for (const auto* name : {"a", "b", "app"}) EXPECT_EQ(find_report(name).state, credential_state::ok) << name;
  EXPECT_TRUE(p.any_usable());
  EXPECT_EQ(issuer_->calls(), 1);  // the App's token was kept
  EXPECT_EQ(in_flight_total(), 0u);
}

// A 401 is not answered as the credential: its X-RateLimit-* are the
// unauthenticated per-IP bucket's (60/h), which must not make the credential
// look spent (GitHub sends them; so does the fake).
TEST_F(PoolTest, RateLimitHeadersOfA401AreNotTheCredentials) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  auto& p = make();
  auto l = take(resource::core, "a");
  p.complete(l, 401, rate_headers(0, t0 + minutes(40), 60),
             R"({"message":"A JSON web token could not be decoded","documentation_url":"https://docs.github.com/rest"})");
  const auto a = find_report("a");
  EXPECT_EQ(a.state, credential_state::ok);
  EXPECT_TRUE(a.buckets.empty()) << "the anonymous bucket was recorded as a's";
  EXPECT_EQ(take(resource::core, "a").name, "a");
  // Bad credentials: broken, and still nothing recorded.
  auto again = take(resource::core, "a");
  p.complete(again, 401, rate_headers(59, t0 + minutes(40), 60), R"({"message":"Bad credentials"})");
  EXPECT_TRUE(find_report("a").buckets.empty());
}

// --- probes of broken tokens -------------------------------------------------------

TEST_F(PoolTest, BrokenTokenIsProbedWithBackoffUntilGitHubTakesItAgain) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  std::vector<std::pair<bool, unsigned>> events;
  pool_options options;
  options.on_probe = [&events](const probe_event& e) { events.emplace_back(e.accepted, e.status); };
  auto& p = make(options);
  auto late = take(resource::core, "a");
  auto l = take(resource::core, "a");
  p.complete(l, 401, http::fields{}, R"({"message":"Bad credentials"})");
  ASSERT_EQ(find_report("a").state, credential_state::broken);

  const auto serve_one = [&] {
    auto got = take();
    EXPECT_EQ(got.name, "b");
    p.abandon(got);
    settle();
  };
  clock_.set(t0 + seconds(59));
  serve_one();
  EXPECT_TRUE(issuer_->probes().empty()) << "probed before the first minute";
  clock_.set(t0 + seconds(60));
  serve_one();
  ASSERT_EQ(issuer_->probes(), std::vector<std::string>{"token ghp_aaaa"});
  EXPECT_EQ(find_report("a").state, credential_state::broken);  // GitHub: still 401
  // The wait doubles: 2 minutes after that 401.
  clock_.set(t0 + seconds(60 + 119));
  serve_one();
  EXPECT_EQ(issuer_->probes().size(), 1u);
  issuer_->script_probe(200);
  clock_.set(t0 + seconds(60 + 120));
  serve_one();
  EXPECT_EQ(issuer_->probes().size(), 2u);
  EXPECT_EQ(find_report("a").state, credential_state::ok);
  EXPECT_EQ((events), (std::vector<std::pair<bool, unsigned>>{{false, 401}, {true, 200}}));
  auto back = take(resource::core, "a");
  EXPECT_EQ(back.name, "a");
  // A late 401 of a request sent before it broke does not break it again.
  p.complete(late, 401, http::fields{}, R"({"message":"Bad credentials"})");
  EXPECT_EQ(find_report("a").state, credential_state::ok);
  // Usable: no more probes.
  clock_.advance(minutes(120));
  serve_one();
  EXPECT_EQ(issuer_->probes().size(), 2u);
}

TEST_F(PoolTest, OneProbeInFlightPerToken) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  auto& p = make();
  auto l = take(resource::core, "a");
  p.complete(l, 401, http::fields{}, R"({"message":"Bad credentials"})");
  issuer_->hold_probes();
  clock_.advance(minutes(5));
  for (int i = 0; i < 4; ++i) {
    auto got = take();
    EXPECT_EQ(got.name, "b");
    io_.restart();
    io_.poll();
  }
  EXPECT_EQ(issuer_->probes().size(), 1u);
  issuer_->probe_status(200);
  issuer_->release();
  settle();
  EXPECT_EQ(find_report("a").state, credential_state::ok);
}

// Every token broken: the proxy is unready and gets no traffic, so the
// probes must not depend on requests.
TEST_F(PoolTest, DueProbesStartWithoutTraffic) {
  add_token("a", "ghp_aaaa");
  auto& p = make();
  auto l = take();
  p.complete(l, 401, http::fields{}, R"({"message":"Bad credentials"})");
  EXPECT_FALSE(p.any_usable());
  issuer_->probe_status(200);
  p.start_due_probes(io_.get_executor());
  settle();
  EXPECT_TRUE(issuer_->probes().empty());
  clock_.advance(minutes(1));
  p.start_due_probes(io_.get_executor());
  settle();
  EXPECT_EQ(issuer_->probes().size(), 1u);
  EXPECT_TRUE(p.any_usable());
}

TEST_F(PoolTest, AnIssuerWithoutProbesLeavesTheTokenBrokenUntilReload) {
  add_token("a", "ghp_aaaa");
  std::vector<boost::system::error_code> errors;
  pool_options options;
  options.on_probe = [&errors](const probe_event& e) { errors.push_back(e.error); };
  auto built = pool::from_config(cfg_, clock_, std::make_shared<renewing_only_issuer>(), options);
  ASSERT_TRUE(built.value);
  auto& p = *built.value;
  auto got = run(io_, acquire_on(p, resource::core, {}, {}));
  ASSERT_TRUE(got.granted);
  p.complete(*got.granted, 401, http::fields{}, R"({"message":"Bad credentials"})");
  clock_.advance(minutes(1));
  p.start_due_probes(io_.get_executor());
  settle();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], boost::system::errc::operation_not_supported);
  EXPECT_FALSE(p.any_usable());
  EXPECT_TRUE(p.reload_secrets().empty());
  EXPECT_TRUE(p.any_usable());
}

// --- every credential broken -------------------------------------------------------

TEST_F(PoolTest, AllBrokenIsDistinguishedFromExhausted) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  auto& p = make();
  // Both spent: a 429 with Retry-After.
  auto la = take(resource::core, "a");
  auto lb = take(resource::core, "b");
  p.complete(la, 403, rate_headers(0, t0 + minutes(10)), R"({"message":"API rate limit exceeded"})");
  p.complete(lb, 403, rate_headers(0, t0 + minutes(20)), R"({"message":"API rate limit exceeded"})");
  auto spent = acquire();
  EXPECT_EQ(spent.outcome, selection_outcome::exhausted);
  EXPECT_FALSE(spent.all_broken);
  EXPECT_EQ(spent.retry_at, t0 + minutes(10));

  // a broken, b spent: b comes back by itself, so still a 429.
  clock_.set(t0 + minutes(10));
  auto a = take(resource::core, "a");
  p.complete(a, 401, http::fields{}, R"({"message":"Bad credentials"})");
  auto mixed = acquire();
  EXPECT_EQ(mixed.outcome, selection_outcome::exhausted);
  EXPECT_FALSE(mixed.all_broken);
  EXPECT_EQ(mixed.retry_at, t0 + minutes(20));
  // b excluded (already tried): every credential considered is broken.
  auto rest = acquire(resource::core, {}, {"b"});
  EXPECT_TRUE(rest.all_broken);
  EXPECT_FALSE(rest.retry_at);

  // Both broken: a 503 "rejected by GitHub", with no Retry-After.
  clock_.set(t0 + minutes(20));
  auto b = take(resource::core, "b");
  p.complete(b, 401, http::fields{}, R"({"message":"Bad credentials"})");
  auto none = acquire();
  EXPECT_FALSE(none.granted);
  EXPECT_EQ(none.outcome, selection_outcome::exhausted);
  EXPECT_TRUE(none.all_broken);
  EXPECT_FALSE(none.retry_at);
  EXPECT_FALSE(none.retry_after);
  // Nothing left to consider is not "all broken".
  EXPECT_FALSE(acquire(resource::core, {}, {"a", "b"}).all_broken);
  // Back after SIGHUP.
  EXPECT_TRUE(p.reload_secrets().empty());
  auto again = acquire();
  EXPECT_TRUE(again.granted);
  EXPECT_FALSE(again.all_broken);
}

TEST_F(PoolTest, AllBrokenCountsAnAppWhoseRenewalFails) {
  add_app("app");
  add_token("pat", "ghp_pppp");
  auto& p = make();
  issuer_->fail_always(401);
  auto l = take();
  ASSERT_EQ(l.name, "pat");
  settle();  // the App's renewal fails
  p.complete(l, 401, http::fields{}, R"({"message":"Bad credentials"})");
  auto none = acquire();
  EXPECT_EQ(none.outcome, selection_outcome::exhausted);
  EXPECT_TRUE(none.all_broken);
  EXPECT_EQ(none.retry_at, t0 + seconds(5));  // the App retries its renewal by itself
}

// --- free revalidations -------------------------------------------------------------

// The cache entry's own credential is preferred only while it has headroom:
// a free revalidation is not sent on a spent bucket while another credential
// has credits (GitHub, like the fake, may refuse it with a 403).
TEST_F(PoolTest, FreeRevalidationAvoidsASpentPreferredCredential) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  pool_options options;
  options.set_reserve(100);
  auto& p = make(options);
  auto la = take(resource::core, "a");
  p.complete(la, 403, rate_headers(0, t0 + minutes(30)), R"({"message":"API rate limit exceeded"})");
  auto lb = take(resource::core, "b");
  p.complete(lb, 200, rate_headers(50, t0 + minutes(30)), "{}");  // below the reserve of 100

  // An ordinary request: nobody (b is at its reserve).
  EXPECT_EQ(acquire(resource::core, "a").outcome, selection_outcome::exhausted);
  // A free revalidation ignores the reserve, and goes to b, not to the spent a.
  auto revalidation = acquire(resource::core, "a", {}, true);
  ASSERT_TRUE(revalidation.granted);
  EXPECT_EQ(revalidation.granted->name, "b");
  p.complete(*revalidation.granted, 403, rate_headers(0, t0 + minutes(40)), R"({"message":"API rate limit exceeded"})");
  // Both spent: the preferred one after all, as a last resort.
  auto last_resort = acquire(resource::core, "a", {}, true);
  ASSERT_TRUE(last_resort.granted);
  EXPECT_EQ(last_resort.granted->name, "a");
  auto other = acquire(resource::core, "b", {}, true);
  ASSERT_TRUE(other.granted);
  EXPECT_EQ(other.granted->name, "b");
}

// --- ramp-up ------------------------------------------------------------------------

TEST_F(PoolTest, RequestsRampUpAfterACoolDownEnds) {
  add_token("a", "ghp_aaaa");
  pool_options options;
  options.max_concurrent = 10;
  options.ramp_up = seconds(10);
  options.ramp_up_start = 2;
  options.wait_timeout = std::chrono::milliseconds(1);
  auto& p = make(options);
  auto l = take();
  auto limited = rate_headers(4000, t0 + minutes(30));
  limited.set("Retry-After", "30");
  p.complete(l, 403, limited, R"({"message":"You have exceeded a secondary rate limit."})");

  std::vector<lease> held;
  const auto fill = [&] {
    for (;;) {
      auto got = acquire();
      if (!got.granted) {
        EXPECT_EQ(got.outcome, selection_outcome::busy);  // waits, then 503: not a 429
        return held.size();
      }
      held.push_back(std::move(*got.granted));
    }
  };
  clock_.set(t0 + seconds(30));
  EXPECT_EQ(fill(), 2u);
  clock_.set(t0 + seconds(35));
  EXPECT_EQ(fill(), 2u + 8u * 5 / 10);
  clock_.set(t0 + seconds(40));
  EXPECT_EQ(fill(), 10u);
  // A completion makes room at once.
  p.complete(held.back(), 200, rate_headers(3999, t0 + minutes(30)), "{}");
  EXPECT_TRUE(acquire().granted);
}

TEST_F(PoolTest, A401ForAReplacedSecretDoesNotBreakTheNewOne) {
  add_token("a", "ghp_old");
  auto& p = make();
  auto old_lease = take();
  write(cfg_.credentials[0].token_file, "ghp_new");
  EXPECT_TRUE(p.reload_secrets().empty());
  p.complete(old_lease, 401, http::fields{}, R"({"message":"Bad credentials"})");
  EXPECT_EQ(find_report("a").state, credential_state::ok);
  EXPECT_EQ(take().authorization, "token ghp_new");
}

TEST_F(PoolTest, LastOnlySingleTokenBrokenMakesThePoolUnready) {
  add_token("a", "ghp_aaaa");
  auto& p = make();
  EXPECT_TRUE(p.any_usable());
  auto l = take();
  p.complete(l, 401, http::fields{}, R"({"message":"Bad credentials"})");
  EXPECT_FALSE(p.any_usable());
}

TEST_F(PoolTest, ReloadKeepsTheOldSecretWhenTheFileIsUnreadable) {
  add_token("a", "ghp_aaaa");
  auto& p = make();
  std::filesystem::remove(cfg_.credentials[0].token_file);
  const auto errors = p.reload_secrets();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 10);
  EXPECT_NE(errors[0].message.find("credential a"), std::string::npos);
  EXPECT_EQ(take().authorization, "token ghp_aaaa");
}

// --- in flight and waiting -------------------------------------------------

TEST_F(PoolTest, InFlightCountsReturnToZero) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  auto& p = make();
  {
    auto completed = take();
    auto abandoned = take();
    auto dropped = take();  // destroyed while open: abandoned by its destructor
    auto moved = take();
    EXPECT_EQ(in_flight_total(), 4u);
    p.complete(completed, 200, rate_headers(10, t0 + minutes(5)), "{}");
    EXPECT_FALSE(completed.open());
    p.complete(completed, 200, rate_headers(10, t0 + minutes(5)), "{}");  // twice: no effect
    p.abandon(abandoned);
    p.abandon(abandoned);
    lease target = std::move(moved);
    EXPECT_FALSE(moved.open());
    EXPECT_TRUE(target.open());
    EXPECT_EQ(in_flight_total(), 2u);
  }
  EXPECT_EQ(in_flight_total(), 0u);
}

TEST_F(PoolTest, BusyWaitsForACompletion) {
  add_token("a", "ghp_aaaa");
  pool_options options;
  options.max_concurrent = 1;
  auto& p = make(options);
  auto first = take();
  std::optional<acquisition> second;
  asio::co_spawn(io_, acquire_on(p, resource::core, {}, {}), [&](std::exception_ptr e, acquisition a) {
    ASSERT_FALSE(e);
    second.emplace(std::move(a));
  });
  io_.restart();
  io_.poll();
  EXPECT_FALSE(second);  // waiting for a slot
  p.complete(first, 200, rate_headers(100, t0 + minutes(5)), "{}");
  while (!second && io_.run_one() > 0) {
  }
  ASSERT_TRUE(second);
  ASSERT_TRUE(second->granted);
  EXPECT_EQ(second->granted->name, "a");
}

TEST_F(PoolTest, BusyWaitIsBounded) {
  add_token("a", "ghp_aaaa");
  pool_options options;
  options.max_concurrent = 1;
  options.wait_timeout = std::chrono::milliseconds(20);
  make(options);
  auto first = take();
  auto second = acquire();
  EXPECT_FALSE(second.granted);
  EXPECT_EQ(second.outcome, selection_outcome::busy);
  EXPECT_EQ(in_flight_total(), 1u);
}

// --- GitHub Apps -----------------------------------------------------------

TEST_F(PoolTest, FirstAcquiresShareOneRenewal) {
  add_app("app", "7890123");
  auto& p = make();
  EXPECT_TRUE(p.any_usable());  // no token yet, but it can renew
  issuer_->hold();
  std::vector<std::optional<acquisition>> results(5);
  for (auto& slot : results) {
    asio::co_spawn(io_, acquire_on(p, resource::core, {}, {}), [&slot](std::exception_ptr e, acquisition a) {
      ASSERT_FALSE(e);
      slot.emplace(std::move(a));
    });
  }
  io_.restart();
  io_.poll();
  EXPECT_EQ(issuer_->calls(), 1);
  for (auto& r : results) EXPECT_FALSE(r);
  EXPECT_EQ(find_report("app").token, token_state::renewing);
  issuer_->release();
  while (io_.run_one() > 0) {
    if (std::all_of(results.begin(), results.end(), [](auto& r) { return r.has_value(); })) break;
  }
  for (auto& r : results) {
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->granted);
    EXPECT_EQ(r->granted->authorization, "Bearer ghs_1");
  }
  EXPECT_EQ(issuer_->calls(), 1);
  EXPECT_EQ(find_report("app").token, token_state::valid);
  EXPECT_EQ(in_flight_total(), 5u);
  results.clear();
  EXPECT_EQ(in_flight_total(), 0u);

  // The JWT: RS256 with the App's key, iat 60 s back, exp within 10 minutes.
  ASSERT_EQ(issuer_->installation_ids(), std::vector<std::string>{"7890123"});
  const auto parts = testing::split_jws(issuer_->jwts().at(0));
  ASSERT_TRUE(parts);
  EXPECT_TRUE(testing::verify_rs256(*parts, test_key().public_spki));
  const auto claims = boost::json::parse(parts->claims_json).as_object();
  EXPECT_EQ(claims.at("iss").as_int64(), 123456);
  EXPECT_EQ(claims.at("iat").as_int64(), to_epoch_seconds(t0) - 60);
  EXPECT_LE(claims.at("exp").as_int64() - to_epoch_seconds(t0), 600);
}

TEST_F(PoolTest, ExpiringTokenIsRenewedAheadWithoutWaiting) {
  add_app("app");
  make();
  EXPECT_EQ(take().authorization, "Bearer ghs_1");
  EXPECT_EQ(issuer_->calls(), 1);
  clock_.advance(minutes(30));
  EXPECT_EQ(take().authorization, "Bearer ghs_1");
  EXPECT_EQ(issuer_->calls(), 1);

  // Past renew_at (80 % of the hour, 5 min before expiry at the latest): the
  // request still gets the current token while the renewal runs.
  clock_.set(t0 + minutes(49));
  issuer_->hold();
  EXPECT_EQ(take().authorization, "Bearer ghs_1");
  io_.poll();
  EXPECT_EQ(issuer_->calls(), 1 + 1);
  EXPECT_EQ(find_report("app").token, token_state::expiring_soon);
  EXPECT_EQ(take().authorization, "Bearer ghs_1");  // no second renewal
  EXPECT_EQ(issuer_->calls(), 2);
  issuer_->release();
  io_.restart();
  io_.run();
  EXPECT_EQ(take().authorization, "Bearer ghs_2");
  EXPECT_EQ(find_report("app").token, token_state::valid);
}

TEST_F(PoolTest, UnauthorisedAppTokenIsDroppedAndRenewed) {
  add_app("app");
  pool_options options;
  options.replication_grace = seconds(10);
  auto& p = make(options);
  auto l = take();
  EXPECT_EQ(l.authorization, "Bearer ghs_1");
  // Within the grace after issuance: replication delay, keep the token.
  clock_.advance(seconds(2));
  EXPECT_EQ(p.complete(l, 401, http::fields{}, R"({"message":"Bad credentials"})").kind,
            verdict_kind::bad_credential);
  EXPECT_EQ(find_report("app").state, credential_state::ok);
  auto again = take();
  EXPECT_EQ(again.authorization, "Bearer ghs_1");
  EXPECT_EQ(issuer_->calls(), 1);

  clock_.advance(minutes(5));
  p.complete(again, 401, http::fields{}, R"({"message":"Bad credentials"})");
  EXPECT_EQ(find_report("app").state, credential_state::broken);
  auto renewed = take();
  EXPECT_EQ(renewed.authorization, "Bearer ghs_2");
  EXPECT_EQ(issuer_->calls(), 2);
  EXPECT_EQ(find_report("app").state, credential_state::ok);
  // A late 401 for the dropped token leaves the new one alone.
  EXPECT_NE(renewed.generation, l.generation);
}

TEST_F(PoolTest, FailingAppNextToATokenNeverDelaysRequests) {
  add_app("app");
  add_token("pat", "ghp_pppp");
  auto& p = make();
  // The renewal never answers: requests go to the token without waiting.
  issuer_->hold();
  for (int i = 0; i < 3; ++i) {
    auto l = take();
    EXPECT_EQ(l.name, "pat");
    p.complete(l, 200, rate_headers(4000 - i, t0 + minutes(30)), "{}");
  }
  EXPECT_EQ(issuer_->calls(), 1);
  // Preferring the App does not wait for it either.
  EXPECT_EQ(take(resource::core, "app").name, "pat");

  // The endpoint refuses (the key is not the App's, or it was uninstalled).
  issuer_->fail_always(401);
  issuer_->release();
  io_.restart();
  io_.run();
  const auto r = find_report("app");
  EXPECT_EQ(r.state, credential_state::broken);
  EXPECT_EQ(r.token, token_state::failed);
  EXPECT_EQ(r.renewal_status, 401u);
  EXPECT_EQ(r.renewal_error, make_error_code(credential_error::token_rejected));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(take(resource::core, "app").name, "pat");
  EXPECT_EQ(issuer_->calls(), 1);  // backing off
  EXPECT_TRUE(p.any_usable());

  // The token tried already: no waiting for the App, which backs off.
  auto none = acquire(resource::core, {}, {"pat"});
  EXPECT_EQ(none.outcome, selection_outcome::exhausted);
  ASSERT_TRUE(none.retry_at);
  EXPECT_EQ(*none.retry_at, t0 + seconds(5));  // backoff_initial
  EXPECT_EQ(in_flight_total(), 0u);
}

TEST_F(PoolTest, AppOnlyWaitsForTheRenewalAndReportsItsFailure) {
  add_app("app");
  auto& p = make();
  issuer_->fail_always(404);
  auto got = acquire();
  EXPECT_FALSE(got.granted);
  EXPECT_EQ(got.outcome, selection_outcome::exhausted);
  EXPECT_EQ(got.retry_at, t0 + seconds(5));
  EXPECT_EQ(issuer_->calls(), 1);
  EXPECT_FALSE(p.any_usable());
  // SIGHUP retries at once (with the key read again).
  EXPECT_TRUE(p.reload_secrets().empty());
  EXPECT_TRUE(p.any_usable());
  auto again = acquire();
  EXPECT_EQ(issuer_->calls(), 2);
  EXPECT_FALSE(again.granted);
  EXPECT_FALSE(p.any_usable());
  // Readiness does not flap with the backoff: still unready once a retry is due.
  clock_.advance(seconds(60));
  EXPECT_FALSE(p.any_usable());
}

TEST_F(PoolTest, RenewalRetriesOnceWhenGitHubsClockDisagrees) {
  add_app("app");
  auto& p = make();
  // Our clock is 10 minutes behind GitHub's: the first JWT looks expired.
  issuer_response refused;
  refused.status = 401;
  refused.body = R"({"message":"'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"})";
  refused.date = http_date(t0 + minutes(10));
  issuer_->script(refused);
  auto l = take();
  EXPECT_EQ(issuer_->calls(), 2);
  EXPECT_EQ(p.now(), t0 + minutes(10));
  const auto jwts = issuer_->jwts();
  const auto second = testing::split_jws(jwts.at(1));
  ASSERT_TRUE(second);
  const auto claims = boost::json::parse(second->claims_json).as_object();
  EXPECT_EQ(claims.at("iat").as_int64(), to_epoch_seconds(t0 + minutes(10)) - 60);
  EXPECT_EQ(l.authorization.rfind("Bearer ghs_", 0), 0u);
}

// Runs `workers` coroutines on each of `threads` io_contexts, each doing
// `rounds` acquire → complete/abandon/drop, and joins them.
struct worker_stats {
  std::atomic<int> granted{0};
  std::atomic<int> failed{0};
  std::mutex mutex;
  std::map<std::string, int> by_name;
};

void run_workers(pool& p, int threads, int workers, int rounds, worker_stats& stats,
                 const std::function<void()>& while_running = {}) {
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (int t = 0; t < threads; ++t) contexts.push_back(std::make_unique<asio::io_context>());
  for (auto& io : contexts) {
    for (int w = 0; w < workers; ++w) {
      asio::co_spawn(
          *io,
          [&p, &stats, rounds]() -> asio::awaitable<void> {
            for (int i = 0; i < rounds; ++i) {
              auto got = co_await p.acquire(resource::core);
              if (!got.granted) {
                ++stats.failed;
                continue;
              }
              ++stats.granted;
              {
                const std::lock_guard lock(stats.mutex);
                ++stats.by_name[std::string(got.granted->name)];
              }
              // Let the other coroutines of this thread run while it is in flight.
              co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
              if (i % 3 == 0) {
                p.abandon(*got.granted);
              } else if (i % 3 == 1) {
                p.complete(*got.granted, 304, http::fields{}, {});
              }  // else: the lease's destructor abandons it
            }
          },
          asio::detached);
    }
  }
  std::vector<std::thread> runners;
  for (auto& io : contexts) runners.emplace_back([&io] { io->run(); });
  if (while_running) while_running();
  for (auto& r : runners) r.join();
}

TEST_F(PoolTest, ConcurrentUseFromSeveralThreads) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  add_app("app");
  pool_options options;
  options.max_concurrent = 3;  // fewer slots than workers: waits for completions
  // 7200 requests at once: concurrency only (secondary limits: PoolSecondary).
  options.secondary.rest_points_per_minute = 0;
  auto& p = make(options);
  worker_stats stats;
  run_workers(p, 3, 8, 300, stats);
  EXPECT_EQ(stats.granted.load(), 3 * 8 * 300);
  EXPECT_EQ(stats.failed.load(), 0);
  EXPECT_EQ(issuer_->calls(), 1);
  EXPECT_GT(stats.by_name["a"], 0);
  EXPECT_GT(stats.by_name["b"], 0);
  EXPECT_GT(stats.by_name["app"], 0);
  EXPECT_EQ(in_flight_total(), 0u);
}

TEST_F(PoolTest, WaitersOnSeveralThreadsShareOneRenewal) {
  add_app("app");
  auto& p = make();
  issuer_->hold();
  worker_stats stats;
  // The renewal is parked on one thread while every worker of every thread
  // waits; its completion wakes them on their own threads.
  run_workers(p, 3, 4, 50, stats, [&] {
    // Bounded: if no worker ever asks, release them anyway and fail.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (issuer_->calls() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    EXPECT_GT(issuer_->calls(), 0) << "no worker asked for a renewal within 30 s";
    issuer_->release();
  });
  EXPECT_EQ(stats.granted.load(), 3 * 4 * 50);
  EXPECT_EQ(stats.failed.load(), 0);
  EXPECT_EQ(issuer_->calls(), 1);
  EXPECT_EQ(in_flight_total(), 0u);
}

// --- construction ----------------------------------------------------------

TEST_F(PoolTest, ErrorsNameTheCredentialAndLineNeverTheSecret) {
  add_token("good", "ghp_SECRETVALUE");
  config::credential_config missing;
  missing.name = "missing-env";
  missing.token_env = "GHP_POOL_TEST_SURELY_UNSET_VARIABLE";
  missing.source_line = 42;
  cfg_.credentials.push_back(missing);
  add_app("bad-app");
  write(cfg_.credentials.back().private_key_file, "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n");
  auto built = pool::from_config(cfg_, clock_, issuer_, {});
  EXPECT_FALSE(built.value);
  ASSERT_EQ(built.errors.size(), 2u);
  EXPECT_EQ(built.errors[0].line, 42);
  EXPECT_EQ(built.errors[0].file, "/etc/github-proxy/config.yaml");
  EXPECT_NE(built.errors[0].message.find("missing-env"), std::string::npos);
  EXPECT_NE(built.errors[1].message.find("credential bad-app"), std::string::npos);
  EXPECT_NE(built.errors[1].message.find("private_key_file"), std::string::npos);
  for (const auto& e : built.errors) {
    EXPECT_EQ(e.to_string().find("SECRETVALUE"), std::string::npos);
    EXPECT_EQ(e.to_string().find("not a key"), std::string::npos);
  }
}

TEST_F(PoolTest, AppsNeedAnIssuer) {
  add_app("app");
  auto built = pool::from_config(cfg_, clock_, nullptr, {});
  EXPECT_FALSE(built.value);
  ASSERT_EQ(built.errors.size(), 1u);
}

TEST_F(PoolTest, ReportsObservedBucketsForMetrics) {
  add_token("a", "ghp_aaaa");
  auto& p = make();
  auto l = take(resource::search);
  p.complete(l, 200, rate_headers(29, t0 + seconds(60), 30, "search"), "{}");
  const auto r = find_report("a");
  EXPECT_EQ(r.kind, credential_kind::token);
  EXPECT_EQ(r.state, credential_state::ok);
  ASSERT_EQ(r.buckets.size(), 1u);
  EXPECT_EQ(r.buckets[0].r, resource::search);
  EXPECT_EQ(r.buckets[0].view.remaining, 29);
  EXPECT_EQ(r.buckets[0].view.limit, 30);
  EXPECT_EQ(p.name(0), "a");
  EXPECT_EQ(p.kind(0), credential_kind::token);
}

// --- secondary limits (docs/contract.md §7 "Secondary limits") ------------

class PoolSecondaryTest : public PoolTest {};

pool_options small_secondary_limits() {
  pool_options options;
  options.secondary.rest_points_per_minute = 10;
  options.secondary.content_per_minute = 3;
  options.secondary.share_percent = 50;  // 5 points, 1 content-creating request per credential
  return options;
}

const secondary_demand one_point{secondary_cost("GET", false, false), true};
const secondary_demand one_point_no_wait{secondary_cost("GET", false, false), false};

acquisition acquire_demand(asio::io_context& io, pool& p, const secondary_demand& d, resource r = resource::core) {
  return run(io, [](pool& p, resource r, secondary_demand d) -> asio::awaitable<acquisition> {
    co_return co_await p.acquire(r, {}, {}, false, d);
  }(p, r, d));
}

TEST_F(PoolSecondaryTest, SpreadsPointsAndStopsAtTheShareOfEveryCredential) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  auto& p = make(small_secondary_limits());
  std::map<std::string, int> by_name;
  for (int i = 0; i < 10; ++i) {
    auto got = acquire_demand(io_, p, one_point_no_wait);
    ASSERT_TRUE(got.granted) << i;
    ++by_name[std::string(got.granted->name)];
    p.complete(*got.granted, 304, rate_headers(4000, t0 + seconds(3600)), {});
  }
  EXPECT_EQ(by_name["a"], 5);
  EXPECT_EQ(by_name["b"], 5);
  EXPECT_EQ(find_report("a").secondary.rest_points, 5);
  // Both at their share: refused at once, paced (a caller that may not wait
  // is not told when room comes back: it answers without it) …
  auto at_once = acquire_demand(io_, p, one_point_no_wait);
  EXPECT_FALSE(at_once.granted);
  EXPECT_TRUE(at_once.paced);
  EXPECT_FALSE(at_once.retry_at);
  // … and one that may wait, beyond the pacing wait, with the instant the
  // first point leaves the minute.
  auto none = acquire_demand(io_, p, one_point);
  EXPECT_FALSE(none.granted);
  EXPECT_EQ(none.outcome, selection_outcome::exhausted);
  EXPECT_TRUE(none.paced);
  ASSERT_TRUE(none.retry_at);
  EXPECT_EQ(*none.retry_at, t0 + seconds(60));
  EXPECT_EQ(none.retry_after, seconds(60));
  // A minute later the window has slid.
  clock_.set(t0 + seconds(60));
  EXPECT_TRUE(acquire_demand(io_, p, one_point_no_wait).granted);
}

TEST_F(PoolSecondaryTest, WaitsForRoomWithinThePacingWaitOnly) {
  add_token("a", "ghp_aaaa");
  auto options = small_secondary_limits();
  options.pacing_wait = std::chrono::seconds(5);
  auto& p = make(options);
  auto held = acquire_demand(io_, p, one_point);  // in flight; its end wakes waiters
  ASSERT_TRUE(held.granted);
  for (int i = 0; i < 4; ++i) {
    auto got = acquire_demand(io_, p, one_point);
    ASSERT_TRUE(got.granted);
    p.abandon(*got.granted);
  }
  // Room in 60 s: beyond the pacing wait, a 429 at once.
  auto refused = acquire_demand(io_, p, one_point);
  EXPECT_FALSE(refused.granted);
  EXPECT_TRUE(refused.paced);
  EXPECT_EQ(refused.retry_after, seconds(60));

  // Room in 1 s: the request waits for it rather than being refused.
  clock_.set(t0 + seconds(59));
  std::optional<acquisition> paced;
  asio::co_spawn(io_, [](pool& p, std::optional<acquisition>& out) -> asio::awaitable<void> {
    out.emplace(co_await p.acquire(resource::core, {}, {}, false, one_point));
  }(p, paced), asio::detached);
  io_.restart();
  io_.poll();
  ASSERT_FALSE(paced) << "answered before there was room";
  clock_.set(t0 + seconds(60));
  p.abandon(*held.granted);  // any wake-up: the waiter looks again
  settle();
  ASSERT_TRUE(paced);
  EXPECT_TRUE(paced->granted);
}

TEST_F(PoolSecondaryTest, WritesCountFivePointsAndContentCreation) {
  add_token("a", "ghp_aaaa");
  auto& p = make(small_secondary_limits());
  auto write = acquire_demand(io_, p, {secondary_cost("POST", false, false), false});
  ASSERT_TRUE(write.granted);
  p.abandon(*write.granted);
  EXPECT_EQ(find_report("a").secondary.rest_points, 5);
  EXPECT_EQ(find_report("a").secondary.content_minute, 1);
  // Every point of the share is spent: no read either.
  auto read = acquire_demand(io_, p, one_point_no_wait);
  EXPECT_FALSE(read.granted);
  EXPECT_TRUE(read.paced);
}

TEST_F(PoolSecondaryTest, GitHubsSecondaryAnswerFillsTheWindowUntilTheCoolDownEnds) {
  add_token("a", "ghp_aaaa");
  add_token("b", "ghp_bbbb");
  auto& p = make();
  auto got = acquire_demand(io_, p, one_point);
  ASSERT_TRUE(got.granted);
  const std::string first(got.granted->name);
  http::fields h = rate_headers(4000, t0 + seconds(3600));
  h.set("Retry-After", "30");
  const auto v = p.complete(*got.granted, 403, h,
                            R"({"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."})");
  EXPECT_EQ(v.kind, verdict_kind::secondary_limit);
  EXPECT_TRUE(find_report(first).secondary.filled);
  // What the other replicas are told: full, for the 30 s the cool-down runs.
  const auto published = p.own_secondary_usage();
  const auto index = first == "a" ? 0 : 1;
  EXPECT_TRUE(published[index].filled);
  EXPECT_EQ(published[index].cooling_seconds, 30);
  EXPECT_FALSE(published[1 - index].filled);
  // Never spread: every later request goes to the other one.
  for (int i = 0; i < 3; ++i) {
    auto next = acquire_demand(io_, p, one_point);
    ASSERT_TRUE(next.granted);
    EXPECT_NE(next.granted->name, first);
    p.abandon(*next.granted);
  }
  clock_.set(t0 + seconds(30));
  EXPECT_FALSE(find_report(first).secondary.filled);
}

TEST_F(PoolSecondaryTest, OtherReplicasUsageCountsAgainstTheShare) {
  add_token("a", "ghp_aaaa");
  auto& p = make(small_secondary_limits());
  secondary_usage others;
  others.rest_points = 4;
  p.set_others_secondary_usage(std::span<const secondary_usage>(&others, 1));
  auto got = acquire_demand(io_, p, one_point_no_wait);
  ASSERT_TRUE(got.granted);
  p.abandon(*got.granted);
  EXPECT_EQ(p.own_secondary_usage().at(0).rest_points, 1);  // what this replica publishes
  EXPECT_EQ(find_report("a").secondary.rest_points, 5);     // what it counts
  auto none = acquire_demand(io_, p, one_point_no_wait);
  EXPECT_FALSE(none.granted);
  EXPECT_TRUE(none.paced);
  // The others' usage is cleared by the next exchange.
  p.set_others_secondary_usage({});
  EXPECT_TRUE(acquire_demand(io_, p, one_point_no_wait).granted);
}

TEST_F(PoolSecondaryTest, GitHubsClockSteppingBackDoesNotDropTheNewestPoints) {
  add_token("a", "ghp_aaaa");
  auto& p = make(small_secondary_limits());
  for (int i = 0; i < 5; ++i) {
    auto got = acquire_demand(io_, p, one_point_no_wait);
    ASSERT_TRUE(got.granted) << i;
    // GitHub's Date a second behind ours: the pool's view of GitHub's
    // clock steps back a second.
    http::fields h = rate_headers(4000, t0 + seconds(3600));
    h.set(http::field::date, http_date(t0 - seconds(1)));
    p.complete(*got.granted, 304, h, {});
  }
  EXPECT_FALSE(acquire_demand(io_, p, one_point_no_wait).granted) << "the five points still count";
}

TEST_F(PoolSecondaryTest, APacingWaitAsLongAsTheWholeWaitStillEndsInA429) {
  add_token("a", "ghp_aaaa");
  auto options = small_secondary_limits();
  options.wait_timeout = std::chrono::seconds(5);
  options.pacing_wait = std::chrono::seconds(5);
  auto& p = make(options);
  for (int i = 0; i < 5; ++i) {
    auto got = acquire_demand(io_, p, one_point);
    ASSERT_TRUE(got.granted);
    p.abandon(*got.granted);
  }
  // Room in 60 s: neither wait reaches it, so the answer comes at once.
  const auto refused = acquire_demand(io_, p, one_point);
  EXPECT_FALSE(refused.granted);
  EXPECT_EQ(refused.outcome, selection_outcome::exhausted);
  EXPECT_TRUE(refused.paced);
}

}  // namespace
}  // namespace github_proxy::credentials
