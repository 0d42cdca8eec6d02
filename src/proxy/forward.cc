// request_pipeline::forward — one upstream exchange, read top to bottom:
// build the upstream request → take a keep-alive connection → send → read
// the head → relay the body (buffered when small, streamed when large).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include "common/http_head.h"
#include "github_proxy/credentials/resource.h"
#include "proxy/forwarding.h"
#include "proxy/request_pipeline.h"

namespace github_proxy::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using metrics::cache_outcome;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// GitHub's response heads are a few KiB; anything near this is not GitHub.
constexpr std::uint32_t max_upstream_header_bytes = 256 * 1024;
constexpr std::size_t relay_chunk_bytes = 64 * 1024;
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

// Rewrites the fields the client must see differently (SPEC §5 "Rewriting")
// and adds Cache-Status (RFC 9211).
void prepare_client_fields(http::fields& fields, std::string_view upstream_prefix,
                           const std::string& public_prefix) {
  strip_response_hop_by_hop(fields);
  if (!public_prefix.empty()) {
    if (fields.count(http::field::link) > 0) {
      std::vector<std::string> links;
      for (auto [it, end] = fields.equal_range(http::field::link); it != end; ++it) {
        links.push_back(rewrite_link(it->value(), upstream_prefix, public_prefix));
      }
      fields.erase(http::field::link);
      for (const auto& link : links) fields.insert(http::field::link, link);
    }
    if (auto it = fields.find(http::field::location); it != fields.end()) {
      fields.set(http::field::location, rewrite_location(it->value(), upstream_prefix, public_prefix));
    }
  }
  fields.set("Cache-Status", "github-proxy; fwd=bypass");
}

}  // namespace

