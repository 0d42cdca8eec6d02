#include "server/server.h"

#include <filesystem>
#include <list>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server/admin.h"
#include "server/session.h"
#include "common/log_escaped.h"
#include "common/tls_warmup.h"

namespace github_proxy::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// An io_context whose pending handlers, and the coroutine frames they own,
// can be destroyed before the io_context itself is: the first half of what
// ~execution_context does (shutdown(), protected for derived contexts; asio's
// services take a second shutdown, e.g. resolver_service_base and
// select_reactor shut down again in their destructors). Afterwards the
// io_context is still a valid object: destroying an I/O object bound to it
// is harmless, and a handler posted to it is destroyed with it.
class frame_owning_context : public asio::io_context {
 public:
  using io_context::io_context;
  void destroy_pending_handlers() { shutdown(); }
};

}  // namespace

// Teardown (destroy_frames, then the members in reverse order): a worker's
// coroutine frames use its pipeline and session list, and the pipeline owns
// sockets and timers bound to the io_context. So the frames go first, while
// every worker's io_context, pipeline and session list still exists; then
// the pipeline, then the io_context.
struct server::worker {
  frame_owning_context context{1};
  std::unique_ptr<proxy::request_pipeline> pipeline;
  std::list<session_handle*> sessions;
  std::optional<tcp::acceptor> acceptor;
  std::thread thread;
};

struct server::listeners {
  std::optional<local::acceptor> unix_acceptor;
  std::optional<tcp::acceptor> admin;
  std::optional<asio::signal_set> signals;
  // The drain's wait, on the control thread: expires at shutdown_timeout,
  // cancelled when the last connection closes.
  std::optional<asio::steady_timer> drain_wait;
};

namespace {

// Backs off after an accept error such as EMFILE instead of spinning.
asio::awaitable<void> pause_after_accept_error(const asio::any_io_executor& executor) {
  asio::steady_timer timer(executor, std::chrono::milliseconds(50));
  co_await timer.async_wait(use_tuple);
}

std::optional<std::string> open_tcp(tcp::acceptor& acceptor, const tcp::endpoint& endpoint,
                                    bool reuse_port) {
  beast::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && reuse_port) {
    const int one = 1;
    if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      ec.assign(errno, boost::system::system_category());
    }
  }
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec.message();
  return std::nullopt;
}

}  // namespace

server::server(server_options options) : options_(std::move(options)) {
  const auto& cfg = *options_.cfg;
  if (cfg.listen.tls) {
    client_tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    client_tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                             asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                             asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    client_tls_->use_certificate_chain_file(cfg.listen.tls->cert_file);
    client_tls_->use_private_key_file(cfg.listen.tls->key_file, asio::ssl::context::pem);
    common::warm_certificate_caches(client_tls_->native_handle());  // shared by the I/O threads
  }
  for (unsigned i = 0; i < cfg.listen.threads; ++i) {
    auto w = std::make_unique<worker>();
    w->pipeline = std::make_unique<proxy::request_pipeline>(
        *options_.shared, w->context.get_executor(),
        proxy::make_upstream_client(*options_.shared, w->context.get_executor()));
    workers_.push_back(std::move(w));
  }
  listeners_ = std::make_unique<listeners>();
}

server::~server() {
  if (control_thread_.joinable()) {
    control_.stop();
    control_thread_.join();
  }
  if (background_thread_.joinable()) {
    background_.stop();
    background_thread_.join();
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) {
      w->context.stop();
      w->thread.join();
    }
  }
  destroy_frames();
}

void server::destroy_frames() {
  // Every worker's frames end before any worker's io_context goes. The
  // flight table and the credential pool are shared by all I/O threads
  // (docs/architecture.md "Threading model"), so a frame ending on one
  // thread may post to another's io_context: a leader wakes its followers,
  // a renewal the pool's waiters, each on its own executor. Those only post
  // to frames still alive (flight_table.cc finish, wake_list.cc), and here
  // every io_context exists whatever order the frames end in. The threads
  // have stopped: this runs alone.
  for (auto& w : workers_) w->context.destroy_pending_handlers();
}

asio::io_context& server::control_context() { return control_; }

