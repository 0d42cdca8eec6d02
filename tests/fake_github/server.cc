#include "server.h"

#include <array>
#include <charconv>
#include <chrono>
#include <span>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace fake_github {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t header_limit = 64 * 1024;
constexpr std::uint64_t body_limit = 32ull * 1024 * 1024;
constexpr auto idle_timeout = 120s;       // waiting for the next request on a keep-alive connection
constexpr auto transfer_timeout = 60s;    // reading a body, writing an answer
constexpr auto handshake_timeout = 10s;
constexpr auto hang_timeout = 15min;      // the longest a "hang" fault or a gate holds a connection

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

template <class Stream>
auto& lowest(Stream& stream) {
  return beast::get_lowest_layer(stream);
}

// Protocol errors get a short JSON answer and the connection is closed.
outgoing_response read_error_answer(const beast::error_code& ec) {
  outgoing_response out;
  if (ec == beast::http::error::header_limit)
    out = plain_json(431, R"({"message":"Request header fields too large"})");
  else if (ec == beast::http::error::body_limit)
    out = plain_json(413, R"({"message":"Request entity too large"})");
  else
    out = plain_json(400, R"({"message":"Bad request"})");
  out.keep_alive = false;
  return out;
}

// One gather write: header block, then the body (as a single chunk plus the
// last chunk when chunked, RFC 9112 §7.1).
template <class Stream>
asio::awaitable<beast::error_code> write_answer(Stream& stream, const outgoing_response& out) {
  const std::string head = out.head_block();
  std::string chunk_size;
  std::array<asio::const_buffer, 4> buffers{asio::buffer(head)};
  std::size_t count = 1;
  if (out.chunked && !out.body.empty()) {
    char hex[20];
    auto [end, ec] = std::to_chars(hex, hex + sizeof hex, out.body.size(), 16);
    chunk_size.assign(hex, end);
    chunk_size += "\r\n";
    buffers[count++] = asio::buffer(chunk_size);
    buffers[count++] = asio::buffer(out.body);
    buffers[count++] = asio::buffer(std::string_view("\r\n0\r\n\r\n"));
  } else if (!out.body.empty()) {
    buffers[count++] = asio::buffer(out.body);
  }
  lowest(stream).expires_after(transfer_timeout);
  auto [ec, n] = co_await asio::async_write(stream, std::span(buffers.data(), count), use_tuple);
  co_return ec;
}

template <class Stream>
void reset_connection(Stream& stream) {
  beast::error_code ec;
  auto& socket = lowest(stream).socket();
  socket.set_option(asio::socket_base::linger(true, 0), ec);  // close() then sends RST
  socket.close(ec);
}

template <class Stream>
asio::awaitable<void> hang_until_client_leaves(Stream& stream) {
  lowest(stream).expires_after(hang_timeout);
  char sink[4096];
  for (;;) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
    if (ec) co_return;
  }
}

