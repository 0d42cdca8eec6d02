// The daemon's I/O: one io_context and thread per core, each with its own
// TCP acceptor on the shared port (SO_REUSEPORT lets the kernel spread
// connections), its own request pipeline and upstream pools; an optional
// Unix socket; a control thread of its own for the admin listener, signals
// and the shutdown drain, and a background thread for registry reloads: a
// slow reload or a burst of scrapes never takes time from a client request,
// and neither a stalled client thread nor a slow reload fails a probe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <spdlog/logger.h>

#include "github_proxy/status/status_board.h"
#include "proxy/request_pipeline.h"
#include "server/body_budget.h"

namespace github_proxy::server {

struct server_options {
  const config::config* cfg = nullptr;       // listen.threads already resolved (> 0)
  proxy::shared_state* shared = nullptr;     // outlives the server
  std::shared_ptr<spdlog::logger> log;
  // /readyz: true when the registry is loaded (the server adds "not
  // draining"). GitHub's state is deliberately not part of it.
  std::function<bool()> ready;
  // SIGHUP: re-read secrets (credential token files, App keys).
  std::function<void()> on_hangup;
  status::status_board* status = nullptr;  // the admin listener's status page; null: none
};

class server {
 public:
  // Client connections open now (github_proxy_client_connections).
  std::size_t open_connections() const { return open_connections_.load(std::memory_order_relaxed); }
  explicit server(server_options options);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds every listener. On failure returns a message naming the address.
  std::optional<std::string> bind();
  std::uint16_t port() const { return port_; }
  std::uint16_t admin_port() const { return admin_port_; }

  // The control thread's io_context (admin, signals, drain). It never
  // serves a client request.
  boost::asio::io_context& control_context();
  // The background thread's io_context, for slow periodic work (registry
  // reloads): neither clients nor probes wait behind it.
  boost::asio::io_context& background_context() { return background_; }

  // Serves until SIGTERM/SIGINT, then drains within listen.shutdown_timeout.
  // Returns the process exit code.
  int run();

 private:
  struct worker;
  struct listeners;
  void wait_for_signal();
  void begin_shutdown();
  // Destroys the coroutine frames left on the workers' io_contexts (the
  // threads have stopped) before anything they use goes; see server.cc.
  void destroy_frames();

  server_options options_;
  // Before the workers: session frames still count themselves out of these,
  // and TLS sessions use the context, when destroy_frames ends them.
  std::atomic<std::size_t> open_connections_{0};
  std::unique_ptr<body_budget> bodies_;  // request bodies in flight, all threads
  std::atomic<bool> draining_{false};
  // Set before the threads start; posts the end of the drain to the control thread.
  std::function<void()> drained_;
  std::unique_ptr<boost::asio::ssl::context> client_tls_;
  std::vector<std::unique_ptr<worker>> workers_;
  boost::asio::io_context control_{1};
  std::thread control_thread_;
  boost::asio::io_context background_{1};
  std::thread background_thread_;
  std::unique_ptr<listeners> listeners_;

  std::uint16_t port_ = 0;
  std::uint16_t admin_port_ = 0;
};

}  // namespace github_proxy::server
