// HTTP message types shared by the server (sessions) and the proxy pipeline,
// and the interface through which the pipeline answers a client.
#pragma once

#include <cstddef>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

namespace github_proxy {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;
using streamed_response = boost::beast::http::response<boost::beast::http::buffer_body>;
using response_header = boost::beast::http::response_header<>;

// How the client reached us; decides the scheme of rewritten URLs.
struct client_endpoint_info {
  bool tls = false;
  std::string remote;  // "1.2.3.4:5678" or "unix"
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
