#include "server/admin.h"

#include <memory>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>

#include "common/log_escaped.h"

namespace github_proxy::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr auto admin_timeout = std::chrono::seconds(10);
constexpr std::size_t admin_max_connections = 64;

http::response<http::string_body> answer(const http::request<http::string_body>& req,
                                         const admin_handlers& handlers) {
  http::response<http::string_body> res{http::status::ok, req.version()};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  const auto path = req.target().substr(0, req.target().find('?'));
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    res.result(http::status::method_not_allowed);
    res.body() = "method not allowed\n";
  } else if (path == "/healthz") {
    res.body() = "ok\n";
  } else if (path == "/readyz") {
    const bool ready = handlers.ready && handlers.ready();
    res.result(ready ? http::status::ok : http::status::service_unavailable);
    res.body() = ready ? "ready\n" : "not ready\n";
  } else if (path == "/metrics") {
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = handlers.metrics->serialize();
  } else if (handlers.status && (path == "/" || path == "/status" || path == "/status.json")) {
    // Numbers of the moment: never from a cache. The page has no script and
    // loads nothing (its style is inline), which the policy pins down.
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    const auto report = handlers.status->report();
    if (path == "/status.json") {
      res.set(http::field::content_type, "application/json; charset=utf-8");
      res.body() = boost::json::serialize(report);
      res.body() += '\n';
    } else {
      res.set(http::field::content_type, "text/html; charset=utf-8");
      res.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
      res.body() = status::render_status_html(report);
    }
  } else {
    res.result(http::status::not_found);
    res.body() = "not found\n";
  }
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  if (req.method() == http::verb::head) res.body().clear();
  return res;
}

asio::awaitable<void> admin_session(beast::tcp_stream stream, const admin_handlers& handlers,
                                    std::shared_ptr<std::size_t> open) {
  beast::flat_buffer buffer(64 * 1024);
  for (;;) {
    stream.expires_after(admin_timeout);
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(16 * 1024);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (ec) break;
    auto req = parser.release();
    auto res = answer(req, handlers);
    auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
    if (wec || !res.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  --*open;
}

}  // namespace

asio::awaitable<void> run_admin(asio::ip::tcp::acceptor& acceptor, admin_handlers handlers) {
  auto shared = std::make_shared<admin_handlers>(std::move(handlers));
  auto open = std::make_shared<std::size_t>(0);  // single-threaded: runs on one io_context
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec) {
      if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
      continue;
    }
    if (*open >= admin_max_connections) continue;
    ++*open;
    asio::co_spawn(acceptor.get_executor(),
                   [stream = beast::tcp_stream(std::move(socket)), shared, open]() mutable
                   -> asio::awaitable<void> { co_await admin_session(std::move(stream), *shared, open); },
                   common::log_escaped("admin session"));
  }
}

}  // namespace github_proxy::server
