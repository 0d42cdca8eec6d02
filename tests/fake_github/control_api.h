// The test-control endpoints under /_fake/ (never a GitHub path): reset,
// data changes, counters, limits, revocations, faults, the request log,
// GitHub Apps and token lifetime, the clock offset, GraphQL costs and the
// secondary limits.
// Not counted, no authentication. See README.md for the contract.
#pragma once

#include <cstdint>
#include <string_view>

#include "fake_state.h"
#include "http_types.h"

namespace fake_github {

inline bool is_control_target(std::string_view target) {
  return target == "/_fake" || target.starts_with("/_fake/") || target.starts_with("/_fake?");
}

outgoing_response handle_control(const request_t& request, fake_state& state, std::int64_t now);

}  // namespace fake_github
