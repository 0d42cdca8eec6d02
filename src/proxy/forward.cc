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

}  // namespace

void request_pipeline::prepare_for_client(http::fields& fields, const request& req,
                                          const routed_path& route, const client_endpoint_info& client,
                                          std::string_view cache_status) const {
  strip_response_hop_by_hop(fields);
  // Where rewritten URLs point: the public base, keeping /api/v3 when the
  // client used it (SPEC §5 "Rewriting").
  const bool has_link = fields.find(http::field::link) != fields.end();
  const auto location = fields.find(http::field::location);
  if (has_link || location != fields.end()) {
    std::string public_prefix = public_base(shared_.cfg->listen.public_url, client.tls, req[http::field::host]);
    if (!public_prefix.empty()) {
      public_prefix.append(route.client_prefix);
      if (has_link) {
        std::vector<std::string> links;
        for (auto [it, end] = fields.equal_range(http::field::link); it != end; ++it) {
          links.push_back(rewrite_link(it->value(), shared_.rest_url_prefix, public_prefix));
        }
        fields.erase(http::field::link);
        for (const auto& link : links) fields.insert(http::field::link, link);
      }
      if (location != fields.end()) {
        fields.set(http::field::location, rewrite_location(location->value(), shared_.rest_url_prefix, public_prefix));
      }
    }
  }
  fields.set("Cache-Status", cache_status);
}

request request_pipeline::upstream_request(request& req, const routed_path& route) {
  // Method, target and body byte for byte, end-to-end fields and a fixed
  // User-Agent (SPEC §5); send_pooled adds the pool's credential.
  const auto& endpoint = route.graphql ? shared_.graphql : shared_.rest;
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
  up.body() = std::move(req.body());  // no copy of the body
  up.keep_alive(true);
  return up;
}

asio::awaitable<request_pipeline::upstream_answer> request_pipeline::exchange(
    request& up, bool graphql, credentials::resource resource, relay_context relay,
    exchange_record& record) {
  const auto& cfg = *shared_.cfg;
  const auto& endpoint = graphql ? shared_.graphql : shared_.rest;
  auto& pool = (graphql && graphql_pool_) ? *graphql_pool_ : *rest_pool_;
  up.prepare_payload();
  std::string up_head;
  if (!endpoint.tls) append_head(up_head, up.base());

  upstream_answer answer;
  const bool head = up.method() == http::verb::head;
  const auto deadline = steady::now() + cfg.upstream.request_timeout;
  const auto sent_at = steady::now();

  std::unique_ptr<upstream::connection> conn;
  std::optional<http::response_parser<http::buffer_body>> parser;
  // A keep-alive connection the server closed while idle fails before any
  // answer; an idempotent request is then retried once on a new connection.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto got = co_await pool.acquire(deadline, attempt > 0);
    if (!got.conn) {
      answer.timed_out = got.error == upstream::acquire_error::timeout;
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
    answer.timed_out = ec == beast::error::timeout;
    pool.release(std::move(conn), false);
    if (answer.timed_out || !got.reused || !idempotent(up.method())) break;
  }
  record.upstream_seconds = std::chrono::duration<double>(steady::now() - sent_at).count();

  if (!conn) {
    counters_.upstream(record.credential, credentials::to_string(resource),
                       answer.timed_out ? metrics::upstream_timeout : metrics::upstream_error)
        .Increment();
    co_return answer;
  }
  answer.answered = true;

  auto& head_msg = parser->get();
  const unsigned status = head_msg.result_int();
  answer.status = status;
  record.status = status;
  if (auto id = head_msg.find("X-GitHub-Request-Id"); id != head_msg.end()) {
    record.github_request_id = std::string(id->value());
  }
  counters_.upstream(record.credential, credentials::to_string(resource), status).Increment();
  shared_.metrics->upstream_duration(resource).Observe(record.upstream_seconds);

  // Relay the body. Small bodies are collected (the cache stores them); a
  // body over max_object_bytes is streamed and never held whole.
  const std::size_t max_buffered = cfg.cache.max_object_bytes;
  const bool known_length = head_msg.has_content_length();
  const auto length = parser->content_length();
  bool streaming = known_length && length && *length > max_buffered;
  std::string& body = answer.body;
  if (!streaming && length) body.reserve(*length);
  streamed_response streamed;
  std::array<char, relay_chunk_bytes> chunk_buffer;
  beast::error_code error;

  auto start_streaming = [&]() -> asio::awaitable<beast::error_code> {
    answer.streamed = true;
    for (const auto& field : head_msg) {
      const auto name = field.name_string();
      if (name.size() > 12 && beast::iequals(name.substr(0, 12), "x-ratelimit-")) {
        answer.limit_fields.insert(name, field.value());
      } else if (field.name() == http::field::retry_after) {
        answer.limit_fields.insert(field.name(), field.value());
      }
    }
    streamed.base() = head_msg.base();
    prepare_for_client(streamed.base(), relay.req, relay.route, relay.client, relay.cache_status);
    streamed.version(relay.req.version());
    streamed.keep_alive(relay.req.keep_alive());
    if (!known_length) streamed.chunked(true);
    auto ec = co_await relay.out.begin(streamed);
    if (!ec && !body.empty()) ec = co_await relay.out.chunk(body.data(), body.size());
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
      if (got) error = co_await relay.out.chunk(chunk_buffer.data(), got);
    } else if (body.size() > max_buffered) {
      streaming = true;
      error = co_await start_streaming();
    }
  }

  const bool upstream_reusable = !error && parser->is_done() && parser->keep_alive();
  pool.release(std::move(conn), upstream_reusable);

  if (streaming) {
    if (!error) error = co_await relay.out.end();
    // An error after the head was sent can only be signalled by closing;
    // the session sees `out` failed or closes because the body is short.
    answer.failed = static_cast<bool>(error);
    co_return answer;
  }
  if (error) {
    answer.failed = true;
    answer.timed_out = error == beast::error::timeout;
    co_return answer;
  }
  answer.head = std::move(head_msg.base());
  co_return answer;
}

