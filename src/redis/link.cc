#include "redis/link.h"

#include <array>
#include <cstdlib>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>

#include "github_proxy/cache/cache_store.h"
#include "common/log_escaped.h"

namespace github_proxy::redis {

namespace asio = boost::asio;
using asio::ip::tcp;
using cache::store_error;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Redis' own limit on a bulk string (proto-max-bulk-len), and some room for
// the framing of an array of them.
constexpr std::size_t max_buffered_reply_bytes = 512u * 1024 * 1024 + 64 * 1024;

// Notices a peer that vanished without a FIN within about half a minute
// (idle 15 s, then 3 probes 5 s apart), as hiredis' redisEnableKeepAlive did.
void keep_alive(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.set_option(tcp::socket::keep_alive(true), ignored);
  socket.set_option(tcp::no_delay(true), ignored);
  const int fd = socket.native_handle();
  int idle = 15, interval = 5, count = 3;
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

}  // namespace

link::link(asio::any_io_executor executor, std::shared_ptr<const tls_settings> tls)
    : executor_(executor),
      tls_settings_(std::move(tls)),
      socket_(executor),
      reader_(make_bounded_reader(), &redisReaderFree),
      writer_wake_(executor, asio::steady_timer::time_point::max()) {
  if (!reader_) throw std::bad_alloc();
}

link::~link() {
  // Only reached once the reader and writer have ended (they hold the link),
  // or when it never started: nothing can be waiting.
  close("closed");
}

template <typename Op>
auto link::with_stream(Op op) {
  return tls_ ? op(*tls_) : op(socket_);
}

asio::awaitable<link::opened> link::open(asio::any_io_executor executor, server_address address,
                                          std::shared_ptr<const tls_settings> tls, link_clock::time_point deadline) {
  auto self = std::make_shared<link>(executor, std::move(tls));
  std::string error;
  if (!co_await self->connect(address, deadline, error)) co_return opened{nullptr, std::move(error)};
  self->peer_ = std::move(address);
  self->start();
  co_return opened{std::move(self), {}};
}

asio::awaitable<bool> link::connect(const server_address& address, link_clock::time_point deadline,
                                    std::string& error) {
  // One watchdog for every step: at the deadline it closes the socket and
  // cancels the lookup, so whatever is in progress ends with an error. Its
  // handler may run after this frame is gone (it was queued when the frame
  // disarmed it): it holds what it touches.
  struct watch {
    explicit watch(const asio::any_io_executor& executor) : resolver(executor) {}
    tcp::resolver resolver;
    bool armed = true;
    bool expired = false;
  };
  auto state = std::make_shared<watch>(executor_);
  asio::steady_timer watchdog(executor_, deadline);
  watchdog.async_wait([self = shared_from_this(), state](const boost::system::error_code& ec) {
    if (ec || !state->armed) return;
    state->expired = true;
    boost::system::error_code ignored;
    self->socket_.close(ignored);
    state->resolver.cancel();
  });
  struct disarm {
    watch& state;
    asio::steady_timer& timer;
    ~disarm() {
      state.armed = false;
      timer.cancel();
    }
  } disarmed{*state, watchdog};
  const bool& expired = state->expired;

  std::vector<tcp::endpoint> candidates;
  boost::system::error_code ec;
  const auto literal = asio::ip::make_address(address.host, ec);
  if (!ec) {
    candidates.emplace_back(literal, address.port);  // an IP literal needs no lookup
  } else {
    auto [resolve_ec, results] =
        co_await state->resolver.async_resolve(address.host, std::to_string(address.port), use_tuple);
    if (resolve_ec) {
      error = expired ? "name resolution timed out" : "cannot resolve " + address.host + ": " + resolve_ec.message();
      co_return false;
    }
    for (const auto& entry : results) candidates.push_back(entry.endpoint());
  }

  // "localhost" may give ::1 first while Redis listens on 127.0.0.1 only: try each.
  boost::system::error_code connect_ec = asio::error::host_not_found;
  for (const auto& candidate : candidates) {
    if (expired) break;
    boost::system::error_code ignored;
    socket_.close(ignored);
    std::tie(connect_ec) = co_await socket_.async_connect(candidate, use_tuple);
    if (!connect_ec) break;
  }
  if (expired || connect_ec) {
    error = expired ? "connect timed out" : "cannot connect: " + connect_ec.message();
    co_return false;
  }
  keep_alive(socket_);

  if (!tls_settings_) co_return true;
  tls_.emplace(socket_, tls_settings_->context);
  const std::string& name = tls_settings_->server_name.empty() ? address.host : tls_settings_->server_name;
  // SNI carries a name, never an IP address (RFC 6066 §3).
  boost::system::error_code not_ip;
  asio::ip::make_address(name, not_ip);
  if (not_ip && !SSL_set_tlsext_host_name(tls_->native_handle(), name.c_str())) {
    error = "cannot set the TLS server name";
    co_return false;
  }
  tls_->set_verify_callback(asio::ssl::host_name_verification(name));
  auto [handshake_ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (expired || handshake_ec) {
    error = expired ? "TLS handshake timed out" : "TLS handshake failed: " + handshake_ec.message();
    const long verify = SSL_get_verify_result(tls_->native_handle());
    if (!expired && verify != X509_V_OK) {
      error += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
    }
    co_return false;
  }
  co_return true;
}

void link::start() {
  auto self = shared_from_this();
  asio::co_spawn(executor_, [self] { return self->read_loop(); }, common::log_escaped("Redis link reader"));
  asio::co_spawn(executor_, [self] { return self->write_loop(); }, common::log_escaped("Redis link writer"));
}

pending_ptr link::submit(std::span<const std::string_view> argv) {
  auto pending = std::make_shared<pending_command>(executor_);
  // An empty command would get no reply at all and shift every later reply
  // onto the command before it.
  if (!closed_ && !argv.empty() && out_.size() < max_pending_bytes) {
    std::array<const char*, 16> small_args;
    std::array<std::size_t, 16> small_lengths;
    std::vector<const char*> large_args;
    std::vector<std::size_t> large_lengths;
    const char** args = small_args.data();
    std::size_t* lengths = small_lengths.data();
    if (argv.size() > small_args.size()) {
      large_args.resize(argv.size());
      large_lengths.resize(argv.size());
      args = large_args.data();
      lengths = large_lengths.data();
    }
    for (std::size_t i = 0; i < argv.size(); ++i) {
      args[i] = argv[i].data();
      lengths[i] = argv[i].size();
    }
    char* encoded = nullptr;
    const int length = redisFormatCommandArgv(&encoded, static_cast<int>(argv.size()), args, lengths);
    if (length > 0) {
      out_.append(encoded, static_cast<std::size_t>(length));
      std::free(encoded);
      if (replies_.empty()) progress_ = link_clock::now();
      replies_.push_back(pending);
      if (writer_idle_) writer_wake_.cancel();
      return pending;
    }
    std::free(encoded);
  }
  pending->done = true;
  pending->result.error = make_error_code(store_error::unavailable);
  return pending;
}

void link::close(std::string_view reason) {
  if (closed_) return;
  closed_ = true;
  close_reason_ = reason;
  boost::system::error_code ignored;
  socket_.close(ignored);  // the reader's and the writer's operations end with an error
  writer_wake_.cancel();
  out_.clear();
  auto waiting = std::move(replies_);
  replies_.clear();
  for (auto& pending : waiting) {
    if (!pending->abandoned) pending->result.error = make_error_code(store_error::unavailable);
    complete(*pending);
  }
  on_push_ = nullptr;
  if (auto hook = std::move(on_close_)) hook();
}

asio::awaitable<void> link::read_loop() {
  auto self = shared_from_this();
  std::array<char, 16 * 1024> buffer;
  while (!closed_) {
    auto [ec, n] = co_await with_stream(
        [&](auto& stream) { return stream.async_read_some(asio::buffer(buffer), use_tuple); });
    if (closed_) co_return;
    if (ec) {
      close(ec == asio::error::eof ? "closed by Redis" : "read failed: " + ec.message());
      co_return;
    }
    redisReader* reader = reader_.get();
    if (redisReaderFeed(reader, buffer.data(), n) != REDIS_OK ||
        reader->len - reader->pos > max_buffered_reply_bytes) {
      close("a reply larger than Redis' bulk limit");
      co_return;
    }
    while (!closed_) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
        close(std::string("protocol error: ") + reader->errstr);
        co_return;
      }
      if (!raw) break;
      std::unique_ptr<redisReply, void (*)(void*)> parsed(static_cast<redisReply*>(raw), &freeReplyObject);
      if (replies_.empty()) {
        if (!on_push_) {
          close("a reply nobody asked for");
          co_return;
        }
        on_push_(copy_reply(*parsed));
        continue;
      }
      auto pending = std::move(replies_.front());
      replies_.pop_front();
      progress_ = link_clock::now();
      if (!pending->abandoned) pending->result.value = copy_reply(*parsed);
      complete(*pending);
    }
  }
}

asio::awaitable<void> link::write_loop() {
  auto self = shared_from_this();
  while (!closed_) {
    if (out_.empty()) {
      writer_idle_ = true;
      writer_wake_.expires_at(asio::steady_timer::time_point::max());
      co_await writer_wake_.async_wait(use_tuple);
      writer_idle_ = false;
      continue;
    }
    sending_.swap(out_);  // the two buffers trade places: no allocation once warm
    auto [ec, n] = co_await with_stream(
        [&](auto& stream) { return asio::async_write(stream, asio::buffer(sending_), use_tuple); });
    sending_.clear();
    // One burst of large values must not pin its buffer for the link's life.
    constexpr std::size_t keep_bytes = 1024 * 1024;
    if (sending_.capacity() > keep_bytes) std::string().swap(sending_);
    if (closed_) co_return;
    if (ec) {
      close("write failed: " + ec.message());
      co_return;
    }
  }
}

}  // namespace github_proxy::redis
