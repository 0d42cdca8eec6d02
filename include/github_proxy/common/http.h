// HTTP message types shared by the server (sessions) and the proxy pipeline,
// and the interface through which the pipeline answers a client.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

namespace github_proxy {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;
using streamed_response = boost::beast::http::response<boost::beast::http::buffer_body>;
// A head whose body is sent as pieces (response_writer::write_pieces).
using pieced_response = boost::beast::http::response<boost::beast::http::empty_body>;
using response_header = boost::beast::http::response_header<>;

// How the client reached us; decides the scheme of rewritten URLs.
struct client_endpoint_info {
  bool tls = false;
  std::string remote;  // "unix" for the Unix socket, else empty
  // The TCP peer (whose Forwarded fields are believed when it is a trusted
  // proxy) and the listener's own "address:port" the client connected to.
  std::optional<boost::asio::ip::address> peer;
  std::string local_authority;
};

// Answers one client request. Implemented by the session for its stream
// type (TCP, TLS or Unix socket).
//
// Threading: used only from the session's strand (its I/O thread), by one
// request at a time. A response is either written whole with `write`, or
// streamed with `begin`, any number of `chunk`s, and `end`.
class response_writer {
 public:
  virtual ~response_writer() = default;

  virtual boost::asio::awaitable<boost::system::error_code> write(response& message) = 0;

  // The head of `message` (its Content-Length set by the caller) and a body
  // given as pieces — a stored body with the client's URLs between its
  // pieces — in one gather write, the body never copied. The pieces must
  // stay valid until the write completes.
  virtual boost::asio::awaitable<boost::system::error_code> write_pieces(
      pieced_response& message, std::span<const boost::asio::const_buffer> body) = 0;

  // `message` must stay alive until `end`; its header is sent by `begin`.
  // With a Content-Length the body is sent as is, otherwise chunked.
  virtual boost::asio::awaitable<boost::system::error_code> begin(streamed_response& message) = 0;
  virtual boost::asio::awaitable<boost::system::error_code> chunk(const void* data,
                                                                  std::size_t size) = 0;
  virtual boost::asio::awaitable<boost::system::error_code> end() = 0;

  // True once any byte of the response has been sent: after that an error
  // can only be reported by closing the connection.
  virtual bool started() const = 0;
};

}  // namespace github_proxy
