// The admin listener (docs/contract.md §8): /healthz, /readyz, /metrics, and
// the status page at / (or /status) and /status.json. Separate from
// the client port so that probes and scrapes never need a proxy token.
#pragma once

#include <functional>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "github_proxy/metrics/metrics.h"
#include "github_proxy/status/status_board.h"

namespace github_proxy::server {

struct admin_handlers {
  metrics::families* metrics = nullptr;
  std::function<bool()> ready;
  status::status_board* status = nullptr;  // null: no status page (404)
};

// Accepts admin connections until the acceptor is closed.
boost::asio::awaitable<void> run_admin(boost::asio::ip::tcp::acceptor& acceptor, admin_handlers handlers);

}  // namespace github_proxy::server
