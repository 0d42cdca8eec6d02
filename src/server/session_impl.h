// The body of run_session, included by the three session_*.cc files that
// instantiate it (one stream type each, so they compile in parallel).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include "common/http_head.h"
#include "proxy/request_pipeline.h"
#include "server/session.h"

namespace github_proxy::server {

namespace detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// What a connection's writers reuse from one response to the next: the
// head (and a small body copied behind it) and the buffer list of a gather
// write. A writer lives for one request; these live for the connection,
// so a steady stream of hits allocates nothing here. An idle connection
// keeps at most kept_head_bytes + kept_gather_bytes (deploy/README.md
// "Resources"); while a response is written the head holds it whole up to
// copied_body_bytes, as before.
struct write_buffers {
  static constexpr std::size_t kept_head_bytes = 16 * 1024;
  static constexpr std::size_t kept_gather_bytes = 4 * 1024;
  std::string head;
  std::vector<asio::const_buffer> gather;

  // Before each request: a buffer grown past what most answers need is
  // given back rather than held by an idle connection.
  void trim() {
    if (head.capacity() > kept_head_bytes) std::string().swap(head);
    if (gather.capacity() * sizeof(asio::const_buffer) > kept_gather_bytes) {
      std::vector<asio::const_buffer>().swap(gather);
    }
  }
};

// The response_writer for one stream type.
template <class Stream>
class stream_writer final : public response_writer {
 public:
  stream_writer(Stream& stream, const session_env& env, write_buffers& buffers)
      : stream_(stream), env_(env), head_(buffers.head), gather_(buffers.gather) {}

  asio::awaitable<beast::error_code> write(response& message) override {
    started_ = true;
    if (env_.draining->load(std::memory_order_relaxed)) message.keep_alive(false);
    close_after_ = !message.keep_alive();
    beast::get_lowest_layer(stream_).expires_after(env_.listen->read_timeout);
    // TLS streams keep Beast's serializer: a two-buffer gather write through
    // beast::ssl_stream stalled on bodies over one TLS record (~16 KiB).
    if (message.chunked() || std::is_same_v<Stream, tls_stream>) {
      auto [ec, n] = co_await http::async_write(stream_, message, use_tuple);
      co_return note(ec);
    }
    // Head and body in one gather write (see common/http_head.h).
    head_.clear();
    append_head(head_, message.base());
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(message.body())};
    auto [ec, n] = co_await asio::async_write(stream_, buffers, use_tuple);
    co_return note(ec);
  }

