// The lifecycle of a GitHub App installation token (docs/contract.md §7,
// docs/github-api.md §5): a state machine without I/O that decides when to
// renew, keeps one renewal in flight at a time, and backs off after a failed
// one. The coroutine around it (later) signs the JWT, POSTs
// /app/installations/{id}/access_tokens and reports back; requests that
// find no usable token wait for that renewal.
//
//   none ──try_begin_renewal──▶ renewing ──succeeded──▶ valid
//                                  │                     │ now ≥ renew_at
//                                  │ failed              ▼
//                                  ▼               expiring_soon ─try_begin_renewal─▶ (renewing;
//   failed ◀──────────────────── backoff              still usable while it runs)
//     └── next_attempt_at passed: try_begin_renewal ──▶ renewing
//   invalidate (401 with the current token) drops the token: none/failed.
//   A renewal that brings a token already due for renewal (inside its expiry
//   margin, or past renew_at) backs off like a failed one; the token is
//   still used while usable.
//
// Pass GitHub's time as `now` (clock_skew::server_now): `expires_at` is
// GitHub's clock.
//
// Threading: not synchronised; the owner serialises calls (one mutex or
// strand per App credential). Errors never contain the token.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

#include "github_proxy/credentials/clock.h"

namespace github_proxy::credentials {

enum class token_state { none, renewing, valid, expiring_soon, failed };
std::string_view to_string(token_state s);

struct installation_token_policy {
  // Renew this long before expires_at, or once this share of the lifetime
  // has passed, whichever comes first (a 1 h token: at 48 min).
  std::chrono::seconds renew_before{5 * 60};
  unsigned renew_at_percent = 80;
  // A token this close to its expiry is no longer handed to requests (the
  // request may take that long, and clocks disagree by a second or two).
  std::chrono::seconds expiry_margin{30};
  // After a failed renewal: wait `backoff_initial`, doubling per failure in
  // a row, at most `backoff_max`.
  std::chrono::seconds backoff_initial{5};
  std::chrono::seconds backoff_max{5 * 60};
};

struct issued_token {
  std::string token;  // "ghs_…"
  time_point expires_at;
};

// The answer to POST /app/installations/{id}/access_tokens: 201 with
// {"token":"ghs_…","expires_at":"2024-11-25T01:00:02Z",…}. Errors:
// token_rejected (another status), token_response_malformed (not JSON, over
// 1 MiB, no token, a token unfit for a header, no RFC 3339 expires_at).
boost::system::result<issued_token> parse_installation_token(unsigned status, std::string_view body);

// A token handed to one request. `generation` identifies it for `invalidate`.
struct token_lease {
  std::string token;
  std::uint64_t generation = 0;
  time_point issued_at;  // our `now` at renewal: a 401 right after issuance may be replication delay
};

class installation_token {
 public:
  explicit installation_token(installation_token_policy policy = {});

  token_state state(time_point now) const;

  enum class access {
    use,          // a usable token: current(now)
    wait,         // none usable, but a renewal runs or may start now: wait for it
    unavailable,  // none usable, renewals back off after failures: skip this credential
  };
  access check(time_point now) const;

  // The token for a request, when usable (not within expiry_margin of its end).
  std::optional<token_lease> current(time_point now) const;

  // Should a renewal start now: no usable token or renew_at reached, none in
  // flight, and no backoff pending.
  bool renewal_due(time_point now) const;
  // Claims the single renewal slot when renewal_due; false otherwise (the
  // caller then waits for the renewal already in flight, or gives up).
  bool try_begin_renewal(time_point now);
  // A token already due for renewal is kept (unless the one held lasts
  // longer) but schedules the next attempt like renewal_failed.
  void renewal_succeeded(issued_token token, time_point now);
  void renewal_failed(time_point now);

  // A request using token `generation` got a 401: drop that token (a newer
  // one is left alone) so that the next check renews.
  void invalidate(std::uint64_t generation);

  bool renewal_in_flight() const { return in_flight_; }
  std::optional<time_point> renew_at() const;         // when holding a token
  std::optional<time_point> next_attempt_at() const;  // while backing off

 private:
  bool usable(time_point now) const;
  void adopt(issued_token token, time_point renew_at, time_point now);
  bool backing_off(time_point now) const { return next_attempt_ && *next_attempt_ > now; }

  installation_token_policy policy_;
  std::optional<issued_token> token_;
  std::uint64_t generation_ = 0;
  time_point issued_at_{};
  time_point renew_at_{};
  bool in_flight_ = false;
  unsigned failures_ = 0;  // failed renewals in a row
  std::optional<time_point> next_attempt_;
};

}  // namespace github_proxy::credentials
