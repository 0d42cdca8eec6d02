// The request pipeline in-process: a scripted upstream client, a credential
// source over a token pool, the memory cache store, and a response writer
// that captures what the client would see. No sockets, no daemon.
#include "proxy/request_pipeline.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "github_proxy/cache/memory_store.h"
#include "unit/credentials/manual_clock.h"

namespace github_proxy::proxy {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

// ---- test doubles ---------------------------------------------------------

// One scripted answer of the upstream.
struct reply {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;
  bool unreachable = false;  // no answer at all
  bool throws = false;       // the client throws (a defect somewhere below the pipeline)
  // Set: the body stops after this many bytes until release_bodies().
  std::optional<std::size_t> stall_after;
};

class string_body final : public upstream::body_reader {
 public:
  explicit string_body(std::string body) : body_(std::move(body)) {}
  asio::awaitable<upstream::body_chunk> read_some(char* dest, std::size_t room) override {
    const auto n = std::min(room, body_.size() - offset_);
    std::copy_n(body_.data() + offset_, n, dest);
    offset_ += n;
    co_return upstream::body_chunk{{}, n};
  }
  bool done() const override { return offset_ == body_.size(); }

 private:
  std::string body_;
  std::size_t offset_ = 0;
};

// A body whose bytes after `stall_after` come only once `gate` opens: a
// GitHub (or a network) that stalls in the middle of a transfer.
struct body_gate {
  explicit body_gate(asio::any_io_executor executor) : timer(executor) {
    timer.expires_at(asio::steady_timer::time_point::max());
  }
  asio::steady_timer timer;
  bool open = false;
};

class stalling_body final : public upstream::body_reader {
 public:
  stalling_body(std::string body, std::size_t stall_after, std::shared_ptr<body_gate> gate)
      : body_(std::move(body)), stall_after_(stall_after), gate_(std::move(gate)) {}
  asio::awaitable<upstream::body_chunk> read_some(char* dest, std::size_t room) override {
    if (offset_ >= stall_after_ && !gate_->open) {
      boost::system::error_code ec;
      co_await gate_->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    auto n = std::min(room, body_.size() - offset_);
    if (offset_ < stall_after_) n = std::min(n, stall_after_ - offset_);
    std::copy_n(body_.data() + offset_, n, dest);
    offset_ += n;
    co_return upstream::body_chunk{{}, n};
  }
  bool done() const override { return offset_ == body_.size(); }

 private:
  std::string body_;
  std::size_t stall_after_;
  std::size_t offset_ = 0;
  std::shared_ptr<body_gate> gate_;
};

// What the pipeline sent upstream, and the answers it gets, in order. While
// `held`, every send waits until `release()`: concurrent requests can then
// be seen joining one flight.
class scripted_upstream final : public upstream::client {
 public:
  struct sent_request {
    std::string method, target, authorization, if_none_match, accept, accept_encoding;
  };

  explicit scripted_upstream(asio::any_io_executor executor)
      : gate_(executor), body_gate_(std::make_shared<body_gate>(executor)) {
    gate_.expires_at(asio::steady_timer::time_point::max());
  }