  asio::awaitable<beast::error_code> write_pieces(pieced_response& message,
                                                  std::span<const asio::const_buffer> body) override {
    started_ = true;
    if (env_.draining->load(std::memory_order_relaxed)) message.keep_alive(false);
    close_after_ = !message.keep_alive();
    beast::get_lowest_layer(stream_).expires_after(env_.listen->read_timeout);
    if constexpr (std::is_same_v<Stream, tls_stream>) {
      // One buffer through TLS (see write): the copy is TLS's anyway.
      std::string whole;
      append_head(whole, message.base());
      for (const auto& piece : body) whole.append(static_cast<const char*>(piece.data()), piece.size());
      auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(whole), use_tuple);
      co_return note(ec);
    } else {
      head_.clear();
      append_head(head_, message.base());
      std::size_t size = 0;
      for (const auto& piece : body) size += piece.size();
      if (size <= copied_body_bytes) {
        // One send: a body rewritten into dozens of pieces went out in as
        // many sendmsg calls as a gather write, which cost far more than
        // copying a few KiB into the connection's head buffer.
        head_.reserve(head_.size() + size);
        for (const auto& piece : body) head_.append(static_cast<const char*>(piece.data()), piece.size());
        auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(head_), use_tuple);
        co_return note(ec);
      }
      gather_.clear();
      gather_.push_back(asio::buffer(head_));
      gather_.insert(gather_.end(), body.begin(), body.end());
      // A view, not the vector: the write operation copies its buffer sequence.
      auto [ec, n] = co_await asio::async_write(
          stream_, std::span<const asio::const_buffer>(gather_.data(), gather_.size()), use_tuple);
      co_return note(ec);
    }
  }

  asio::awaitable<beast::error_code> begin(streamed_response& message) override {
    started_ = true;
    if (env_.draining->load(std::memory_order_relaxed)) message.keep_alive(false);
    // An HTTP/1.0 client cannot take chunks: the end of the body is the close.
    if (message.version() < 11 && message.chunked()) {
      message.chunked(false);
      message.keep_alive(false);
    }
    close_after_ = !message.keep_alive();
    message_ = &message;
    message.body().data = nullptr;
    message.body().size = 0;
    message.body().more = true;
    serializer_.emplace(message);
    beast::get_lowest_layer(stream_).expires_after(env_.listen->read_timeout);
    auto [ec, n] = co_await http::async_write_header(stream_, *serializer_, use_tuple);
    co_return note(ec);
  }

  asio::awaitable<beast::error_code> chunk(const void* data, std::size_t size) override {
    message_->body().data = const_cast<void*>(data);
    message_->body().size = size;
    message_->body().more = true;
    beast::get_lowest_layer(stream_).expires_after(env_.listen->read_timeout);
    auto [ec, n] = co_await http::async_write(stream_, *serializer_, use_tuple);
    if (ec == http::error::need_buffer) ec = {};
    co_return note(ec);
  }

  asio::awaitable<beast::error_code> end() override {
    message_->body().data = nullptr;
    message_->body().size = 0;
    message_->body().more = false;
    beast::get_lowest_layer(stream_).expires_after(env_.listen->read_timeout);
    auto [ec, n] = co_await http::async_write(stream_, *serializer_, use_tuple);
    if (ec == http::error::need_buffer) ec = {};
    serializer_.reset();
    co_return note(ec);
  }

  bool started() const override { return started_; }
  // Close after this response: the client asked, we drain, a write failed,
  // or a streamed response was begun and never ended (the pipeline gave up
  // on it: the upstream failed, or the client read too slowly). Only the
  // close tells the client that its body is short.
  bool close_after() const { return close_after_ || failed_ || serializer_.has_value(); }

 private:
  beast::error_code note(beast::error_code ec) {
    if (ec) failed_ = true;
    return ec;
  }

  Stream& stream_;
  const session_env& env_;
  bool started_ = false;
  bool close_after_ = false;
  bool failed_ = false;
  // Bodies up to this size are copied behind the head and sent at once.
  static constexpr std::size_t copied_body_bytes = 128 * 1024;
  std::string& head_;                        // the connection's (write_buffers)
  std::vector<asio::const_buffer>& gather_;  // likewise
  streamed_response* message_ = nullptr;
  std::optional<http::response_serializer<http::buffer_body>> serializer_;
};

template <class Stream>
asio::awaitable<bool> handshake(Stream&, const session_env&) {
  co_return true;
}

template <>
inline asio::awaitable<bool> handshake(tls_stream& stream, const session_env& env) {
  beast::get_lowest_layer(stream).expires_after(env.listen->read_timeout);
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
  co_return !ec;
}

// What a refused client may still send after its answer, discarded.
inline constexpr std::size_t max_lingering_bytes = 4 * 1024 * 1024;

template <class Stream>
asio::awaitable<void> close(Stream& stream) {
  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(asio::socket_base::shutdown_send, ignored);
  co_return;
}

template <>
inline asio::awaitable<void> close(tls_stream& stream) {
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
  co_await stream.async_shutdown(use_tuple);
}

// Closing a socket whose peer is still sending makes the kernel reset the
// connection, and a reset can destroy the answer in flight. After refusing
// a request whose body was left unread: stop sending, then read and discard
// what the client still sends, bounded in bytes and time, before closing.
template <class Stream>
asio::awaitable<void> linger_close(Stream& stream, std::chrono::milliseconds how_long) {
  beast::error_code ignored;
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.socket().shutdown(asio::socket_base::shutdown_send, ignored);
  lowest.expires_after(how_long);
  std::array<char, 16 * 1024> scratch;
  std::size_t discarded = 0;
  while (discarded < max_lingering_bytes) {
    auto [ec, n] = co_await lowest.async_read_some(asio::buffer(scratch), use_tuple);
    if (ec) break;
    discarded += n;
  }
}

template <>
inline asio::awaitable<void> linger_close(tls_stream& stream, std::chrono::milliseconds) {
  co_await close(stream);
}

