// The fake GitHub as a function from a parsed request to a response: faults,
// User-Agent and credential checks, routing, ETags and conditionals, rate
// limits, encoding, and the record of what was seen. No sockets here; the
// session (server.h) does the I/O.
//
// Thread-safety: plan() and handle() may run concurrently on any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "fake_state.h"
#include "faults.h"
#include "http_types.h"

namespace fake_github {

struct app_config {
  bool ghes = false;  // REST under /api/v3, GraphQL at /api/graphql
  std::string origin;  // --origin; empty: the listening socket's own URL, never Host
  limit_table limits = default_limits();
  secondary_limit_settings secondary;  // --secondary-*
  bool log_requests = true;
  std::size_t request_log_capacity = 1000;
  std::vector<app_registration> apps;          // --app-key: verify App JWTs against these
  std::int64_t installation_token_ttl = 3600;  // --installation-token-ttl
};

class app {
 public:
  // Unix seconds; injectable for tests. The control API's offset
  // (POST /_fake/clock) is added to it.
  using clock_fn = std::function<std::int64_t()>;

  explicit app(app_config config, clock_fn clock = {});

  // Takes one use of a matching fault (control requests never match). The
  // session waits out `latency` before calling handle().
  fault_decision plan(const request_t& request);

  outgoing_response handle(const request_t& request, const connection_info& connection,
                           const fault_decision& fault);

  fake_state& state() { return state_; }

 private:
  struct exchange;
  struct route_verdict;

  outgoing_response serve_api(exchange& x, const fault_decision& fault);
  outgoing_response serve_route(exchange& x);
  std::optional<outgoing_response> refuse_secondary(exchange& x);
  outgoing_response serve_rate_limit(exchange& x);
  outgoing_response rate_limited(exchange& x, const rate_snapshot& snapshot, bool graphql);
  outgoing_response finish(exchange& x, route_verdict& v);
  void record(const exchange& x, unsigned status, std::int64_t credits);

  app_config config_;
  clock_fn clock_;
  fake_state state_;
};

}  // namespace fake_github