asio::awaitable<void> request_pipeline::forward(request& req, const routed_path& route,
                                                response_writer& out,
                                                const client_endpoint_info& client,
                                                exchange_record& record) {
  const auto& cfg = *shared_.cfg;
  const auto& endpoint = route.graphql ? shared_.graphql : shared_.rest;
  auto& pool = (route.graphql && graphql_pool_) ? *graphql_pool_ : *rest_pool_;
  record.cache = cache_outcome::bypass;
  record.credential = shared_.credential.name;
  const auto resource = credentials::infer_resource(req.method_string(), path_of(route.path_and_query));

  // The upstream request: method, target and body byte for byte, end-to-end
  // fields, the pool's credential and a fixed User-Agent (SPEC §5).
  request up;
  up.version(11);
  if (req.method() == http::verb::unknown) {
    up.method_string(req.method_string());
  } else {
    up.method(req.method());
  }
  up.target(route.graphql ? graphql_upstream_target(endpoint.base_path, route.path_and_query)
                               : upstream_target(endpoint.base_path, route.path_and_query));
  copy_request_fields(req.base(), up.base());
  up.set(http::field::host, endpoint.host_header);
  up.set(http::field::user_agent, shared_.user_agent);
  up.set(http::field::authorization, shared_.credential.authorization);
  up.body() = std::move(req.body());  // no copy of the body
  up.prepare_payload();
  up.keep_alive(true);
  std::string up_head;
  if (!endpoint.tls) append_head(up_head, up.base());

  const bool head = req.method() == http::verb::head;
  const auto deadline = steady::now() + cfg.upstream.request_timeout;
  const auto sent_at = steady::now();

  std::unique_ptr<upstream::connection> conn;
  std::optional<http::response_parser<http::buffer_body>> parser;
  bool timed_out = false;
  // A keep-alive connection the server closed while idle fails before any
  // answer; an idempotent request is then retried once on a new connection.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto got = co_await pool.acquire(deadline, attempt > 0);
    if (!got.conn) {
      timed_out = got.error == upstream::acquire_error::timeout;
      break;
    }
    conn = std::move(got.conn);
    conn->lowest_layer().expires_at(deadline);
    auto [wec, wn] = co_await conn->visit([&](auto& stream) {
      // Plain TCP: head and body in one gather write (common/http_head.h).
      // TLS keeps Beast's serializer (see server/session_impl.h).
      if constexpr (std::is_same_v<std::decay_t<decltype(stream)>, beast::tcp_stream>) {
        return asio::async_write(
            stream, std::array<asio::const_buffer, 2>{asio::buffer(up_head), asio::buffer(up.body())}, use_tuple);
      } else {
        return http::async_write(stream, up, use_tuple);
      }
    });
    beast::error_code ec = wec;
    if (!ec) {
      parser.emplace();
      parser->header_limit(max_upstream_header_bytes);
      parser->body_limit(boost::none);
      if (head) parser->skip(true);
      auto [rec, rn] = co_await conn->visit([&](auto& stream) {
        return http::async_read_header(stream, conn->buffer(), *parser, use_tuple);
      });
      ec = rec;
    }
    if (!ec) break;
    timed_out = ec == beast::error::timeout;
    pool.release(std::move(conn), false);
    if (timed_out || !got.reused || !idempotent(req.method())) break;
  }

  if (!conn) {
    record.upstream_seconds = std::chrono::duration<double>(steady::now() - sent_at).count();
    counters_.upstream(record.credential, credentials::to_string(resource),
                       timed_out ? metrics::upstream_timeout : metrics::upstream_error)
        .Increment();
    co_await respond_error(out, timed_out ? 504 : 502,
                           timed_out ? "GitHub did not answer in time" : "GitHub is unreachable",
                           req.version(), req.keep_alive(), record);
    co_return;
  }
  record.upstream_seconds = std::chrono::duration<double>(steady::now() - sent_at).count();

  auto& head_msg = parser->get();
  const unsigned status = head_msg.result_int();
  record.status = status;
  if (auto id = head_msg.find("X-GitHub-Request-Id"); id != head_msg.end()) {
    record.github_request_id = std::string(id->value());
  }
  counters_.upstream(record.credential, credentials::to_string(resource), status).Increment();
  shared_.metrics->upstream_duration(resource).Observe(record.upstream_seconds);

  // Where rewritten URLs point: the public base, keeping /api/v3 when the
  // client used it (SPEC §5 "Rewriting").
  std::string public_prefix;
  if (head_msg.find(http::field::link) != head_msg.end() ||
      head_msg.find(http::field::location) != head_msg.end()) {
    public_prefix = public_base(cfg.listen.public_url, client.tls, req[http::field::host]);
    if (!public_prefix.empty()) public_prefix.append(route.client_prefix);
  }

  // Relay the body. Small bodies are collected (the cache will store them);
  // a body over max_object_bytes is streamed and never held whole.
  const std::size_t max_buffered = cfg.cache.max_object_bytes;
  const bool known_length = head_msg.has_content_length();
  const auto length = parser->content_length();
  bool streaming = known_length && length && *length > max_buffered;
  std::string body;
  if (!streaming && length) body.reserve(*length);
  streamed_response streamed;
  std::array<char, relay_chunk_bytes> chunk_buffer;
  beast::error_code error;

  auto start_streaming = [&]() -> asio::awaitable<beast::error_code> {
    streamed.base() = head_msg.base();
    prepare_client_fields(streamed.base(), shared_.rest_url_prefix, public_prefix);
    streamed.version(req.version());
    streamed.keep_alive(req.keep_alive());
    if (!known_length) streamed.chunked(true);
    auto ec = co_await out.begin(streamed);
    if (!ec && !body.empty()) ec = co_await out.chunk(body.data(), body.size());
    body.clear();
    body.shrink_to_fit();
    co_return ec;
  };

  if (streaming) error = co_await start_streaming();
  while (!error && !parser->is_done()) {
    conn->lowest_layer().expires_after(cfg.upstream.request_timeout);
    char* dest;
    std::size_t room;
    if (streaming) {
      dest = chunk_buffer.data();
      room = chunk_buffer.size();
    } else {
      // Read straight into the body string: no intermediate copy. With a
      // Content-Length the string is sized once; chunked bodies grow.
      const auto old = body.size();
      room = length ? std::max<std::size_t>(1, static_cast<std::size_t>(*length) - std::min<std::size_t>(old, *length))
                    : chunked_growth_bytes;
      body.resize(old + room);
      dest = body.data() + old;
    }
    parser->get().body().data = dest;
    parser->get().body().size = room;
    auto [rec, rn] = co_await conn->visit(
        [&](auto& stream) { return http::async_read(stream, conn->buffer(), *parser, use_tuple); });
    if (rec == http::error::need_buffer) rec = {};
    const std::size_t got = room - parser->get().body().size;
    if (!streaming) body.resize(body.size() - room + got);
    if (rec) {
      error = rec;
      break;
    }
    if (streaming) {
      if (got) error = co_await out.chunk(chunk_buffer.data(), got);
    } else if (body.size() > max_buffered) {
      streaming = true;
      error = co_await start_streaming();
    }
  }

  const bool upstream_reusable = !error && parser->is_done() && parser->keep_alive();
  pool.release(std::move(conn), upstream_reusable);

  if (streaming) {
    if (!error) error = co_await out.end();
    // An error after the head was sent can only be signalled by closing;
    // the session sees `out` failed or closes because the body is short.
    if (error) record.status = status;
    co_return;
  }
  if (error) {
    const bool timeout = error == beast::error::timeout;
    co_await respond_error(out, timeout ? 504 : 502,
                           timeout ? "GitHub did not answer in time" : "GitHub closed the connection",
                           req.version(), req.keep_alive(), record);
    co_return;
  }

  response res{std::move(head_msg.base())};
  prepare_client_fields(res.base(), shared_.rest_url_prefix, public_prefix);
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  const bool bodiless = head || status == 204 || status == 304 || status < 200;
  if (!bodiless) res.content_length(body.size());
  res.body() = std::move(body);
  co_await out.write(res);
}

}  // namespace github_proxy::proxy
