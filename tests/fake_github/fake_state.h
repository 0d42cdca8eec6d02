// Everything the fake remembers between requests. Each member is internally
// synchronised; see its header for the guarantees.
#pragma once

#include <cstddef>

#include "accounts.h"
#include "dataset.h"
#include "faults.h"
#include "observations.h"
#include "rate_limits.h"

namespace fake_github {

struct fake_state {
  fake_state(limit_table authenticated_defaults, std::size_t request_log_capacity)
      : limits(authenticated_defaults), observed(request_log_capacity) {}

  // POST /_fake/reset: limits, counters, request log, faults, data changes
  // and revocations back to the start-up state.
  void reset() {
    limits.reset();
    observed.reset();
    faults.clear();
    data.reset();
    revoked.reset();
  }

  dataset data;
  rate_limits limits;
  fault_table faults;
  observations observed;
  revocations revoked;
};

}  // namespace fake_github