// How long a closing connection waits for its client to close, when the
// client may still be sending (a pipelined request after Connection: close,
// a request that crossed the drain's close on the wire).
inline constexpr std::chrono::milliseconds closing_linger{2000};

// Bytes the client sent that nobody read yet, in the kernel's receive
// queue (for TLS: encrypted bytes, which is enough to know a record came).
template <class Stream>
std::size_t unread_bytes(Stream& stream) {
  beast::error_code ignored;
  return beast::get_lowest_layer(stream).socket().available(ignored);
}


// A request body's share of the body budget, given back when the request
// is done (on every exit path).
class body_reservation {
 public:
  explicit body_reservation(body_budget& budget) : budget_(budget) {}
  ~body_reservation() { budget_.give_back(client_, taken_); }
  body_reservation(const body_reservation&) = delete;
  body_reservation& operator=(const body_reservation&) = delete;

  void shrink_to(std::size_t bytes) {
    if (bytes >= taken_) return;
    budget_.give_back(client_, taken_ - bytes);
    taken_ = bytes;
  }

  body_budget::verdict take(std::string_view client, std::size_t bytes) {
    const auto verdict = budget_.take(client, bytes);
    if (verdict == body_budget::verdict::taken) {
      client_ = client;
      taken_ = bytes;
    }
    return verdict;
  }

 private:
  body_budget& budget_;
  std::string client_;
  std::size_t taken_ = 0;
};

// Keeps the shutdown list and the connection count right on every exit path.
struct session_registration {
  session_registration(const session_env& env, session_handle& handle) : env_(env), handle_(handle) {
    it_ = env_.sessions->insert(env_.sessions->end(), &handle_);
  }
  ~session_registration() {
    env_.sessions->erase(it_);
    // Sequentially consistent, both sides: this session decrements, then
    // reads `draining`; the drain sets `draining`, then reads the count. So
    // either this session sees the drain and wakes it, or the drain sees
    // this session gone.
    const auto before = env_.open_connections->fetch_sub(1);
    if (before == 1 && env_.draining->load() && env_.drained) (*env_.drained)();
  }
  const session_env& env_;
  session_handle& handle_;
  std::list<session_handle*>::iterator it_;
};

}  // namespace detail

