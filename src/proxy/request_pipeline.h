// The request pipeline: authenticate → authorise → forward → respond.
//
// Threading: `shared_state` is built once and read by every I/O thread (the
// registry store inside it is thread-safe). Each I/O thread owns one
// `request_pipeline` with its own upstream connection pools and metric
// children, so the request path takes no lock shared between threads.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <spdlog/logger.h>

#include "github_proxy/auth/registry.h"
#include "github_proxy/common/http.h"
#include "github_proxy/config/config.h"
#include "github_proxy/metrics/metrics.h"
#include "github_proxy/metrics/request_counters.h"
#include "github_proxy/upstream/connection_pool.h"
#include "github_proxy/upstream/endpoint.h"
#include "proxy/forwarding.h"

namespace github_proxy::proxy {

// The credential requests are sent with. The foundation uses the first
// configured token; the credential pool replaces this.
struct upstream_credential {
  std::string name;
  std::string authorization;  // "token …" — never logged
};

struct shared_state {
  const config::config* cfg = nullptr;
  upstream::endpoint rest;
  upstream::endpoint graphql;
  std::string rest_url_prefix;  // rest.url_prefix(), computed once
  boost::asio::ssl::context* upstream_tls = nullptr;
  auth::registry_store* registry = nullptr;
  metrics::families* metrics = nullptr;
  std::shared_ptr<spdlog::logger> log;         // operational messages
  std::shared_ptr<spdlog::logger> access_log;  // one line per request; null = off
  upstream_credential credential;
  std::string user_agent;  // "github-proxy/VERSION"
};

// What the access log and the metrics record of one request.
struct exchange_record {
  std::string_view client = "unauthenticated";
  unsigned status = 0;
  metrics::cache_outcome cache = metrics::cache_outcome::bypass;
  std::string_view credential;
  double upstream_seconds = -1;  // < 0: nothing was sent upstream
  std::string github_request_id;
};

class request_pipeline {
 public:
  request_pipeline(const shared_state& shared, boost::asio::any_io_executor executor);
  ~request_pipeline();

  // Answers `req` through `out`. Returns normally even when the client went
  // away; `out` reports write errors to the session.
  boost::asio::awaitable<void> handle(request& req, response_writer& out,
                                      const client_endpoint_info& client);

  // Closes idle upstream connections; called at shutdown before the
  // io_context goes away.
  void close_idle_connections();

  // An error answer produced by the session itself (400, 413, 431), with
  // the same metrics and access log as any other request.
  boost::asio::awaitable<void> reject_malformed(unsigned status, std::string_view message,
                                                response_writer& out,
                                                const client_endpoint_info& client);

 private:
  boost::asio::awaitable<void> forward(request& req, const routed_path& route,
                                       response_writer& out, const client_endpoint_info& client,
                                       exchange_record& record);
  boost::asio::awaitable<void> respond_error(response_writer& out, unsigned status,
                                             std::string_view message, unsigned version,
                                             bool keep_alive, exchange_record& record);
  void finish(const request& req, const exchange_record& record,
              std::chrono::steady_clock::time_point started);

  const shared_state& shared_;
  std::unique_ptr<upstream::connection_pool> rest_pool_;
  std::unique_ptr<upstream::connection_pool> graphql_pool_;  // null when same origin
  metrics::request_counters counters_;
};

}  // namespace github_proxy::proxy
