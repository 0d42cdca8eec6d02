// A small blocking HTTP/1.1 client for the integration tests: each call runs
// Beast's async operations on a private io_context for at most `timeout`.
#include <stdexcept>
#include <variant>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "support/harness.h"

namespace ghp_test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;

struct http_connection::impl {
  asio::io_context ioc;
  std::unique_ptr<asio::ssl::context> tls;
  std::variant<std::monostate, tcp::socket, local::socket, beast::ssl_stream<tcp::socket>> stream;
  beast::flat_buffer buffer;
  std::chrono::milliseconds timeout;
  std::string host;  // Host header: host:port, as real clients send it

  template <class Start>
  std::size_t run(Start start) {
    bool done = false;
    beast::error_code result;
    std::size_t bytes = 0;
    start([&](beast::error_code ec, std::size_t n) {
      result = ec;
      bytes = n;
      done = true;
    });
    ioc.restart();
    ioc.run_for(timeout);
    if (!done) {
      close();
      ioc.restart();
      ioc.run();
      throw std::runtime_error("http client: timed out");
    }
    if (result) throw beast::system_error(result);
    return bytes;
  }

  void close() {
    std::visit(
        [](auto& s) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(s)>, std::monostate>) {
            beast::error_code ignored;
            beast::get_lowest_layer(s).close(ignored);
          }
        },
        stream);
  }

  template <class F>
  std::size_t with_stream(F&& f) {
    return std::visit(
        [&](auto& s) -> std::size_t {
          if constexpr (std::is_same_v<std::decay_t<decltype(s)>, std::monostate>) {
            throw std::runtime_error("not connected");
          } else {
            return run([&](auto handler) { f(s, std::move(handler)); });
          }
        },
        stream);
  }
};

http_connection::http_connection(const target& where, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>()) {
  impl_->timeout = timeout;
  impl_->host = where.unix_socket.empty() ? where.host + ":" + std::to_string(where.port) : "localhost";
  if (!where.unix_socket.empty()) {
    auto& s = impl_->stream.emplace<local::socket>(impl_->ioc);
    s.connect(local::endpoint(where.unix_socket));
    return;
  }
  const tcp::endpoint endpoint(asio::ip::make_address(where.host), where.port);
  if (!where.tls) {
    auto& s = impl_->stream.emplace<tcp::socket>(impl_->ioc);
    s.connect(endpoint);
    s.set_option(tcp::no_delay(true));
    return;
  }
  impl_->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  impl_->tls->set_verify_mode(asio::ssl::verify_peer);
  if (!where.ca_file.empty()) impl_->tls->load_verify_file(where.ca_file);
  auto& s = impl_->stream.emplace<beast::ssl_stream<tcp::socket>>(impl_->ioc, *impl_->tls);
  s.set_verify_callback(asio::ssl::host_name_verification(where.host));
  beast::get_lowest_layer(s).connect(endpoint);
  impl_->run([&](auto handler) {
    s.async_handshake(asio::ssl::stream_base::client,
                      [h = std::move(handler)](beast::error_code ec) mutable { h(ec, 0); });
  });
}

http_connection::~http_connection() {
  if (impl_) impl_->close();
}
http_connection::http_connection(http_connection&&) noexcept = default;

http_response http_connection::send(http_request req) {
  const bool head = req.method() == http::verb::head;
  write(std::move(req));
  return read_response(head);
}

void http_connection::write(http_request req) {
  if (req.find(http::field::host) == req.end()) req.set(http::field::host, impl_->host);
  if (req.find(http::field::user_agent) == req.end()) req.set(http::field::user_agent, "ghp-test");
  req.prepare_payload();
  impl_->with_stream([&](auto& s, auto handler) { http::async_write(s, req, std::move(handler)); });
}

http_response http_connection::read_response(bool head) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 * 1024 * 1024);
  if (head) parser.skip(true);
  impl_->with_stream(
      [&](auto& s, auto handler) { http::async_read(s, impl_->buffer, parser, std::move(handler)); });
  return parser.release();
}

void http_connection::write_raw(const std::string& bytes) {
  impl_->with_stream(
      [&](auto& s, auto handler) { asio::async_write(s, asio::buffer(bytes), std::move(handler)); });
}

http_response http_connection::send_raw(const std::string& bytes) {
  write_raw(bytes);
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 * 1024 * 1024);
  impl_->with_stream(
      [&](auto& s, auto handler) { http::async_read(s, impl_->buffer, parser, std::move(handler)); });
  return parser.release();
}

std::string http_connection::read_until_close() {
  std::string out(static_cast<const char*>(impl_->buffer.data().data()), impl_->buffer.size());
  impl_->buffer.consume(impl_->buffer.size());
  char chunk[16384];
  for (;;) {
    try {
      const auto n = impl_->with_stream([&](auto& s, auto handler) {
        s.async_read_some(asio::buffer(chunk), std::move(handler));
      });
      out.append(chunk, n);
    } catch (const std::exception&) {
      break;  // closed (eof, reset) or timed out
    }
  }
  return out;
}

bool http_connection::closed_by_peer() {
  char byte;
  try {
    impl_->with_stream(
        [&](auto& s, auto handler) { s.async_read_some(asio::buffer(&byte, 1), std::move(handler)); });
  } catch (const beast::system_error&) {
    return true;  // eof or reset
  }
  return false;
}

http_response request(const target& where, const std::string& method, const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      const std::string& body) {
  http_connection connection(where);
  http_request req{http::string_to_verb(method), path, 11};
  if (req.method() == http::verb::unknown) req.method_string(method);
  for (const auto& [name, value] : headers) req.insert(name, value);
  req.body() = body;
  return connection.send(std::move(req));
}

}  // namespace ghp_test
