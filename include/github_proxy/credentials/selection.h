// Which credential sends the next request for a resource (docs/contract.md §7
// "Selection"): a pure function over the credentials' current views.
//
// Rules:
//  - Parked credentials (exhausted for this resource, cooling, broken) are
//    skipped.
//  - A credential with `max_concurrent` requests in flight (all resources;
//    GitHub's secondary limit allows 100) is skipped.
//  - Ramp-up: for `ramp_up` after a bucket returns from being parked (its
//    spent window reset, or the credential's cool-down ended:
//    bucket_view::returned_at), the requests in flight of that resource are
//    capped at `ramp_up_start`, growing linearly to `max_concurrent`
//    (concurrency_cap). Credentials whose windows reset at the same moment
//    would otherwise all receive every waiting request at once, which is
//    what GitHub's secondary limits punish. Over the cap: busy.
//  - headroom = remaining − in flight for this resource. A credential is used
//    only while headroom > reserve. The reserve is hard: when every
//    credential is at its reserve the request is refused (429) rather than
//    dipping into it. A soft reserve would change nothing but the order in
//    which credentials drain (most-headroom-first already spreads the load);
//    a hard one keeps credits for whoever else spends from the same bucket
//    (a PAT's owner, another service on the same App installation).
//    reserve 0 uses every credit.
//  - The preferred credential (the one that fetched a cache entry, whose
//    ETag GitHub will match) wins whenever it is usable with headroom.
//  - Otherwise the most headroom wins; ties go to the credential selected
//    longest ago (`last_selected`, a stamp the pool keeps), which spreads
//    equal credentials round-robin.
//  - A last-resort candidate (a spent bucket that a free revalidation may
//    still use: for_free_revalidation) is chosen only when no credential has
//    headroom and none is busy; among several, the preferred one, else the
//    one selected longest ago.
//  - When none is usable the outcome says why: `busy` when some credential
//    will become usable as soon as one of its requests in flight completes
//    (concurrency cap, or headroom taken by requests in flight: the caller
//    waits for a completion), `exhausted` otherwise, with `retry_at` the
//    earliest instant a credential is expected back (its reset or cool-down
//    end: the 429's Retry-After and X-RateLimit-Reset).
#pragma once

#include <chrono>
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
  // How long a returned bucket's cap takes to grow from ramp_up_start to
  // max_concurrent; 0 turns the ramp off.
  std::chrono::seconds ramp_up{10};
  std::uint32_t ramp_up_start = 2;
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
  std::optional<time_point> returned_at;          // bucket_view::returned_at (ramp-up)
  // Usable only when no other credential is (for_free_revalidation).
  bool last_resort = false;
};

candidate make_candidate(const credential_limits& limits, resource r, time_point now,
                         std::uint64_t last_selected);

// How a free revalidation (pool::acquire's `free_revalidation`: GitHub is
// expected to answer a 304, which costs nothing) sees a candidate: a spent
// bucket — exhausted, or every credit held by requests in flight — is no
// longer skipped but becomes a last resort, since GitHub may refuse even a
// conditional request when no credit is left (docs/github-api.md §1.2, §11;
// the fake does). Select free revalidations with reserve 0: they spend no
// credit, so the reserve does not apply. Cooling and broken candidates stay
// skipped.
candidate for_free_revalidation(candidate c);

// The requests of the candidate's resource that may be in flight at `now`:
// max_concurrent, or less during the ramp-up after its bucket returned:
// ramp_up_start + (max_concurrent − ramp_up_start) × elapsed / ramp_up,
// at least 1.
std::uint32_t concurrency_cap(const candidate& c, const selection_policy& policy, time_point now);

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