asio::awaitable<void> request_pipeline::answer_failure(const upstream_answer& answer, const request& req,
                                                       response_writer& out, exchange_record& record) {
  if (!answer.answered) {
    co_await respond_error(out, answer.timed_out ? 504 : 502,
                           answer.timed_out ? "GitHub did not answer in time" : "GitHub is unreachable",
                           req.version(), req.keep_alive(), record);
  } else {
    co_await respond_error(out, answer.timed_out ? 504 : 502,
                           answer.timed_out ? "GitHub did not answer in time" : "GitHub closed the connection",
                           req.version(), req.keep_alive(), record);
  }
}

asio::awaitable<void> request_pipeline::relay_buffered(upstream_answer& answer, const request& req,
                                                       const routed_path& route, response_writer& out,
                                                       const client_endpoint_info& client,
                                                       std::string_view cache_status) {
  response res{std::move(answer.head)};
  prepare_for_client(res.base(), req, route, client, cache_status);
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  const unsigned status = answer.status;
  const bool bodiless = req.method() == http::verb::head || status == 204 || status == 304 || status < 200;
  if (!bodiless) res.content_length(answer.body.size());
  res.body() = std::move(answer.body);
  co_await out.write(res);
}

asio::awaitable<void> request_pipeline::forward(request& req, const routed_path& route,
                                                response_writer& out,
                                                const client_endpoint_info& client,
                                                exchange_record& record, const store_target* store_key) {
  if (!store_key) record.cache = cache_outcome::bypass;
  const auto resource = credentials::infer_resource(req.method_string(), path_of(route.path_and_query));
  if (co_await refuse_over_budget(req, out, record)) co_return;
  auto up = upstream_request(req, route);
  if (store_key) {
    // Stored bodies are identity or gzip, as the key says.
    up.set(http::field::accept_encoding, store_key->encoding == cache::body_encoding::gzip ? "gzip" : "identity");
  } else if (route.graphql) {
    // GraphQL's rate-limit errors come in a 200's body, which the pool
    // must be able to read.
    up.set(http::field::accept_encoding, "identity");
  }
  const std::string_view not_stored = store_key ? "github-proxy; fwd=miss" : "github-proxy; fwd=bypass";
  // Named, not temporaries: GCC 12 mishandles temporaries in co_await
  // arguments (PR 100611 and relatives).
  const relay_context relay{out, req, route, client, not_stored};
  const credential_hook no_hook;
  auto pooled = co_await send_pooled(up, route.graphql, resource, std::string_view{}, no_hook, relay, record);
  if (pooled.refused) {
    co_await answer_refusal(pooled, req, out, record);
    co_return;
  }
  auto& answer = pooled.answer;
  if (answer.streamed) co_return;
  if (!answer.answered || answer.failed) {
    co_await answer_failure(answer, req, out, record);
    co_return;
  }
  if (store_key && req.method() == http::verb::get &&
      cache::response_storable(answer.status, answer.head, answer.body.size(), shared_.cfg->cache.max_object_bytes)) {
    const auto e = cache::make_entry(answer.status, answer.head, answer.body, pooled.credential,
                                     pooled.authorization, up[http::field::accept],
                                     std::chrono::system_clock::now());
    co_await relay_buffered(answer, req, route, out, client, "github-proxy; fwd=miss; stored");
    co_await store(store_key->key, e);
    co_return;
  }
  co_await relay_buffered(answer, req, route, out, client, not_stored);
}

}  // namespace github_proxy::proxy