  asio::awaitable<upstream::exchange> send(request& req, upstream::api) override {
    sent.push_back({std::string(req.method_string()), std::string(req.target()),
                    std::string(req[http::field::authorization]), std::string(req[http::field::if_none_match]),
                    std::string(req[http::field::accept]), std::string(req[http::field::accept_encoding])});
    if (held) {
      boost::system::error_code ec;
      co_await gate_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    upstream::exchange out;
    if (replies.empty()) {
      ADD_FAILURE() << "unexpected upstream request " << req.target();
      co_return out;
    }
    auto r = std::move(replies.front());
    replies.pop_front();
    if (r.unreachable) co_return out;
    if (r.throws) throw std::logic_error("scripted failure");
    out.answered = true;
    out.head.result(r.status);
    for (const auto& [name, value] : r.fields) out.head.insert(name, value);
    out.content_length = r.body.size();
    out.head.set(http::field::content_length, std::to_string(r.body.size()));
    if (r.stall_after) {
      out.body = std::make_unique<stalling_body>(std::move(r.body), *r.stall_after, body_gate_);
    } else {
      out.body = std::make_unique<string_body>(std::move(r.body));
    }
    co_return out;
  }
  void close_idle() override {}

  void release() {
    held = false;
    gate_.cancel();
  }
  // Lets every stalled body go on.
  void release_bodies() {
    body_gate_->open = true;
    body_gate_->timer.cancel();
  }

  std::deque<reply> replies;
  std::vector<sent_request> sent;
  bool held = false;

 private:
  asio::steady_timer gate_;
  std::shared_ptr<body_gate> body_gate_;
};

// The credential source: a real pool of two tokens behind the interface,
// counting what the pipeline asked of it.
class counting_source final : public credentials::credential_source {
 public:
  explicit counting_source(credentials::pool& pool) : pool_(pool) {}
  asio::awaitable<credentials::acquisition> acquire(credentials::resource r, std::string_view preferred,
                                                    std::span<const std::string_view> exclude,
                                                    bool free_revalidation,
                                                    credentials::secondary_demand demand) override {
    ++acquired;
    if (free_revalidation) ++free_revalidations;
    co_return co_await pool_.acquire(r, preferred, exclude, free_revalidation, demand);
  }
  credentials::verdict complete(credentials::lease& l, unsigned status, const http::fields& headers,
                                std::string_view body) override {
    return pool_.complete(l, status, headers, body);
  }
  void abandon(credentials::lease& l) override { pool_.abandon(l); }

  int acquired = 0;
  int free_revalidations = 0;

 private:
  credentials::pool& pool_;
};

// A cache backend whose writes all fail (Redis down, say): reads miss.
class failing_backend final : public cache::cache_backend {
  class store final : public cache::cache_store {
    asio::awaitable<cache::get_result> get(std::string_view) override { co_return cache::get_result{}; }
    asio::awaitable<boost::system::error_code> put(std::string_view, std::string, std::chrono::seconds) override {
      co_return cache::store_error::unavailable;
    }
    asio::awaitable<boost::system::error_code> erase(std::string_view) override {
      co_return cache::store_error::unavailable;
    }
  };

 public:
  std::unique_ptr<cache::cache_store> for_thread(asio::any_io_executor) override {
    return std::make_unique<store>();
  }
  cache::store_stats stats() const override { return {}; }
  std::string_view name() const override { return "failing"; }
};

class capturing_writer final : public response_writer {
 public:
  asio::awaitable<boost::system::error_code> write(response& message) override {
    status = message.result_int();
    cache_status = std::string(message["Cache-Status"]);
    retry_after = std::string(message[http::field::retry_after]);
    body = message.body();
    written = true;
    co_return boost::system::error_code{};
  }
  asio::awaitable<boost::system::error_code> write_pieces(pieced_response& message,
                                                          std::span<const asio::const_buffer> pieces) override {
    status = message.result_int();
    cache_status = std::string(message["Cache-Status"]);
    retry_after = std::string(message[http::field::retry_after]);
    content_length = std::string(message[http::field::content_length]);
    link = std::string(message[http::field::link]);
    body.clear();
    for (const auto& piece : pieces) body.append(static_cast<const char*>(piece.data()), piece.size());
    written = true;
    co_return boost::system::error_code{};
  }
  asio::awaitable<boost::system::error_code> begin(streamed_response& message) override {
    status = message.result_int();
    cache_status = std::string(message["Cache-Status"]);
    written = true;
    co_return boost::system::error_code{};
  }
  asio::awaitable<boost::system::error_code> chunk(const void* data, std::size_t size) override {
    ++chunks;
    body.append(static_cast<const char*>(data), size);
    co_return boost::system::error_code{};
  }
  asio::awaitable<boost::system::error_code> end() override { co_return boost::system::error_code{}; }
  bool started() const override { return written; }