std::optional<std::string> server::bind() {
  const auto& cfg = *options_.cfg;
  beast::error_code ec;
  const auto address = asio::ip::make_address(cfg.listen.address, ec);
  if (ec) return "listen.address: " + cfg.listen.address + ": " + ec.message();

  std::uint16_t port = cfg.listen.port;
  for (auto& w : workers_) {
    w->acceptor.emplace(w->context);
    if (auto err = open_tcp(*w->acceptor, {address, port}, workers_.size() > 1)) {
      return "listen " + cfg.listen.address + ":" + std::to_string(port) + ": " + *err;
    }
    port = w->acceptor->local_endpoint().port();  // port 0: the others share the chosen one
  }
  port_ = port;

  if (!cfg.listen.unix_socket.empty()) {
    std::error_code remove_ec;
    std::filesystem::remove(cfg.listen.unix_socket, remove_ec);  // a stale socket from a crash
    auto& acceptor = listeners_->unix_acceptor.emplace(control_context());
    acceptor.open(local(), ec);
    if (!ec) acceptor.bind(local::endpoint(cfg.listen.unix_socket), ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return "listen.unix_socket " + cfg.listen.unix_socket + ": " + ec.message();
  }

  const auto admin_address = asio::ip::make_address(cfg.admin.address, ec);
  if (ec) return "admin.address: " + cfg.admin.address + ": " + ec.message();
  auto& admin = listeners_->admin.emplace(control_context());
  if (auto err = open_tcp(admin, {admin_address, cfg.admin.port}, false)) {
    return "admin " + cfg.admin.address + ":" + std::to_string(cfg.admin.port) + ": " + *err;
  }
  admin_port_ = admin.local_endpoint().port();
  return std::nullopt;
}

int server::run() {
  const auto& cfg = *options_.cfg;
  bodies_ = std::make_unique<body_budget>(body_budget::for_server(cfg.listen.max_body_bytes, workers_.size()));
  auto make_env = [this, &cfg](worker& w) {
    return session_env{&cfg.listen, w.pipeline.get(), &w.sessions, &draining_, &open_connections_, &drained_,
                       bodies_.get()};
  };
  auto admit = [this, &cfg]() {
    if (open_connections_.fetch_add(1, std::memory_order_relaxed) >= cfg.listen.max_connections) {
      open_connections_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  };

  for (auto& wp : workers_) {
    worker& w = *wp;
    asio::co_spawn(
        w.context,
        [this, &w, make_env, admit]() -> asio::awaitable<void> {
          for (;;) {
            auto [ec, socket] = co_await w.acceptor->async_accept(use_tuple);
            if (ec) {
              if (!w.acceptor->is_open() || ec == asio::error::operation_aborted) co_return;
              co_await pause_after_accept_error(w.context.get_executor());
              continue;
            }
            if (!admit()) continue;  // over max_connections: closed at once
            beast::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            client_endpoint_info info{client_tls_ != nullptr, {}, {}, {}};
            if (const auto peer = socket.remote_endpoint(ignored); !ignored) info.peer = peer.address();
            if (const auto local = socket.local_endpoint(ignored); !ignored) {
              const auto address = local.address();
              info.local_authority = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
              info.local_authority += ":" + std::to_string(local.port());
            }
            beast::tcp_stream stream(std::move(socket));
            if (client_tls_) {
              asio::co_spawn(w.context,
                             run_session(tls_stream(std::move(stream), *client_tls_), make_env(w), std::move(info)),
                             common::log_escaped("client session", options_.log));
            } else {
              asio::co_spawn(w.context, run_session(std::move(stream), make_env(w), std::move(info)),
                             common::log_escaped("client session", options_.log));
            }
          }
        },
        common::log_escaped("TCP accept loop", options_.log));
  }

  if (listeners_->unix_acceptor) {
    asio::co_spawn(
        control_context(),
        [this, make_env, admit]() -> asio::awaitable<void> {
          std::size_t next = 0;
          for (;;) {
            worker& w = *workers_[next++ % workers_.size()];
            auto [ec, socket] = co_await listeners_->unix_acceptor->async_accept(w.context, use_tuple);
            if (ec) {
              if (!listeners_->unix_acceptor->is_open() || ec == asio::error::operation_aborted) co_return;
              co_await pause_after_accept_error(control_context().get_executor());
              continue;
            }
            if (!admit()) continue;
            asio::co_spawn(w.context,
                           run_session(unix_stream(std::move(socket)), make_env(w),
                                       client_endpoint_info{false, "unix", {}, {}}),
                           common::log_escaped("client session", options_.log));
          }
        },
        common::log_escaped("Unix socket accept loop", options_.log));
  }

  admin_handlers handlers{options_.shared->metrics,
                          [this] { return !draining_.load() && options_.ready && options_.ready(); },
                          options_.status};
  asio::co_spawn(control_context(), run_admin(*listeners_->admin, std::move(handlers)),
                 common::log_escaped("admin listener", options_.log));

  drained_ = [this] {
    asio::post(control_, [this] {
      if (listeners_->drain_wait) listeners_->drain_wait->cancel();
    });
  };
  listeners_->signals.emplace(control_context(), SIGTERM, SIGINT, SIGHUP);
  wait_for_signal();

  options_.log->info("github-proxy {} listening on {}:{}{} (admin {}:{}), {} threads",
                     GITHUB_PROXY_VERSION, cfg.listen.address, port_, client_tls_ ? " (TLS)" : "",
                     cfg.admin.address, admin_port_, workers_.size());
  control_thread_ = std::thread([this] { control_.run(); });
  background_thread_ = std::thread([this] {
    // Kept running between reloads (their timer is its only work).
    auto guard = asio::make_work_guard(background_);
    background_.run();
  });
  for (auto& w : workers_) {
    w->thread = std::thread([&ctx = w->context] { ctx.run(); });
  }
  for (auto& w : workers_) w->thread.join();
  control_.stop();
  control_thread_.join();
  background_.stop();
  background_thread_.join();

  // The requests the drain gave up on end here (their frames are
  // destroyed: each client sees its connection close); then the idle
  // upstream sockets and cache handles go, while their io_context exists.
  destroy_frames();
  for (auto& w : workers_) w->pipeline->close_idle_connections();
  options_.log->info("stopped");
  options_.log->flush();
  return 0;
}

void server::wait_for_signal() {
  listeners_->signals->async_wait([this](const beast::error_code& ec, int signo) {
    if (ec) return;
    if (signo == SIGHUP) {
      options_.log->info("SIGHUP received: re-reading secrets");
      if (options_.on_hangup) options_.on_hangup();
      wait_for_signal();
      return;
    }
    options_.log->info("signal {} received: draining", signo);
    begin_shutdown();
  });
}

void server::begin_shutdown() {
  draining_ = true;
  const auto& cfg = *options_.cfg;
  if (listeners_->unix_acceptor) {
    beast::error_code ignored;
    listeners_->unix_acceptor->close(ignored);
    std::filesystem::remove(cfg.listen.unix_socket, ignored);
  }
  for (auto& wp : workers_) {
    asio::post(wp->context, [&w = *wp] {
      beast::error_code ignored;
      w.acceptor->close(ignored);
      // Sessions waiting for a next request end now; the others end after
      // their response (they see draining_ and answer Connection: close).
      for (auto* handle : w.sessions) {
        if (handle->idle) handle->cancel();
      }
    });
  }
  // Wait for requests in flight, at most shutdown_timeout, then stop. The
  // session closing the last connection cancels the wait (drained_, posted
  // here: the count is checked and the wait begun in one handler, so the
  // cancel cannot fall between them).
  asio::co_spawn(
      control_context(),
      [this, deadline = std::chrono::steady_clock::now() + cfg.listen.shutdown_timeout]()
          -> asio::awaitable<void> {
        auto& wait = listeners_->drain_wait.emplace(control_context(), deadline);
        while (open_connections_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
          co_await wait.async_wait(use_tuple);
        }
        if (open_connections_.load() > 0) {
          options_.log->warn("shutdown timeout: closing {} connections", open_connections_.load());
        }
        beast::error_code ignored;
        listeners_->admin->close(ignored);
        for (auto& w : workers_) w->context.stop();
      },
      common::log_escaped("shutdown drain", options_.log));
}

}  // namespace github_proxy::server
