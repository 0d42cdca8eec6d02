#include "proxy/app_token_issuer.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include "github_proxy/upstream/connection_pool.h"
#include "proxy/forwarding.h"

namespace github_proxy::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// GitHub's answer is under 2 KiB; anything near this is not GitHub.
constexpr std::uint64_t max_answer_bytes = 1024 * 1024;

class app_token_issuer final : public credentials::token_issuer {
 public:
  app_token_issuer(const upstream::endpoint& rest, asio::ssl::context* tls, const config::upstream_config& cfg,
                   std::string user_agent)
      : rest_(rest), tls_(tls), cfg_(cfg), user_agent_(std::move(user_agent)) {}

  asio::awaitable<credentials::issuer_response> request_installation_token(std::string_view installation_id,
                                                                          std::string jwt) override {
    credentials::issuer_response out;
    auto executor = co_await asio::this_coro::executor;
    upstream::pool_limits limits;
    limits.max_connections = 1;
    limits.connect_timeout = cfg_.connect_timeout;
    upstream::connection_pool pool(executor, rest_, tls_, limits);
    const auto deadline = std::chrono::steady_clock::now() + cfg_.request_timeout;
    auto got = co_await pool.acquire(deadline);
    if (!got.conn) {
      out.error = got.error == upstream::acquire_error::timeout ? asio::error::timed_out
                                                                : asio::error::connection_refused;
      co_return out;
    }
    auto conn = std::move(got.conn);
    conn->lowest_layer().expires_at(deadline);

    http::request<http::empty_body> req{http::verb::post,
                                        upstream_target(rest_.base_path, "/app/installations/" +
                                                                              std::string(installation_id) +
                                                                              "/access_tokens"),
                                        11};
    req.set(http::field::host, rest_.host_header);
    req.set(http::field::user_agent, user_agent_);
    req.set(http::field::accept, "application/vnd.github+json");
    req.set(http::field::authorization, "Bearer " + jwt);
    req.content_length(0);
    req.keep_alive(false);

    http::response_parser<http::string_body> parser;
    parser.body_limit(max_answer_bytes);
    auto [wec, wn] = co_await conn->visit(
        [&](auto& stream) { return http::async_write(stream, req, asio::as_tuple(asio::use_awaitable)); });
    beast::error_code ec = wec;
    if (!ec) {
      auto [rec, rn] = co_await conn->visit([&](auto& stream) {
        return http::async_read(stream, conn->buffer(), parser, asio::as_tuple(asio::use_awaitable));
      });
      ec = rec;
    }
    pool.release(std::move(conn), false);
    pool.close_idle();
    if (ec) {
      out.error = ec;
      co_return out;
    }
    auto& res = parser.get();
    out.status = res.result_int();
    out.body = std::move(res.body());
    if (auto date = res.find(http::field::date); date != res.end()) out.date = std::string(date->value());
    co_return out;
  }

 private:
  const upstream::endpoint& rest_;
  asio::ssl::context* tls_;
  const config::upstream_config& cfg_;
  std::string user_agent_;
};

}  // namespace

std::shared_ptr<credentials::token_issuer> make_app_token_issuer(const upstream::endpoint& rest,
                                                                asio::ssl::context* tls,
                                                                const config::upstream_config& cfg,
                                                                std::string user_agent) {
  return std::make_shared<app_token_issuer>(rest, tls, cfg, std::move(user_agent));
}

}  // namespace github_proxy::proxy
