// Everything the fake remembers between requests. Each member is internally
// synchronised; see its header for the guarantees.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "accounts.h"
#include "dataset.h"
#include "faults.h"
#include "gates.h"
#include "github_apps.h"
#include "observations.h"
#include "rate_limits.h"
#include "secondary_limits.h"

namespace fake_github {

// GraphQL points per document (docs/github-api.md §3.4: queries 1, mutations 5), settable
// through POST /_fake/graphql_cost.
struct graphql_costs {
  static constexpr int default_query = 1;
  static constexpr int default_mutation = 5;
  std::atomic<int> query{default_query};
  std::atomic<int> mutation{default_mutation};
};

struct fake_state {
  fake_state(limit_table authenticated_defaults, secondary_limit_settings secondary_defaults,
             std::size_t request_log_capacity, std::int64_t installation_token_ttl)
      : limits(authenticated_defaults),
        secondary(secondary_defaults),
        observed(request_log_capacity),
        apps(installation_token_ttl) {}

  // POST /_fake/reset: limits (primary, and secondary: settings back to the
  // command line's, windows and blocks forgotten), counters, request log, faults (and the
  // answers held at gates, released), data changes,
  // revocations, control-API Apps, issued tokens, the token TTL, the clock
  // offset and GraphQL costs back to the start-up state.
  void reset() {
    limits.reset();
    secondary.reset();
    observed.reset();
    faults.clear();
    gates.release_all();
    data.reset();
    revoked.reset();
    apps.reset();
    clock_offset.store(0);
    graphql.query.store(graphql_costs::default_query);
    graphql.mutation.store(graphql_costs::default_mutation);
  }

  dataset data;
  rate_limits limits;
  secondary_limits secondary;
  fault_table faults;
  gate_table gates;
  observations observed;
  revocations revoked;
  github_apps apps;
  // Seconds added to the app's clock (POST /_fake/clock): rate-limit windows,
  // token expiry, JWT checks, Date and request ids all read the shifted time.
  std::atomic<std::int64_t> clock_offset{0};
  graphql_costs graphql;
};

}  // namespace fake_github
