// One open stream to one Redis server (TCP, or TLS over TCP), carrying
// pipelined commands (STYLE.md principle 11: the I/O is Asio's, the protocol
// hiredis').
//
// `submit` encodes a command with hiredis (`redisFormatCommandArgv`) into a
// write buffer that one writer coroutine drains; one reader coroutine feeds
// what arrives to hiredis' `redisReader` and hands each reply to the oldest
// command still waiting (Redis answers in order). No reconnecting: once
// closed (by its owner, a read or write error, a protocol error or a reply
// nobody asked for) it stays closed, and every command still waiting fails
// with store_error::unavailable. Nothing blocks the thread: names are
// resolved by Asio's resolver, and connect and TLS handshake end at their
// deadline.
//
// Bounds: at most `max_pending_bytes` of encoded commands wait to be written
// (more: the command fails with `unavailable`), and a reply larger than
// Redis' own bulk limit (512 MiB) closes the link.
//
// Threading: a link lives on its executor's thread. Lifetime: the reader and
// writer hold it until they end, which they do soon after it closes. An
// owner that is done with a link must close() it: merely dropping it leaves
// the reader waiting on the socket, holding it open.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "redis/pending_command.h"
#include "redis/redis_url.h"
#include "redis/tls.h"

struct redisReader;

namespace github_proxy::redis {

class link : public std::enable_shared_from_this<link> {
 public:
  static constexpr std::size_t max_pending_bytes = 64u * 1024 * 1024;

  struct opened {
    std::shared_ptr<link> value;  // null when it failed
    std::string error;            // why, for logs (no credentials: none are involved yet)
  };

  // Resolves `address`, connects to its addresses in turn and, with `tls`,
  // handshakes (SNI, certificate verified), all before `deadline`.
  static boost::asio::awaitable<opened> open(boost::asio::any_io_executor executor, server_address address,
                                              std::shared_ptr<const tls_settings> tls,
                                              link_clock::time_point deadline);

  link(boost::asio::any_io_executor executor, std::shared_ptr<const tls_settings> tls);
  ~link();
  link(const link&) = delete;
  link& operator=(const link&) = delete;

  // Queues `argv` (binary-safe; copied; not empty); the command completes
  // with the reply, or with `unavailable` at once when the link is closed,
  // its write buffer full or `argv` empty, or later when it closes first.
  pending_ptr submit(std::span<const std::string_view> argv);

  // Closes the stream and fails the commands still waiting. `reason` is kept
  // for close_reason(); the first reason wins.
  void close(std::string_view reason);

  bool is_open() const { return !closed_; }
  // True when commands wait and Redis has sent nothing for `limit`: a server
  // that froze or vanished without a FIN or RST, which TCP itself may take
  // minutes to notice while data is unacknowledged.
  bool stalled(link_clock::duration limit) const {
    return !replies_.empty() && link_clock::now() - progress_ > limit;
  }
  std::size_t in_flight() const { return replies_.size(); }
  const std::string& close_reason() const { return close_reason_; }
  const server_address& peer() const { return peer_; }

  // Called once, when the link closes (for whatever reason).
  void on_close(std::function<void()> hook) { on_close_ = std::move(hook); }

  // For a subscriber (SUBSCRIBE): replies that arrive while no command waits
  // (published messages) go to `hook` instead of closing the link.
  void on_push(std::function<void(const reply&)> hook) { on_push_ = std::move(hook); }

 private:
  boost::asio::awaitable<bool> connect(const server_address& address, link_clock::time_point deadline,
                                       std::string& error);
  void start();
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();
  // Calls `op` with whichever stream carries the bytes.
  template <typename Op>
  auto with_stream(Op op);

  boost::asio::any_io_executor executor_;
  std::shared_ptr<const tls_settings> tls_settings_;
  boost::asio::ip::tcp::socket socket_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  std::unique_ptr<redisReader, void (*)(redisReader*)> reader_;
  std::string out_;      // encoded commands not yet handed to the writer
  std::string sending_;  // what the writer is writing
  bool writer_idle_ = false;
  boost::asio::steady_timer writer_wake_;
  std::deque<pending_ptr> replies_;  // sent, in order, awaiting their replies
  link_clock::time_point progress_{};  // the last reply, or when replies_ stopped being empty
  bool closed_ = false;
  std::string close_reason_;
  server_address peer_;
  std::function<void()> on_close_;
  std::function<void(const reply&)> on_push_;
};

}  // namespace github_proxy::redis