template <class Stream>
boost::asio::awaitable<void> run_session(Stream stream, session_env env, client_endpoint_info info) {
  using namespace detail;
  session_handle handle;
  handle.cancel = [&stream] {
    beast::error_code ignored;
    beast::get_lowest_layer(stream).socket().cancel(ignored);
  };
  session_registration registration(env, handle);
  if (!co_await handshake(stream, env)) co_return;

  const auto& listen = *env.listen;
  // Close by reading what the client still sends until it closes (bounded):
  // a body left unread, pipelined requests, a drain.
  bool linger = false;
  // Bounded: a request head may not exceed max_header_bytes, nor a body
  // max_body_bytes; the buffer holds at most one of each plus pipelined bytes.
  beast::flat_buffer buffer(listen.max_header_bytes + listen.max_body_bytes + 64 * 1024);
  write_buffers out_buffers;

  for (;;) {
    out_buffers.trim();
    // Idle keep-alive: wait for the first byte under the idle timeout.
    if (buffer.size() == 0) {
      // Draining: a request already in the socket is answered (with
      // Connection: close), not reset by closing over it; otherwise stop
      // sending and read until the client closes, so that a request
      // crossing our close on the wire meets a FIN its client retries on
      // (docs/contract.md §5 "Shutdown").
      if (env.draining->load(std::memory_order_relaxed) && unread_bytes(stream) == 0) {
        linger = true;
        break;
      }
      handle.idle = true;
      beast::get_lowest_layer(stream).expires_after(listen.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
      handle.idle = false;
      if (ec == asio::error::operation_aborted && env.draining->load(std::memory_order_relaxed)) {
        continue;  // cancelled by the drain: as above
      }
      if (ec) co_return;  // closed or idle timeout
      buffer.commit(n);
    }

    // The whole request under the read timeout: a slow client cannot hold
    // a connection open by trickling bytes.
    beast::get_lowest_layer(stream).expires_after(listen.read_timeout);
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(listen.max_header_bytes));
    parser.body_limit(listen.max_body_bytes);
    stream_writer<Stream> writer(stream, env, out_buffers);

    auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    if (hec == http::error::header_limit || hec == http::error::buffer_overflow) {
      co_await env.pipeline->reject_malformed(431, "Request header fields too large", writer, info);
      break;
    }
    if (hec == http::error::body_limit) {  // Content-Length over the limit, known from the head
      co_await env.pipeline->reject_malformed(413, "Request body too large", writer, info);
      linger = true;
      break;
    }
    if (hec == beast::error::timeout || hec == http::error::end_of_stream ||
        hec == asio::error::operation_aborted || hec == asio::error::connection_reset ||
        hec == asio::error::eof || hec == asio::ssl::error::stream_truncated) {
      co_return;
    }
    if (hec) {
      co_await env.pipeline->reject_malformed(400, "Problems parsing the request", writer, info);
      break;
    }

    // RFC 9112 §6.3: a request whose Transfer-Encoding does not end in
    // chunked has no knowable length. Read as empty, its body would be
    // parsed as the next request (smuggling past the proxy's checks).
    if (parser.get().count(http::field::transfer_encoding) != 0 && !parser.chunked()) {
      co_await env.pipeline->reject_malformed(400, "Transfer-Encoding must end with chunked", writer, info);
      break;
    }
    // Refuse an oversized body before the client sends it.
    const auto length = parser.content_length();
    if (length && *length > listen.max_body_bytes) {
      co_await env.pipeline->reject_malformed(413, "Request body too large", writer, info);
      linger = true;
      break;
    }
    auto& head = parser.get();
    // Authenticate and check the scope on the head, before any body byte
    // is read or buffered: an unknown client never gets to fill memory.
    std::string client_name;
    if (!parser.is_done() && co_await env.pipeline->refuse_head(head, writer, info, client_name)) {
      linger = true;
      break;
    }
    // Every body being buffered counts against one budget of the process,
    // of which one client may hold only a share.
    body_reservation reservation(*env.bodies);
    if (!parser.is_done()) {
      const auto verdict =
          reservation.take(client_name, length ? static_cast<std::size_t>(*length) : listen.max_body_bytes);
      if (verdict == body_budget::verdict::over_client_share) {
        co_await env.pipeline->refuse_body_share(client_name, writer, info);
        linger = true;
        break;
      }
      if (verdict == body_budget::verdict::over_total) {
        co_await env.pipeline->reject_malformed(503, "Too many request bodies in flight; retry shortly", writer,
                                                info);
        linger = true;
        break;
      }
    }
    if (beast::iequals(head[http::field::expect], "100-continue") && !parser.is_done()) {
      http::response<http::empty_body> cont{http::status::continue_, 11};
      auto [cec, cn] = co_await http::async_write(stream, cont, use_tuple);
      if (cec) co_return;
    }
    if (!parser.is_done()) {
      auto [bec, bn] = co_await http::async_read(stream, buffer, parser, use_tuple);
      if (bec == http::error::body_limit) {
        co_await env.pipeline->reject_malformed(413, "Request body too large", writer, info);
        linger = true;
        break;
      }
      if (bec == beast::error::timeout || bec == http::error::end_of_stream ||
          bec == asio::error::eof || bec == asio::error::connection_reset) {
        co_return;
      }
      if (bec) {
        co_await env.pipeline->reject_malformed(400, "Problems parsing the request body", writer, info);
        break;
      }
    }

    request req = parser.release();
    // A chunked body reserved the maximum; it holds only what came.
    reservation.shrink_to(req.body().size());
    co_await env.pipeline->handle(req, writer, info);
    if (!writer.started() || writer.close_after()) {
      // Pipelined requests behind a Connection: close answer are not
      // served; closing over them would reset the answer just written.
      linger = buffer.size() > 0 || unread_bytes(stream) > 0;
      break;
    }
    // The pipeline leaves the stream in a clean state only when it wrote a
    // whole response; any write error shows up on the next read as well.
  }
  if (linger) {
    co_await linger_close(stream, closing_linger);
  } else {
    co_await close(stream);
  }
}

}  // namespace github_proxy::server