  unsigned status = 0;
  std::string cache_status;
  std::string retry_after;
  std::string content_length;  // of a pieced answer
  std::string link;            // of a pieced answer
  std::string body;
  int chunks = 0;
  bool written = false;
};

// ---- the fixture ----------------------------------------------------------

constexpr std::string_view status_stored = "github-proxy; fwd=miss; stored";
constexpr std::string_view status_revalidated = "github-proxy; hit; detail=revalidated";
constexpr std::string_view status_coalesced = "github-proxy; hit; detail=coalesced";

reply ok(std::string etag, std::string body) {
  return {200, {{"ETag", std::move(etag)}, {"Content-Type", "application/json; charset=utf-8"}}, std::move(body)};
}
reply not_modified(std::string etag) { return {304, {{"ETag", std::move(etag)}}, {}}; }

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const cache::memory_store_options memory;
    build(&memory);
  }

  // Builds the pipeline over the memory store, or over `backend` when set.
  void build(const cache::memory_store_options* memory, std::unique_ptr<cache::cache_backend> backend = nullptr) {
    ::setenv("GHP_PIPELINE_TEST_TOKEN_A", "ghp_pipeline_test_token_a", 1);
    ::setenv("GHP_PIPELINE_TEST_TOKEN_B", "ghp_pipeline_test_token_b", 1);
    cfg_.listen.threads = 1;
    cfg_.credentials.clear();
    for (const auto* name : {"a", "b"}) {
      config::credential_config c;
      c.name = std::string("token-") + name;
      c.token_env = std::string("GHP_PIPELINE_TEST_TOKEN_") + static_cast<char>(std::toupper(*name));
      cfg_.credentials.push_back(c);
    }
    auto built = credentials::pool::from_config(cfg_, clock_, nullptr);
    for (const auto& e : built.errors) ADD_FAILURE() << e.message;
    ASSERT_TRUE(built.value);
    pool_ = std::move(built.value);
    source_ = std::make_unique<counting_source>(*pool_);

    auto loaded = auth::load_registry_from_string(
        "version: 1\nclients:\n  - name: ci\n    token: ci-token\n"
        "  - name: capped\n    token: capped-token\n    upstream_budget: 1/h\n",
        "registry.yaml");
    ASSERT_TRUE(loaded.snapshot);
    registry_.replace(loaded.snapshot);

    backend_ = backend ? std::move(backend) : cache::make_memory_backend(*memory);
    shared_.cfg = &cfg_;
    shared_.rest = *upstream::parse_endpoint("https://api.github.com");
    shared_.graphql = *upstream::parse_endpoint("https://api.github.com/graphql");
    shared_.origins = origins_of(shared_.rest.url_prefix());
    shared_.registry = &registry_;
    shared_.metrics = &metrics_;
    shared_.credentials = source_.get();
    shared_.cache = backend_.get();
    shared_.flights = &flights_;
    shared_.budgets = &budgets_;
    shared_.user_agent = "github-proxy/test";
    auto up = std::make_unique<scripted_upstream>(ioc_.get_executor());
    upstream_ = up.get();
    pipeline_ = std::make_unique<request_pipeline>(shared_, ioc_.get_executor(), std::move(up));
  }

  void TearDown() override {
    if (pipeline_) pipeline_->close_idle_connections();
    pipeline_.reset();
  }

  struct client_request {
    request req;
    capturing_writer out;
  };

