#include "github_proxy/server/healthcheck.h"

#include <ostream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "github_proxy/config/load_admin.h"

namespace github_proxy::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

std::string text_of(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

// The first line of an answer's body, printable and short, for the reason.
std::string first_line(std::string_view body) {
  constexpr std::size_t max_length = 120;
  std::string line;
  for (char c : body.substr(0, body.find('\n'))) {
    if (line.size() == max_length) break;
    line += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return line;
}

asio::awaitable<probe_outcome> probe(tcp::endpoint endpoint, std::string host, std::string path,
                                     std::chrono::milliseconds deadline, std::size_t body_limit) {
  const std::string url = "http://" + host + path;
  auto failed = [&](std::string_view step, const beast::error_code& ec) {
    if (ec == beast::error::timeout) return probe_outcome{false, url + ": no answer within " + text_of(deadline)};
    return probe_outcome{false, url + ": " + std::string(step) + ": " + ec.message()};
  };

  beast::tcp_stream stream(co_await asio::this_coro::executor);
  // Set once: the deadline covers connect, write and read together.
  stream.expires_after(deadline);
  auto [connect_ec] = co_await stream.async_connect(endpoint, use_tuple);
  if (connect_ec) co_return failed("cannot connect", connect_ec);

  http::request<http::empty_body> req{http::verb::get, path, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, std::string("github-proxy-healthcheck/") + GITHUB_PROXY_VERSION);
  req.keep_alive(false);
  auto [write_ec, written] = co_await http::async_write(stream, req, use_tuple);
  if (write_ec) co_return failed("cannot send the request", write_ec);

  beast::flat_buffer buffer(16 * 1024);
  http::response_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(body_limit);
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, use_tuple);
  if (read_ec) co_return failed("no valid HTTP answer", read_ec);

  const auto& res = parser.get();
  std::string reason = url + ": " + std::to_string(res.result_int()) + " " + std::string(res.reason());
  if (const auto body = first_line(res.body()); !body.empty()) reason += " (" + body + ")";
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return probe_outcome{res.result() == http::status::ok, std::move(reason), parser.release().body()};
}

}  // namespace

std::string probe_address(std::string_view bind_address) {
  if (bind_address == "0.0.0.0") return "127.0.0.1";
  if (bind_address == "::") return "::1";
  return std::string(bind_address);
}

probe_outcome probe_admin(const std::string& address, std::uint16_t port, std::string_view path,
                          std::chrono::milliseconds deadline, std::size_t body_limit) {
  beast::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) return {false, "admin.address " + address + " is not an IP address: " + ec.message()};
  // RFC 3986 §3.2.2: an IPv6 literal in a URL (and a Host field) is bracketed.
  const std::string host = (ip.is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(port);

  asio::io_context io;
  probe_outcome outcome{false, "http://" + host + std::string(path) + ": the probe did not complete"};
  asio::co_spawn(io, probe({ip, port}, host, std::string(path), deadline, body_limit),
                 [&outcome](std::exception_ptr error, probe_outcome result) {
                   if (!error) outcome = std::move(result);
                 });
  io.run();
  return outcome;
}

int healthcheck_command(const std::string& config_file, bool ready, std::ostream& out, std::ostream& err) {
  const auto loaded = config::load_admin_config(config_file);
  if (!loaded.value) {
    for (const auto& e : loaded.errors) err << "healthcheck: " << e.to_string() << "\n";
    return 1;
  }
  const auto& admin = *loaded.value;
  if (admin.port == 0) {
    err << "healthcheck: " << config_file
        << ": admin.port is 0 (any free port, chosen at start): nothing to probe; set a fixed port\n";
    return 1;
  }
  const auto outcome =
      probe_admin(probe_address(admin.address), admin.port, ready ? "/readyz" : "/healthz", healthcheck_deadline);
  (outcome.healthy ? out : err) << "healthcheck: " << outcome.reason << "\n";
  return outcome.healthy ? 0 : 1;
}

}  // namespace github_proxy::server