// One coroutine per connection: read a request, maybe wait out an injected
// latency, answer, repeat while keep-alive.
template <class Stream>
asio::awaitable<bool> serve_requests(Stream& stream, app& application, const connection_info& info) {
  beast::flat_buffer buffer;
  for (;;) {
    beast::http::request_parser<beast::http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(body_limit);
    lowest(stream).expires_after(idle_timeout);
    auto [ec, n] = co_await beast::http::async_read_header(stream, buffer, parser, use_tuple);
    if (!ec && beast::iequals(parser.get()[beast::http::field::expect], "100-continue")) {
      beast::http::response<beast::http::empty_body> go_on{beast::http::status::continue_, 11};
      lowest(stream).expires_after(transfer_timeout);
      std::tie(ec, n) = co_await beast::http::async_write(stream, go_on, use_tuple);
    }
    if (!ec && !parser.is_done()) {
      lowest(stream).expires_after(transfer_timeout);
      std::tie(ec, n) = co_await beast::http::async_read(stream, buffer, parser, use_tuple);
    }
    if (ec == beast::http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::eof ||
        ec == asio::ssl::error::stream_truncated)
      co_return true;
    if (ec) {
      co_await write_answer(stream, read_error_answer(ec));
      co_return true;
    }

    request_t request = parser.release();
    fault_decision fault = application.plan(request);
    if (fault.latency.count() > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor, fault.latency);
      co_await timer.async_wait(use_tuple);
    }
    const bool gate_before = !fault.gate.empty() && !fault.gate_after_answer;
    if (gate_before) co_await application.state().gates.wait(fault.gate, hang_timeout);
    outgoing_response out;
    try {
      out = application.handle(request, info, fault);
    } catch (const std::exception& e) {
      out = plain_json(500, R"({"message":"fake_github internal error"})");
      out.keep_alive = false;
    }
    if (fault.gate_after_answer) co_await application.state().gates.wait(fault.gate, hang_timeout);
    if (fault.close) out.keep_alive = false;  // Connection: close, then close
    if (out.action == response_action::reset) {
      reset_connection(stream);
      co_return false;
    }
    if (out.action == response_action::hang) {
      co_await hang_until_client_leaves(stream);
      co_return false;
    }
    if (auto failed = co_await write_answer(stream, out)) co_return false;
    if (!out.keep_alive) co_return true;
  }
}

asio::awaitable<void> serve_plain(tcp::socket socket, app& application, connection_info info) {
  beast::tcp_stream stream(std::move(socket));
  bool graceful = co_await serve_requests(stream, application, info);
  beast::error_code ec;
  if (graceful) stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> serve_tls(tcp::socket socket, asio::ssl::context& tls, app& application,
                                connection_info info) {
  beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), tls);
  lowest(stream).expires_after(handshake_timeout);
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
  if (ec) co_return;
  bool graceful = co_await serve_requests(stream, application, info);
  if (graceful) {
    lowest(stream).expires_after(5s);
    co_await stream.async_shutdown(use_tuple);
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor acceptor, app& application,
                                  std::shared_ptr<asio::ssl::context> tls) {
  auto executor = co_await asio::this_coro::executor;
  const auto local = acceptor.local_endpoint();
  std::string authority = local.address().is_v6() ? "[" + local.address().to_string() + "]"
                                                  : local.address().to_string();
  authority += ":" + std::to_string(local.port());
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {  // e.g. EMFILE: back off instead of spinning
      asio::steady_timer pause(executor, 50ms);
      co_await pause.async_wait(use_tuple);
      continue;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    connection_info info{socket.remote_endpoint(ignored).address().to_string(), authority, tls != nullptr};
    if (tls)
      asio::co_spawn(executor, serve_tls(std::move(socket), *tls, application, std::move(info)), asio::detached);
    else
      asio::co_spawn(executor, serve_plain(std::move(socket), application, std::move(info)), asio::detached);
  }
}

tcp::acceptor bind_acceptor(asio::io_context& context, const tcp::endpoint& endpoint) {
  tcp::acceptor acceptor(context);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.set_option(reuse_port(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor;
}

}  // namespace

server::server(app& application, server_config config) : app_(application), config_(std::move(config)) {}

server::~server() { stop(); }

unsigned short server::start() {
  tcp::endpoint endpoint(asio::ip::make_address(config_.address), config_.port);
  const std::size_t n = std::max<std::size_t>(1, config_.threads);
  std::vector<tcp::acceptor> acceptors;
  for (std::size_t i = 0; i < n; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    acceptors.push_back(bind_acceptor(*contexts_.back(), endpoint));
    endpoint.port(acceptors.back().local_endpoint().port());  // the others join the chosen port
  }
  for (std::size_t i = 0; i < n; ++i) {
    asio::co_spawn(*contexts_[i], accept_loop(std::move(acceptors[i]), app_, config_.tls), asio::detached);
    threads_.emplace_back([context = contexts_[i].get()] { context->run(); });
  }
  return endpoint.port();
}

void server::stop() {
  for (auto& context : contexts_) context->stop();
  for (auto& thread : threads_)
    if (thread.joinable()) thread.join();
  threads_.clear();
}

}  // namespace fake_github
