// The admin listener (docs/contract.md §8): /healthz, /readyz, /metrics. Separate from
// the client port so that probes and scrapes never need a proxy token.
#pragma once

#include <functional>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "github_proxy/metrics/metrics.h"

namespace github_proxy::server {

struct admin_handlers {
  metrics::families* metrics = nullptr;
  std::function<bool()> ready;
};

// Accepts admin connections until the acceptor is closed.
boost::asio::awaitable<void> run_admin(boost::asio::ip::tcp::acceptor& acceptor, admin_handlers handlers);

}  // namespace github_proxy::server
