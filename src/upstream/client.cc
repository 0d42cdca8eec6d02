// upstream::client over keep-alive pools, read top to bottom in `send`:
// take a connection → write the request → read the head → hand the body
// over to a reader that gives the connection back when it is done.
#include "github_proxy/upstream/client.h"

#include <array>
#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include "common/http_head.h"
#include "github_proxy/upstream/connection_pool.h"

namespace github_proxy::upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// GitHub's response heads are a few KiB; anything near this is not GitHub.
constexpr std::uint32_t max_header_bytes = 256 * 1024;
// Chunked bodies grow the destination by this much per read.
constexpr std::size_t chunked_growth_bytes = 16 * 1024;

bool idempotent(http::verb method) {
  switch (method) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::put:
    case http::verb::delete_:
    case http::verb::options:
      return true;
    default:
      return false;
  }
}

using parser_type = http::response_parser<http::buffer_body>;

class pooled_body_reader final : public body_reader {
 public:
  pooled_body_reader(connection_pool& pool, std::unique_ptr<connection> conn, std::unique_ptr<parser_type> parser,
                     std::chrono::milliseconds timeout)
      : pool_(pool), conn_(std::move(conn)), parser_(std::move(parser)), timeout_(timeout) {
    if (parser_->is_done()) finish(parser_->keep_alive());
  }

  ~pooled_body_reader() override {
    if (!conn_) return;
    if (streaming_) pool_.end_stream();
    pool_.release(std::move(conn_), false);  // unread body: the connection is unusable
  }

  asio::awaitable<body_chunk> read_some(char* dest, std::size_t room) override {
    body_chunk out;
    if (!conn_) {
      out.error = error_;  // empty once the whole body was read
      co_return out;
    }
    conn_->lowest_layer().expires_after(timeout_);
    parser_->get().body().data = dest;
    parser_->get().body().size = room;
    auto [ec, n] = co_await conn_->visit(
        [&](auto& stream) { return http::async_read(stream, conn_->buffer(), *parser_, use_tuple); });
    if (ec == http::error::need_buffer) ec = {};
    out.size = room - parser_->get().body().size;
    out.error = ec;
    if (ec) {
      error_ = ec;
      finish(false);
    } else if (parser_->is_done()) {
      finish(parser_->keep_alive());
    }
    co_return out;
  }

  bool done() const override { return !conn_ && !failed_; }

  bool begin_stream() override {
    if (!conn_ || streaming_) return true;
    streaming_ = pool_.begin_stream();
    return streaming_;
  }

 private:
  void finish(bool reusable) {
    failed_ = !parser_->is_done();
    if (streaming_) pool_.end_stream();
    streaming_ = false;
    pool_.release(std::move(conn_), reusable);
  }

  connection_pool& pool_;
  std::unique_ptr<connection> conn_;
  std::unique_ptr<parser_type> parser_;
  std::chrono::milliseconds timeout_;
  bool failed_ = false;
  bool streaming_ = false;
  boost::system::error_code error_;
};

class pooled_client final : public client {
 public:
  pooled_client(asio::any_io_executor executor, const endpoint& rest, const endpoint& graphql,
                asio::ssl::context* tls, client_options options)
      : options_(options), rest_tls_(rest.tls), graphql_tls_(graphql.tls) {
    pool_limits limits;
    limits.max_connections = std::max<std::size_t>(1, options.max_connections);
    limits.max_streams = limits.max_connections;
    limits.connect_timeout = options.connect_timeout;
    rest_ = std::make_unique<connection_pool>(executor, rest, tls, limits);
    if (!graphql.same_origin(rest)) graphql_ = std::make_unique<connection_pool>(executor, graphql, tls, limits);
  }

  asio::awaitable<exchange> send(request& req, api which) override {
    const bool graphql = which == api::graphql && graphql_;
    auto& pool = graphql ? *graphql_ : *rest_;
    const bool plain = !(graphql ? graphql_tls_ : rest_tls_);
    req.prepare_payload();
    // Plain TCP: head and body in one gather write (common/http_head.h).
    // TLS keeps Beast's serializer (see server/session_impl.h).
    std::string head_bytes;
    if (plain) append_head(head_bytes, req.base());

    exchange out;
    const auto deadline = steady::now() + options_.request_timeout;
    const bool head_request = req.method() == http::verb::head;
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto got = co_await pool.acquire(deadline, attempt > 0);
      if (!got.conn) {
        out.timed_out = got.error == acquire_error::timeout;
        co_return out;
      }
      auto conn = std::move(got.conn);
      conn->lowest_layer().expires_at(deadline);
      auto [wec, wn] = co_await conn->visit([&](auto& stream) {
        if constexpr (std::is_same_v<std::decay_t<decltype(stream)>, beast::tcp_stream>) {
          return asio::async_write(
              stream, std::array<asio::const_buffer, 2>{asio::buffer(head_bytes), asio::buffer(req.body())},
              use_tuple);
        } else {
          return http::async_write(stream, req, use_tuple);
        }
      });
      beast::error_code ec = wec;
      auto parser = std::make_unique<parser_type>();
      if (!ec) {
        parser->header_limit(max_header_bytes);
        parser->body_limit(boost::none);
        if (head_request) parser->skip(true);
        auto [rec, rn] = co_await conn->visit(
            [&](auto& stream) { return http::async_read_header(stream, conn->buffer(), *parser, use_tuple); });
        ec = rec;
      }
      if (!ec) {
        out.answered = true;
        out.content_length = parser->content_length() ? std::optional<std::uint64_t>(*parser->content_length())
                                                      : std::nullopt;
        out.head = std::move(parser->get().base());
        out.body = std::make_unique<pooled_body_reader>(pool, std::move(conn), std::move(parser),
                                                        options_.request_timeout);
        co_return out;
      }
      out.timed_out = ec == beast::error::timeout;
      pool.release(std::move(conn), false);
      if (out.timed_out || !got.reused || !idempotent(req.method())) break;
    }
    co_return out;
  }

  void close_idle() override {
    rest_->close_idle();
    if (graphql_) graphql_->close_idle();
  }

 private:
  client_options options_;
  bool rest_tls_;
  bool graphql_tls_;
  std::unique_ptr<connection_pool> rest_;
  std::unique_ptr<connection_pool> graphql_;  // null when same origin as REST
};

}  // namespace

std::unique_ptr<client> make_pooled_client(asio::any_io_executor executor, const endpoint& rest,
                                           const endpoint& graphql, asio::ssl::context* tls,
                                           client_options options) {
  return std::make_unique<pooled_client>(std::move(executor), rest, graphql, tls, options);
}

asio::awaitable<boost::system::error_code> read_whole(body_reader& body, std::string& out, std::size_t limit,
                                                      std::optional<std::uint64_t> content_length) {
  if (content_length) {
    if (out.size() + *content_length > limit) co_return http::error::body_limit;
    out.reserve(out.size() + static_cast<std::size_t>(*content_length));
  }
  while (!body.done()) {
    const auto old = out.size();
    std::size_t room = content_length ? std::max<std::size_t>(1, out.capacity() - old) : chunked_growth_bytes;
    room = std::min(room, limit - std::min(limit, old) + 1);  // one byte past the limit tells it was passed
    out.resize(old + room);
    auto got = co_await body.read_some(out.data() + old, room);
    out.resize(old + got.size);
    if (got.error) co_return got.error;
    if (out.size() > limit) co_return http::error::body_limit;
  }
  co_return boost::system::error_code{};
}

}  // namespace github_proxy::upstream
