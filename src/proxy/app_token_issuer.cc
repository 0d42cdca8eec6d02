#include "proxy/app_token_issuer.h"

#include <boost/asio/this_coro.hpp>
#include <boost/beast/http.hpp>
#include <openssl/crypto.h>

#include "github_proxy/upstream/client.h"
#include "proxy/routing.h"

namespace github_proxy::proxy {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// GitHub's answer is under 2 KiB; anything near this is not GitHub.
constexpr std::size_t max_answer_bytes = 1024 * 1024;

class app_token_issuer final : public credentials::token_issuer {
 public:
  app_token_issuer(const upstream::endpoint& rest, asio::ssl::context* tls, const config::upstream_config& cfg,
                   std::string user_agent)
      : rest_(rest), tls_(tls), cfg_(cfg), user_agent_(std::move(user_agent)) {}

  asio::awaitable<credentials::issuer_response> request_installation_token(std::string_view installation_id,
                                                                          std::string jwt) override {
    request req{http::verb::post,
                upstream_target(rest_.base_path, "/app/installations/" + std::string(installation_id) +
                                                     "/access_tokens"),
                11};
    req.set(http::field::authorization, "Bearer " + jwt);
    co_return co_await send_alone(std::move(req));
  }

  // GET /rate_limit costs no quota (docs/github-api.md §3.2): the pool asks
  // whether GitHub takes a token it answered 401 "Bad credentials" before.
  asio::awaitable<credentials::issuer_response> probe_credential(std::string authorization) override {
    request req{http::verb::get, upstream_target(rest_.base_path, "/rate_limit"), 11};
    req.set(http::field::authorization, authorization);
    OPENSSL_cleanse(authorization.data(), authorization.size());
    co_return co_await send_alone(std::move(req));
  }

 private:
  // One request over a client of its own on the caller's executor, with one
  // connection: renewals (about hourly per App) and probes (at most one a
  // minute per broken token) are too rare to keep one open.
  asio::awaitable<credentials::issuer_response> send_alone(request req) {
    credentials::issuer_response out;
    upstream::client_options options;
    options.max_connections = 1;
    options.connect_timeout = cfg_.connect_timeout;
    options.request_timeout = cfg_.request_timeout;
    const auto executor = co_await asio::this_coro::executor;
    auto client = upstream::make_pooled_client(executor, rest_, rest_, tls_, options);
    req.set(http::field::host, rest_.host_header);
    req.set(http::field::user_agent, user_agent_);
    req.set(http::field::accept, "application/vnd.github+json");
    req.keep_alive(false);

    auto answer = co_await client->send(req, upstream::api::rest);
    if (!answer.answered) {
      out.error = answer.timed_out ? asio::error::timed_out : asio::error::connection_refused;
      co_return out;
    }
    std::string body;
    const auto error = co_await upstream::read_whole(*answer.body, body, max_answer_bytes, answer.content_length);
    answer.body.reset();
    client->close_idle();
    if (error) {
      out.error = error;
      co_return out;
    }
    out.status = answer.head.result_int();
    out.body = std::move(body);
    if (auto date = answer.head.find(http::field::date); date != answer.head.end()) {
      out.date = std::string(date->value());
    }
    co_return out;
  }

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
