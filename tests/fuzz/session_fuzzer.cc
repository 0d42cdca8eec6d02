// Raw bytes from a client to a server session (server/session_impl.h): the
// request heads and bodies Beast parses, pipelined requests, chunked bodies,
// Expect: 100-continue, oversized heads and bodies, and what the session
// does with each up to and through the real request pipeline.
//
// The seam: run_session over one end of a Unix socket pair. The other end
// writes the input, then shuts down its sending side, so every read the
// session makes ends with data or EOF and no timer ever has to fire; it
// reads the answers until the session closes. The pipeline is the real one
// (registry, credential pool, memory cache, flight table, budgets), built
// afresh per input so that inputs do not depend on each other; only
// GitHub is a stub that answers at once.
#include <cstdlib>
#include <memory>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/sinks/null_sink.h>

#include "fuzz_input.h"
#include "github_proxy/cache/memory_store.h"
#include "github_proxy/credentials/budget.h"
#include "github_proxy/credentials/pool.h"
#include "proxy/flight_table.h"
#include "proxy/request_pipeline.h"
#include "server/session.h"

namespace {

using namespace github_proxy;
namespace asio = boost::asio;
namespace http = boost::beast::http;
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

class fixed_clock final : public credentials::clock {
 public:
  credentials::time_point now() const override { return credentials::from_epoch_seconds(1'780'000'000); }
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

// GitHub, answering at once: JSON with its own URLs and a Link, a 304 for
// a matching If-None-Match, 404 for /gone, and a body over
// cache.max_object_bytes (relayed as it comes) for /archive.
class stub_github final : public upstream::client {
 public:
  asio::awaitable<upstream::exchange> send(request& req, upstream::api) override {
    upstream::exchange out;
    out.answered = true;
    const std::string_view target = req.target();
    std::string body = R"({"url":"https://api.github.com/repos/babylon/app","issues_url":)"
                       R"("https://api.github.com/repos/babylon/app/issues{/number}","n":1})";
    if (target.find("/gone") != std::string_view::npos) {
      out.head.result(http::status::not_found);
      body = R"({"message":"Not Found"})";
    } else if (req[http::field::if_none_match] == "\"v1\"") {
      out.head.result(http::status::not_modified);
      body.clear();
    } else {
      out.head.result(http::status::ok);
      if (target.find("/archive") != std::string_view::npos) body.assign(3000, 'z');
    }
    out.head.set(http::field::etag, "\"v1\"");
    out.head.set(http::field::content_type, "application/json; charset=utf-8");
    out.head.set(http::field::link,
                 R"(<https://api.github.com/repositories/1/issues?page=2>; rel="next")");
    if (req.method() == http::verb::head) body.clear();
    out.head.set(http::field::content_length, std::to_string(body.size()));
    out.content_length = body.size();
    out.body = std::make_unique<string_body>(std::move(body));
    co_return out;
  }
  void close_idle() override {}
};

struct fixture {
  fixture() {
    ::setenv("GHP_FUZZ_SESSION_TOKEN", "ghp_fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz", 1);
    cfg.listen.threads = 1;
    cfg.listen.max_header_bytes = 8 * 1024;
    cfg.listen.max_body_bytes = 16 * 1024;
    cfg.cache.max_object_bytes = 2 * 1024;
    config::credential_config c;
    c.name = "fuzz-pat";
    c.token_env = "GHP_FUZZ_SESSION_TOKEN";
    cfg.credentials.push_back(c);
    auto loaded = auth::load_registry_from_string(R"(version: 1
clients:
  - name: ci
    token: ci-token
  - name: scoped
    token: scoped-token
    scopes:
      - method: GET|HEAD
        path: /repos/babylon/.*
      - method: POST
        path: /graphql
        graphql: query
  - name: capped
    token: capped-token
    upstream_budget: 1/h
)",
                                                  "registry.yaml");
    if (!loaded.snapshot) std::abort();
    registry.replace(loaded.snapshot);
  }

  config::config cfg;
  auth::registry_store registry;
  fixed_clock clock;
};

// One client: sends the input, ends its side, reads every answer.
asio::awaitable<void> client(asio::local::stream_protocol::socket socket, std::string_view input) {
  // A write cut short (the session answered and closed) is what a client sees.
  (void)co_await asio::async_write(socket, asio::buffer(input.data(), input.size()), use_tuple);
  boost::system::error_code ignored;
  socket.shutdown(asio::socket_base::shutdown_send, ignored);
  std::array<char, 16 * 1024> scratch;
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(scratch), use_tuple);
    if (ec) break;
  }
}

void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fixture world;
  const auto input = fuzz::as_text(data, size);

  asio::io_context ioc;
  auto built = credentials::pool::from_config(world.cfg, world.clock, nullptr);
  if (!built.value) std::abort();
  metrics::families metrics("fuzz");
  auto cache = cache::make_memory_backend(cache::memory_store_options{.max_bytes = 1 << 20});
  proxy::flight_table flights;
  credentials::memory_budget_ledger budgets(world.clock);

  proxy::shared_state shared;
  shared.cfg = &world.cfg;
  shared.rest = *upstream::parse_endpoint("https://api.github.com");
  shared.graphql = *upstream::parse_endpoint("https://api.github.com/graphql");
  shared.origins = proxy::origins_of(shared.rest.url_prefix());
  shared.registry = &world.registry;
  shared.metrics = &metrics;
  shared.log = std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
  shared.credentials = built.value.get();
  shared.user_agent = "github-proxy/fuzz";
  shared.cache = cache.get();
  shared.flights = &flights;
  shared.budgets = &budgets;
  proxy::request_pipeline pipeline(shared, ioc.get_executor(), std::make_unique<stub_github>());

  std::list<server::session_handle*> sessions;
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> open_connections{1};
  server::body_budget bodies({.total = 48 * 1024, .per_client = 12 * 1024});
  const server::session_env env{.listen = &world.cfg.listen,
                                .pipeline = &pipeline,
                                .sessions = &sessions,
                                .draining = &draining,
                                .open_connections = &open_connections,
                                .bodies = &bodies};

  asio::local::stream_protocol::socket server_end(ioc), client_end(ioc);
  asio::local::connect_pair(server_end, client_end);
  asio::co_spawn(ioc, server::run_session(server::unix_stream(std::move(server_end)), env, client_endpoint_info{false, "unix"}),
                 rethrow);
  asio::co_spawn(ioc, client(std::move(client_end), input), rethrow);
  ioc.run();

  pipeline.close_idle_connections();
  if (!sessions.empty() || open_connections.load() != 0 || bodies.in_flight() != 0) std::abort();
  return 0;
}
