// Which credential sends the next request for a resource (docs/contract.md §7
// "Selection"): a pure function over the credentials' current views.
//
// Rules:
//  - Parked credentials (exhausted for this resource, cooling, broken) are
//    skipped.
//  - A credential with `max_concurrent` requests in flight (all resources;
//    GitHub's secondary limit allows 100) is skipped.
//  - headroom = remaining − in flight for this resource. A credential is used
//    only while headroom > reserve. The reserve is hard: when every
//    credential is at its reserve the request is refused (429) rather than
//    dipping into it. A soft reserve would change nothing but the order in
//    which credentials drain (most-headroom-first already spreads the load);
//    a hard one keeps credits for whoever else spends from the same bucket
//    (a PAT's owner, another service on the same App installation).
//    reserve 0 uses every credit.
//  - The preferred credential (the one that fetched a cache entry, whose
//    ETag GitHub will match) wins whenever it is usable.
//  - Otherwise the most headroom wins; ties go to the credential selected
//    longest ago (`last_selected`, a stamp the pool keeps), which spreads
//    equal credentials round-robin.
//  - When none is usable the outcome says why: `busy` when some credential
//    will become usable as soon as one of its requests in flight completes
//    (concurrency cap, or headroom taken by requests in flight: the caller
//    waits for a completion), `exhausted` otherwise, with `retry_at` the
//    earliest instant a credential is expected back (its reset or cool-down
//    end: the 429's Retry-After and X-RateLimit-Reset).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "github_proxy/credentials/clock.h"
#include "github_proxy/credentials/rate_limit_state.h"
#include "github_proxy/credentials/resource.h"

namespace github_proxy::credentials {

struct selection_policy {
  // Credits of each bucket left alone. Configure it per resource: a reserve
  // of 100 suits core (5000/h) but would disable search (30/min).
  std::int64_t reserve = 0;
  std::uint32_t max_concurrent = 100;
};

// One credential as selection sees it, for the request's resource.
struct candidate {
  credential_state state = credential_state::ok;  // bucket_view::state
  std::optional<time_point> available_at;         // bucket_view::available_at
  std::int64_t remaining = 0;                     // bucket_view::remaining
  std::optional<time_point> reset;                // bucket_view::reset
  std::uint32_t in_flight_resource = 0;           // bucket_view::in_flight
  std::uint32_t in_flight_total = 0;              // credential_limits::in_flight()
  std::uint64_t last_selected = 0;                // pool's stamp; smaller = longer ago
};

candidate make_candidate(const credential_limits& limits, resource r, time_point now,
                         std::uint64_t last_selected);

enum class selection_outcome { selected, busy, exhausted };

struct selection {
  selection_outcome outcome = selection_outcome::exhausted;
  std::size_t index = 0;  // into the candidates, when selected
  // When exhausted: the earliest expected return of a credential. Empty when
  // none will come back by itself (all broken, or the reserve covers a
  // whole window): the caller answers with its own default.
  std::optional<time_point> retry_at;
};

selection select_credential(std::span<const candidate> candidates, const selection_policy& policy,
                            std::optional<std::size_t> preferred, time_point now);

}  // namespace github_proxy::credentials
