// A client connection: read requests one at a time (pipelined requests
// wait in the buffer and are answered in order), hand each to the pipeline,
// write its answer, until the client closes, times out, or we drain.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <list>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "github_proxy/common/http.h"
#include "github_proxy/config/config.h"
#include "server/body_budget.h"

namespace github_proxy::proxy {
class request_pipeline;
}

namespace github_proxy::server {

using unix_stream = boost::beast::basic_stream<boost::asio::local::stream_protocol>;
using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// A live session as the shutdown code sees it. Lives on its session's
// coroutine frame; the list is touched only from the owning I/O thread.
struct session_handle {
  bool idle = false;              // waiting for a next request
  std::function<void()> cancel;   // cancels the pending read
};

// What one I/O thread gives its sessions.
struct session_env {
  const config::listen_config* listen = nullptr;
  proxy::request_pipeline* pipeline = nullptr;
  std::list<session_handle*>* sessions = nullptr;  // this thread's sessions
  const std::atomic<bool>* draining = nullptr;
  std::atomic<std::size_t>* open_connections = nullptr;  // all threads
  // Called by the session that closes the last connection while draining
  // (any thread): the drain ends on it instead of polling the count.
  const std::function<void()>* drained = nullptr;
  // Request body bytes being read or held, all threads: bounded in total
  // and per client.
  body_budget* bodies = nullptr;
};

// Runs one session to its end. `Stream` is beast::tcp_stream, tls_stream
// (handshake done inside, bounded by the read timeout) or unix_stream.
template <class Stream>
boost::asio::awaitable<void> run_session(Stream stream, session_env env, client_endpoint_info info);

extern template boost::asio::awaitable<void> run_session(boost::beast::tcp_stream, session_env,
                                                         client_endpoint_info);
extern template boost::asio::awaitable<void> run_session(tls_stream, session_env,
                                                         client_endpoint_info);
extern template boost::asio::awaitable<void> run_session(unix_stream, session_env,
                                                         client_endpoint_info);

}  // namespace github_proxy::server