  // Starts a GET (or `method`) of `target`; run the io_context to finish it.
  client_request& start(std::string_view target, std::vector<std::pair<std::string, std::string>> fields = {},
                        http::verb method = http::verb::get, std::string_view token = "ci-token",
                        std::string body = {}) {
    auto& c = *requests_.emplace_back(std::make_unique<client_request>());
    c.req = request{method, std::string(target), 11};
    c.req.set(http::field::host, "proxy.test");
    c.req.set(http::field::authorization, "token " + std::string(token));
    for (const auto& [name, value] : fields) c.req.set(name, value);
    if (!body.empty()) {
      c.req.body() = std::move(body);
      c.req.prepare_payload();
    }
    asio::co_spawn(ioc_, pipeline_->handle(c.req, c.out, endpoint_), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    return c;
  }

  client_request& get(std::string_view target, std::vector<std::pair<std::string, std::string>> fields = {}) {
    auto& c = start(target, std::move(fields));
    ioc_.run();
    ioc_.restart();
    return c;
  }

  // Runs what is ready without waiting for any timer: held sends stay held.
  void run_ready() {
    while (ioc_.poll() != 0) {
    }
    ioc_.restart();
  }

  double counter(std::string_view family, std::string_view label, std::string_view value) {
    for (const auto& f : metrics_.registry->Collect()) {
      if (f.name != family) continue;
      double sum = 0;
      for (const auto& m : f.metric) {
        for (const auto& l : m.label) {
          if (l.name == label && l.value == value) sum += m.counter.value;
        }
      }
      return sum;
    }
    return 0;
  }

  asio::io_context ioc_;
  config::config cfg_;
  credentials::testing::manual_clock clock_{credentials::from_epoch_seconds(1'732'492'802)};
  std::unique_ptr<credentials::pool> pool_;
  std::unique_ptr<counting_source> source_;
  auth::registry_store registry_;
  metrics::families metrics_{"test"};
  std::unique_ptr<cache::cache_backend> backend_;
  flight_table flights_;
  credentials::memory_budget_ledger budgets_{clock_};
  shared_state shared_;
  scripted_upstream* upstream_ = nullptr;
  std::unique_ptr<request_pipeline> pipeline_;
  client_endpoint_info endpoint_{false, "127.0.0.1:1"};
  std::deque<std::unique_ptr<client_request>> requests_;
};

// ---- the tests --------------------------------------------------------------

TEST_F(PipelineTest, CacheableHitIsRevalidatedWithTheStoredEtag) {
  upstream_->replies = {ok("\"v1\"", R"({"id":1})"), not_modified("\"v1\"")};
  auto& first = get("/repos/o/r");
  EXPECT_EQ(first.out.status, 200u);
  EXPECT_EQ(first.out.cache_status, status_stored);

  auto& second = get("/repos/o/r");
  EXPECT_EQ(second.out.status, 200u);
  EXPECT_EQ(second.out.body, R"({"id":1})");
  EXPECT_EQ(second.out.cache_status, status_revalidated);
  ASSERT_EQ(upstream_->sent.size(), 2u);
  EXPECT_EQ(upstream_->sent[1].if_none_match, "\"v1\"");
  EXPECT_EQ(upstream_->sent[1].authorization, upstream_->sent[0].authorization) << "the entry's own credential";
  EXPECT_EQ(source_->free_revalidations, 1);
  EXPECT_EQ(counter("github_proxy_rate_limit_credits_saved_total", "client", "ci"), 1);
}

TEST_F(PipelineTest, ClientValidatorsMatchingTheConfirmedEntryGetA304) {
  upstream_->replies = {ok("\"v1\"", "{}"), not_modified("\"v1\"")};
  get("/repos/o/r");
  auto& conditional = get("/repos/o/r", {{"If-None-Match", "\"v1\""}});
  EXPECT_EQ(conditional.out.status, 304u);
  EXPECT_EQ(upstream_->sent[1].if_none_match, "\"v1\"") << "the proxy's validator, not the client's";
}

TEST_F(PipelineTest, AFresherLinkOnA304ReplacesTheStoredOne) {
  // A new page appeared while the first page's ETag did not change: GitHub's
  // 304 carries the fresh Link, and the client gets it (in its name form).
  reply first = ok("\"v1\"", R"([{"url":"https://api.github.com/repos/o/r/issues/1"}])");
  first.fields.emplace_back("Link", R"(<https://api.github.com/repositories/1/issues?page=2>; rel="next", )"
                                    R"(<https://api.github.com/repositories/1/issues?page=2>; rel="last")");
  reply again = not_modified("\"v1\"");
  again.fields.emplace_back("Link", R"(<https://api.github.com/repositories/1/issues?page=2>; rel="next", )"
                                    R"(<https://api.github.com/repositories/1/issues?page=3>; rel="last")");
  upstream_->replies = {first, again};
  auto& stored = get("/repos/o/r/issues", {{"Host", "proxy.example:8080"}});
  EXPECT_EQ(stored.out.cache_status, status_stored);
  auto& confirmed = get("/repos/o/r/issues", {{"Host", "proxy.example:8080"}});
  EXPECT_EQ(confirmed.out.cache_status, status_revalidated);
  EXPECT_EQ(confirmed.out.link, R"(<http://proxy.example:8080/repos/o/r/issues?page=2>; rel="next", )"
                                R"(<http://proxy.example:8080/repos/o/r/issues?page=3>; rel="last")");
  EXPECT_EQ(confirmed.out.body, R"([{"url":"http://proxy.example:8080/repos/o/r/issues/1"}])");
  EXPECT_EQ(confirmed.out.content_length, std::to_string(confirmed.out.body.size()));
}

TEST_F(PipelineTest, PassThroughAsksGithubOnlyForCodingsItCanRewrite) {
  // br or zstd would hide GitHub's URLs from the rewriting (docs/contract.md §5).
  upstream_->replies = {ok("\"s1\"", "{}"), ok("\"s2\"", "{}")};
  get("/search/issues?q=x", {{"Accept-Encoding", "br, gzip"}});
  get("/search/issues?q=y", {{"Accept-Encoding", "br"}});
  ASSERT_EQ(upstream_->sent.size(), 2u);
  EXPECT_EQ(upstream_->sent[0].accept_encoding, "gzip");
  EXPECT_EQ(upstream_->sent[1].accept_encoding, "identity");
}

TEST_F(PipelineTest, GhesGraphqlClientsGetRestUrlsUnderApiV3) {
  upstream_->replies = {reply{200, {{"Content-Type", "application/json; charset=utf-8"}},
                              R"({"data":{"repository":{"resourceUrl":"https://api.github.com/repos/o/r"}}})"}};
  auto& c = start("/api/graphql", {{"Content-Type", "application/json"}}, http::verb::post, "ci-token",
                  R"({"query":"{ repository(owner:\"o\", name:\"r\") { id } }"})");
  ioc_.run();
  ioc_.restart();
  EXPECT_EQ(c.out.status, 200u);
  EXPECT_EQ(c.out.body, R"({"data":{"repository":{"resourceUrl":"http://proxy.test/api/v3/repos/o/r"}}})");
}

TEST_F(PipelineTest, ChangedResourceReplacesTheEntry) {
  upstream_->replies = {ok("\"v1\"", "old"), ok("\"v2\"", "new"), not_modified("\"v2\"")};
  get("/repos/o/r");
  auto& changed = get("/repos/o/r");
  EXPECT_EQ(changed.out.body, "new");
  EXPECT_EQ(changed.out.cache_status, "github-proxy; fwd=stale; fwd-status=200; stored");
  auto& third = get("/repos/o/r");
  EXPECT_EQ(third.out.body, "new");
  EXPECT_EQ(upstream_->sent[2].if_none_match, "\"v2\"");
}

TEST_F(PipelineTest, NotFoundErasesTheEntry) {
  upstream_->replies = {ok("\"v1\"", "{}"), reply{404, {}, R"({"message":"Not Found"})"},
                        reply{404, {}, R"({"message":"Not Found"})"}};
  get("/repos/o/gone");
  auto& gone = get("/repos/o/gone");
  EXPECT_EQ(gone.out.status, 404u);
  EXPECT_EQ(gone.out.cache_status, "github-proxy; fwd=stale; fwd-status=404");
  auto& again = get("/repos/o/gone");
  EXPECT_EQ(again.out.status, 404u);
  EXPECT_EQ(again.out.cache_status, "github-proxy; fwd=miss");
  EXPECT_EQ(upstream_->sent[2].if_none_match, "") << "nothing left to revalidate";
}

TEST_F(PipelineTest, RateLimitedCredentialRotatesToTheOther) {
  const auto reset = std::to_string(credentials::to_epoch_seconds(clock_.now()) + 3600);
  upstream_->replies = {
      reply{403,
            {{"X-RateLimit-Limit", "5000"}, {"X-RateLimit-Remaining", "0"}, {"X-RateLimit-Reset", reset},
             {"X-RateLimit-Resource", "core"}},
            R"({"message":"API rate limit exceeded"})"},
      ok("\"v1\"", "{}")};
  auto& res = get("/repos/o/r");
  EXPECT_EQ(res.out.status, 200u);
  ASSERT_EQ(upstream_->sent.size(), 2u);
  EXPECT_NE(upstream_->sent[0].authorization, upstream_->sent[1].authorization);
  EXPECT_EQ(counter("github_proxy_client_upstream_credits_total", "client", "ci"), 1) << "charged once";
}

TEST_F(PipelineTest, RequestNoStoreStoresNothing) {
  upstream_->replies = {ok("\"v1\"", "{}"), ok("\"v1\"", "{}")};
  auto& first = get("/repos/o/r", {{"Cache-Control", "no-store"}});
  EXPECT_EQ(first.out.status, 200u);
  EXPECT_EQ(first.out.cache_status, "github-proxy; fwd=miss");
  auto& second = get("/repos/o/r");
  EXPECT_EQ(second.out.cache_status, status_stored) << "the first answer was not stored";
  EXPECT_EQ(upstream_->sent[1].if_none_match, "");
}

TEST_F(PipelineTest, StoredIsSaidOnlyWhenTheStoreSucceeded) {
  TearDown();
  build(nullptr, std::make_unique<failing_backend>());
  upstream_->replies = {ok("\"v1\"", "{}")};
  auto& res = get("/repos/o/r");
  EXPECT_EQ(res.out.status, 200u);
  EXPECT_EQ(res.out.cache_status, "github-proxy; fwd=miss");
}

TEST_F(PipelineTest, FollowersShareAStoredAnswer) {
  upstream_->replies = {ok("\"v1\"", "{}")};
  upstream_->held = true;
  auto& leader = start("/repos/o/r");
  auto& follower = start("/repos/o/r");
  run_ready();
  EXPECT_EQ(flights_.size(), 1u);
  upstream_->release();
  ioc_.run();
  EXPECT_EQ(upstream_->sent.size(), 1u);
  EXPECT_EQ(leader.out.cache_status, status_stored);
  EXPECT_EQ(follower.out.status, 200u);
  EXPECT_EQ(follower.out.cache_status, status_coalesced);
}

TEST_F(PipelineTest, StaleOn5xxForTheLeaderAndEveryFollower) {
  cfg_.cache.serve_stale = config::serve_stale_mode::on_upstream_error;
  upstream_->replies = {ok("\"v1\"", "cached body"), reply{502, {}, "bad gateway"}};
  get("/repos/o/r");
  upstream_->held = true;
  auto& leader = start("/repos/o/r");
  auto& follower_1 = start("/repos/o/r");
  auto& follower_2 = start("/repos/o/r");
  run_ready();
  upstream_->release();
  ioc_.run();
  EXPECT_EQ(upstream_->sent.size(), 2u) << "one revalidation for all three";
  for (auto* c : {&leader, &follower_1, &follower_2}) {
    EXPECT_EQ(c->out.status, 200u);
    EXPECT_EQ(c->out.body, "cached body");
    EXPECT_EQ(c->out.cache_status, "github-proxy; fwd=stale; fwd-status=502; detail=stale");
  }
  EXPECT_EQ(counter("github_proxy_rate_limit_credits_saved_total", "client", "ci"), 0) << "nothing was saved";
}

TEST_F(PipelineTest, FollowersOfAFailedLeaderFetchAloneAndAreNotCountedAsSaved) {
  upstream_->replies = {ok("\"v1\"", "cached"), reply{502, {}, "bad gateway"}, not_modified("\"v1\""),
                        not_modified("\"v1\"")};
  get("/repos/o/r");
  upstream_->held = true;
  auto& leader = start("/repos/o/r");
  auto& follower = start("/repos/o/r");
  run_ready();
  upstream_->held = false;
  upstream_->release();
  ioc_.run();
  EXPECT_EQ(leader.out.status, 502u);
  EXPECT_EQ(follower.out.status, 200u);
  EXPECT_EQ(follower.out.cache_status, status_revalidated) << "its own revalidation, not the leader's 502";
  EXPECT_EQ(upstream_->sent.size(), 3u);
}

TEST_F(PipelineTest, NoCredentialIsA429WithRetryAfter) {
  const auto reset = std::to_string(credentials::to_epoch_seconds(clock_.now()) + 600);
  const std::vector<std::pair<std::string, std::string>> spent = {
      {"X-RateLimit-Limit", "5000"}, {"X-RateLimit-Remaining", "0"}, {"X-RateLimit-Reset", reset},
      {"X-RateLimit-Resource", "core"}};
  upstream_->replies = {reply{403, spent, "{}"}, reply{403, spent, "{}"}};
  get("/repos/o/r");  // spends both credentials
  auto& refused = get("/repos/o/other");
  EXPECT_EQ(refused.out.status, 429u);
  EXPECT_EQ(refused.out.retry_after, "600") << "until the earliest reset";
  EXPECT_EQ(upstream_->sent.size(), 2u) << "no credential left to send it with";
}

// Over its budget a client is served what GitHub confirms for free, but a
// changed resource (a 200, a credit) is refused; the entry is still updated.
TEST_F(PipelineTest, OverBudgetClientsGetFreeConfirmationsButNotChangedResources) {
  upstream_->replies = {ok("\"v1\"", "one"), not_modified("\"v1\""), ok("\"v2\"", "two"), not_modified("\"v2\"")};
  const auto capped = [&] {
    auto& c = start("/repos/o/r", {}, http::verb::get, "capped-token");
    ioc_.run();
    ioc_.restart();
    return &c;
  };
  EXPECT_EQ(capped()->out.status, 200u);  // the one credit of its budget
  auto* confirmed = capped();
  EXPECT_EQ(confirmed->out.status, 200u);
  EXPECT_EQ(confirmed->out.cache_status, status_revalidated);
  auto* changed = capped();
  EXPECT_EQ(changed->out.status, 429u) << "the changed body cost a credit it did not have";
  EXPECT_FALSE(changed->out.retry_after.empty());
  auto& other = get("/repos/o/r");
  EXPECT_EQ(other.out.body, "two");
  EXPECT_EQ(upstream_->sent[3].if_none_match, "\"v2\"") << "the new body was stored for everyone";
}

// A HEAD with an entry is revalidated with a GET; when the resource has
// grown too large to hold, the HEAD client still gets the head alone (a
// body would be read as the next response on its connection).
TEST_F(PipelineTest, AHeadNeverGetsAStreamedBody) {
  cfg_.cache.max_object_bytes = 16;
  upstream_->replies = {ok("\"v1\"", "small"), ok("\"v2\"", std::string(1000, 'x'))};
  get("/repos/o/r");
  auto& head = start("/repos/o/r", {}, http::verb::head);
  ioc_.run();
  EXPECT_EQ(head.out.status, 200u);
  EXPECT_EQ(head.out.chunks, 0);
  EXPECT_TRUE(head.out.body.empty());
}

// Over budget, a changed resource too large to hold is not relayed either.
TEST_F(PipelineTest, OverBudgetClientsAreNotStreamedAChangedLargeBody) {
  cfg_.cache.max_object_bytes = 16;
  upstream_->replies = {ok("\"v1\"", "small"), ok("\"v2\"", std::string(1000, 'x'))};
  auto& first = start("/repos/o/r", {}, http::verb::get, "capped-token");
  ioc_.run();
  ioc_.restart();
  EXPECT_EQ(first.out.status, 200u);  // its one credit
  auto& changed = start("/repos/o/r", {}, http::verb::get, "capped-token");
  ioc_.run();
  EXPECT_EQ(changed.out.status, 429u);
  EXPECT_EQ(changed.out.chunks, 0);
}

TEST_F(PipelineTest, AnExceptionInsideIsA500ThatIsCounted) {
  reply boom;
  boom.throws = true;
  upstream_->replies = {boom};
  auto& res = get("/repos/o/r", {{"X-Requested-With", "test"}});  // bypasses the cache
  EXPECT_EQ(res.out.status, 500u);
  EXPECT_NE(res.out.body.find("The proxy failed to handle this request"), std::string::npos);
  EXPECT_EQ(counter("github_proxy_requests_total", "code", "500"), 1);
}

TEST_F(PipelineTest, TraceWithABodyIsRefusedBeforeAnythingIsSent) {
  auto& c = start("/repos/o/r", {}, http::verb::trace);
  c.req.body() = "GET /repos/o/r HTTP/1.1\r\n\r\n";
  ioc_.run();
  EXPECT_EQ(c.out.status, 400u);
  EXPECT_TRUE(upstream_->sent.empty());
}

template <class Function>
struct on_exit {
  Function run;
  ~on_exit() { run(); }
};

// Item 10 of "Isolation": a large answer is relayed for as long as the
// transfer lasts, but the credential's in-flight slot is given back at its
// head. With one request in flight allowed on the only credential, a
// transfer stalled in the middle must not keep the next request waiting.
TEST_F(PipelineTest, AStalledStreamedTransferHoldsNoCredentialSlot) {
  config::config one_credential = cfg_;
  one_credential.credentials.resize(1);
  credentials::pool_options options;
  options.max_concurrent = 1;
  auto built = credentials::pool::from_config(one_credential, clock_, nullptr, options);
  ASSERT_TRUE(built.value);
  counting_source source(*built.value);
  shared_.credentials = &source;  // the pipeline reads shared_ by reference
  // Whatever happens below, nothing is left waiting on `source`.
  const on_exit finish{[this] {
    upstream_->release_bodies();
    ioc_.run();
    ioc_.restart();
    shared_.credentials = source_.get();
  }};

  cfg_.cache.max_object_bytes = 16;  // 1000 bytes are relayed as they come
  reply large{200, {{"ETag", "\"v1\""}, {"Content-Type", "application/octet-stream"}}, std::string(1000, 'x')};
  large.stall_after = 100;
  upstream_->replies = {std::move(large), ok("\"v2\"", "{}")};
  auto& stalled = start("/repos/o/large");
  run_ready();
  ASSERT_EQ(stalled.out.status, 200u) << "the head went to the client";
  ASSERT_EQ(stalled.out.body.size(), 100u) << "then the transfer stalls";

  auto& next = start("/repos/o/small");
  run_ready();  // no timer runs: a request waiting for the slot stays waiting
  EXPECT_EQ(next.out.status, 200u) << "the next request waited for the slot of a stalled transfer";
  EXPECT_EQ(next.out.body, "{}");

  upstream_->release_bodies();
  ioc_.run();
  EXPECT_EQ(stalled.out.body.size(), 1000u);
}

}  // namespace
}  // namespace github_proxy::proxy
