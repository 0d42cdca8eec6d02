// The runtime credential pool (docs/contract.md §7): the credentials of the config, what
// each one's rate limits look like now, which one sends the next request,
// and the GitHub App installation tokens, renewed in the background.
//
// Per request:
//
//   auto got = co_await pool.acquire(resource, preferred, tried);
//   if (!got.granted) → 503 (all_broken: every credential is rejected by
//                       GitHub), 429 (exhausted: Retry-After from retry_at)
//                       or 503 (busy)
//   send upstream with `Authorization: got.granted->authorization`
//   answer:   auto v = pool.complete(*got.granted, status, headers, body);
//             v.kind primary_limit / secondary_limit / bad_credential → retry
//             once on another credential (add this name to `tried`)
//   no answer (connect error, timeout): pool.abandon(*got.granted);
//
// Built from the pure parts beside it: select_credential (selection.h) over
// credential_limits (rate_limit_state.h), classify_response (classify.h),
// the installation_token state machine and app_jwt_signer (app_jwt.h), and
// the probe_schedule of each token (probe_schedule.h).
//
// Isolation: only GitHub's word that a credential is bad ("Bad credentials",
// classify.h rule 1) takes it out of service, so a client calling paths no
// token may call cannot break a credential for everyone; and a broken token
// comes back by itself once GitHub accepts it again (probes), or at SIGHUP.
//
// Time: every instant the pool compares or reports is GitHub's clock (the
// injected clock corrected by the skew learnt from GitHub's `Date` headers),
// because X-RateLimit-Reset and `expires_at` are GitHub's; `now()` gives it.
//
// Threading: every method may be called from any thread at any time. Each
// credential has its own mutex, held only for O(1) work without I/O;
// `acquire` takes them one after the other, never two at once. The caller's
// executor must not run the calling coroutine on two threads at once (an
// io_context per thread, or a strand), as for any Asio coroutine.
// Lifetime: the pool's internals are shared with its leases and with App
// renewals and probes in flight, so any of them may outlive the pool object;
// the `clock` and the executors that acquired must outlive those.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/system/error_code.hpp>

#include "github_proxy/config/config.h"
#include "github_proxy/credentials/classify.h"
#include "github_proxy/credentials/clock.h"
#include "github_proxy/credentials/installation_token.h"
#include "github_proxy/credentials/probe_schedule.h"
#include "github_proxy/credentials/rate_limit_state.h"
#include "github_proxy/credentials/rate_view.h"
#include "github_proxy/credentials/resource.h"
#include "github_proxy/credentials/secondary_limits.h"
#include "github_proxy/credentials/selection.h"
#include "github_proxy/credentials/token_issuer.h"

namespace github_proxy::credentials {

namespace detail {
struct pool_state;
}

// One finished App token renewal, for logs and metrics.
struct renewal_event {
  std::string_view credential;
  boost::system::error_code error;       // empty on success (credential_error, or the issuer's transport error)
  unsigned status = 0;                   // the issuer's HTTP status; 0 without an answer
  std::optional<time_point> expires_at;  // of the new token
};

// One finished probe of a broken token, for logs and metrics.
struct probe_event {
  std::string_view credential;
  boost::system::error_code error;  // the issuer's transport error (or operation_not_supported)
  unsigned status = 0;              // GitHub's answer to GET /rate_limit; 0 without one
  bool accepted = false;            // the token is usable again
  std::optional<time_point> next_at;  // when not accepted: the next probe
};

// One credential whose secret file changed (pool::reload_changed_secrets),
// for logs and metrics. Never holds a secret.
struct secret_change {
  std::string_view credential;  // the credential's name; lives as long as the pool
  std::string_view file;        // its token_file or private_key_file; lives as long as the pool
  // Empty when the new content is in use. Otherwise why it is not —
  // "credential NAME: cannot read token_file PATH: …" or what is wrong with
  // the secret — and the previous secret is kept.
  std::string error;
  // A different secret is in use now (false when a changed file holds the
  // same token, e.g. only its trailing newline changed).
  bool replaced = false;
};

// Pool-wide settings with production defaults (the config maps onto them).
struct pool_options {
  // Credits of each bucket left alone, by resource (selection.h: a hard
  // reserve). 0 uses every credit.
  std::array<std::int64_t, resource_count> reserve{};
  // Requests in flight per credential, all resources together (GitHub's
  // secondary limit: 100 concurrent requests).
  std::uint32_t max_concurrent = 100;
  // After a bucket returns from a spent window or a cool-down, its requests
  // in flight grow from ramp_up_start to max_concurrent over ramp_up
  // (selection.h); 0 s turns the ramp off.
  std::chrono::seconds ramp_up{10};
  std::uint32_t ramp_up_start = 2;
  // How long `acquire` waits, in total, for a request in flight to complete
  // (outcome busy) or for an App's token renewal, before giving up.
  std::chrono::milliseconds wait_timeout{10'000};
  installation_token_policy renewal;
  limits_policy limits;
  // A 401 this soon after a token was issued is taken for GitHub's
  // replication delay (octokit's auth-app retries those): the token is kept.
  std::chrono::seconds replication_grace{10};
  // Called after every renewal on the executor it ran on, with no lock held.
  std::function<void(const renewal_event&)> on_renewal;
  // A token broken by 401 "Bad credentials" is probed (token_issuer::
  // probe_credential, GET /rate_limit) after probe.initial, then after a wait
  // doubling with each 401 up to probe.max.
  probe_policy probe;
  // Called after every probe on the executor it ran on, with no lock held.
  std::function<void(const probe_event&)> on_probe;
  // GitHub's secondary limits per credential, and the share of them the
  // pool spends (secondary_limits.h). A credential without room for a
  // request is not selected for it.
  secondary_policy secondary;
  // How long `acquire` waits, at most, for a credential to have room for a
  // request (pacing) when waiting can bring it; longer → exhausted, paced.
  // Within wait_timeout.
  std::chrono::milliseconds pacing_wait{5'000};

  void set_reserve(std::int64_t credits) { reserve.fill(credits); }
  void set_reserve(resource r, std::int64_t credits) { reserve[static_cast<std::size_t>(r)] = credits; }
};

enum class credential_kind { token, app };
std::string_view to_string(credential_kind kind);

// One request's use of a credential, from `acquire` to `complete` or
// `abandon`. It owns the request's in-flight count: move-only, and a lease
// destroyed while still open (the request coroutine was cancelled, an
// exception) is abandoned, so the count always returns to 0.
class lease {
 public:
  std::size_t index = 0;       // the credential's position in the config
  std::string_view name;       // the credential's name (the metrics label); lives as long as the pool
  std::string authorization;   // the whole header value: "token …" or "Bearer ghs_…" (wiped on destruction)
  resource r = resource::core;  // the resource the request was counted against
  // Which secret of the credential this is (App: the installation token's
  // generation; token: bumped when reload_secrets reads a new one, and when
  // a broken token is made usable again by reload_secrets or a probe). A 401
  // only breaks the secret it was answered for, so a late 401 of a request
  // sent before cannot break it again.
  std::uint64_t generation = 0;

  lease(lease&& other) noexcept;
  lease& operator=(lease&& other) noexcept;
  lease(const lease&) = delete;
  lease& operator=(const lease&) = delete;
  ~lease();

  // Still counted in flight: neither completed nor abandoned.
  bool open() const { return state_ != nullptr; }

 private:
  friend class pool;
  lease() = default;
  void release();

  std::shared_ptr<detail::pool_state> state_;
};

struct acquisition {
  std::optional<lease> granted;  // set exactly when outcome == selected
  // exhausted: no credential can serve this resource now (answer 429, or
  // 503 when all_broken).
  // busy: the wait for a request in flight or an App renewal timed out.
  selection_outcome outcome = selection_outcome::exhausted;
  // When exhausted: the earliest instant (GitHub's clock) a credential is
  // expected back, its reset or cool-down end; empty when none will come
  // back by itself (all broken).
  std::optional<time_point> retry_at;
  // retry_at − now(), at least 1 s, for Retry-After; empty with retry_at.
  std::optional<std::chrono::seconds> retry_after;
  // When exhausted: every credential considered (those not in `exclude`) is
  // broken — a token GitHub answered 401 "Bad credentials", or an App whose
  // last renewal failed and that holds no usable token. Nothing is rate
  // limited: answer 503 "every credential is rejected by GitHub", not 429.
  // retry_at is then empty, unless an App's next renewal attempt is
  // scheduled (a token's probe does not count: it may never succeed).
  // False for any other outcome, and when `exclude` leaves no credential.
  bool all_broken = false;
  // When exhausted: some credential could have served but for its
  // secondary limits (no room for the request's points or content
  // creation, or cooling after GitHub's secondary-limit answer: its window
  // counts as full); retry_at is then when one has room.
  bool paced = false;
};

struct bucket_report {
  resource r = resource::core;
  bucket_view view;
};

// One credential for the metrics gauges (docs/contract.md §8).
struct credential_report {
  std::string_view name;  // lives as long as the pool
  credential_kind kind = credential_kind::token;
  // github_proxy_credential_state: an App without a usable token whose last
  // renewal failed counts as broken.
  credential_state state = credential_state::ok;
  std::optional<token_state> token;  // Apps: the installation token's lifecycle
  std::uint32_t in_flight = 0;
  std::vector<bucket_report> buckets;  // the observed resources only
  // Secondary-limit windows: this process's own spending plus the other
  // replicas' as last exchanged (github_proxy_secondary_points_used).
  secondary_usage secondary;
  // Apps: why the last renewal failed (empty after a success) and the
  // issuer's HTTP status then (0: no answer).
  boost::system::error_code renewal_error;
  unsigned renewal_status = 0;
};

// Where the request pipeline gets the credential for each request: the
// pool below in the daemon, a test double in the pipeline's unit tests
// (tests/unit/proxy/). The contract is the pool's, documented there.
class credential_source {
 public:
  virtual ~credential_source() = default;
  virtual boost::asio::awaitable<acquisition> acquire(resource r, std::string_view preferred,
                                                      std::span<const std::string_view> exclude,
                                                      bool free_revalidation, secondary_demand demand) = 0;
  virtual verdict complete(lease& l, unsigned status, const boost::beast::http::fields& headers,
                           std::string_view body) = 0;
  virtual void abandon(lease& l) = 0;
  // What the credentials can still spend for `r`, as a client is told it
  // (rate_view.h pool_view); empty when the source keeps no such numbers
  // (the pipeline's test doubles), and GitHub's headers are passed on.
  virtual std::optional<rate_view> view(resource r) const {
    (void)r;
    return std::nullopt;
  }
};

class pool final : public credential_source {
 public:
  struct build_result {
    std::unique_ptr<pool> value;              // set when errors is empty
    std::vector<config::config_error> errors;  // `file:line: credential NAME: …`, never a secret
  };

  // Reads every secret now: token_env / token_file of the tokens, and each
  // App's private_key_file (proved by signing once). `issuer` may be null
  // only when no App is configured. Never throws for a bad secret.
  static build_result from_config(const config::config& cfg, const clock& time,
                                  std::shared_ptr<token_issuer> issuer, pool_options options = {});

  ~pool() override;
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  // Picks the credential for one request of resource `r` (select_credential:
  // most headroom, reserve, concurrency cap), preferring `preferred` (a
  // credential name, may be empty) while it is usable and skipping the names
  // in `exclude` (already tried for this request). An App without a usable
  // token is skipped while another credential can serve; when none can, the
  // call starts the App's renewal (one in flight per App, shared by every
  // thread) and waits for it. An App whose token nears its expiry keeps
  // serving while its renewal runs in the background. When every usable
  // credential is busy (cap, or headroom held by requests in flight) the call
  // waits for a completion. Both waits together last at most
  // `wait_timeout`. Completes on the caller's executor; a cancelled caller
  // gets outcome busy (or the cancellation exception) and no lease.
  //
  // `free_revalidation`: the request is a conditional one the cache expects
  // GitHub to answer with a free 304 (docs/contract.md §5 "Budgets", §6), so a bucket
  // that is spent (exhausted) or down to its reserve may still send it;
  // cooling and broken credentials are still skipped.
  //
  // `demand`: the request's secondary-limit cost (secondary_limits.h). A
  // credential is selected only while the cost fits under its share of
  // GitHub's secondary limits, and the cost is counted when it is. When
  // room is all that is missing and it comes back within pacing_wait, the
  // call waits for it (pacing: a burst is spread rather than refused);
  // otherwise, or when `demand.may_wait` is false, the outcome is
  // exhausted with `paced` and `retry_at` when room comes back. It is taken
  // by value: the coroutine outlives a temporary argument (`= {}` included).
  boost::asio::awaitable<acquisition> acquire(resource r, std::string_view preferred = {},
                                              std::span<const std::string_view> exclude = {},
                                              bool free_revalidation = false,
                                              secondary_demand demand = {}) override;

  // The upstream answered `l`'s request: records X-RateLimit-* and the
  // verdict of classify_response (pass the body as received, gzip or not:
  // GraphQL's 200 RATE_LIMITED, the secondary-limit texts and "Bad
  // credentials" are in it), and closes the lease. A bad_credential verdict (401 "Bad
  // credentials", or a 401 whose body cannot be read) breaks the token it
  // was sent with — a PAT until a probe finds GitHub accepts it again or
  // reload_secrets runs; an App's installation token is dropped and renewed —
  // unless that secret has since been replaced or was issued within
  // replication_grace. Any other 401 (a JWT-only path) is the client's answer
  // and breaks nothing. A 401's X-RateLimit-* are the anonymous bucket's and
  // are not recorded. Returns the verdict: the caller retries once on
  // another credential for primary_limit, secondary_limit and bad_credential.
  // A closed lease changes nothing (the verdict is still computed).
  verdict complete(lease& l, unsigned status, const boost::beast::http::fields& headers,
                   std::string_view body) override;

  // The upstream failed without an answer: closes the lease, nothing else.
  void abandon(lease& l) override;

  // For /readyz: some credential's secret works or may work — a token not
  // broken, or an App holding a usable token or whose last renewal did not
  // fail (none yet, or the last one succeeded; retries after a failure do
  // not make it ready again until one succeeds, so readiness does not flap
  // with the backoff). Exhausted and cooling credentials count: they come
  // back by themselves, and meanwhile the proxy answers
  // 429 with Retry-After (taking every replica out of its Service would turn
  // that into connection errors).
  bool any_usable() const;

  // For the metrics gauges; takes each credential's lock in turn.
  std::vector<credential_report> report() const;

  // The pool's view of `r` (rate_view.h pool_view, with the reserve of `r`);
  // takes each credential's lock in turn, allocates nothing.
  std::optional<rate_view> view(resource r) const override;

  // SIGHUP: re-reads token_env / token_file and the Apps' private keys. A
  // changed token replaces the old one; a broken token is usable again
  // whether its secret changed or not (the operator says it works: GitHub
  // may have been wrong, or the token was restored), and a 401 answered
  // for a request sent before the reload does not break it again. A new key
  // is used from the next renewal, and an App backing off after failed
  // renewals is retried at once. A secret that cannot be read keeps the old
  // one; the errors come back (never containing a secret).
  // Serialised with reload_changed_secrets.
  std::vector<config::config_error> reload_secrets();

  // Rotation without SIGHUP (secret_watcher.h): reads every token_file and
  // private_key_file (bounded: 64 KiB) and reloads only the credentials
  // whose file content changed since it was last loaded, compared by
  // SHA-256 through any symlinks (a Kubernetes Secret volume swaps its
  // `..data` link). Unlike reload_secrets, an unchanged file changes
  // nothing: a broken token whose file did not change stays broken (only a
  // probe or an operator's SIGHUP says it works again). A changed token
  // replaces the old one and is usable at once (a 401 for a request sent
  // with the old one breaks nothing); a changed key is used from the App's
  // next renewal, and an App whose renewals were failing retries at once.
  // A file that cannot be read or holds no valid secret keeps the previous
  // secret and is returned with its error — once: the same failure (same
  // errno, or same invalid content) is not returned again until the file
  // has changed or was read successfully in between, so a poll reports a
  // failing file once rather than at every interval. A file being written
  // while read is left for the next call. token_env credentials are not
  // re-read (a process's environment does not change). Returns the
  // credentials whose file changed, in config order. Serialised with
  // reload_secrets; blocking file I/O: call it off the I/O threads.
  std::vector<secret_change> reload_changed_secrets();

  // Starts, on `executor`, the probes of broken tokens that are due and not
  // already running (detached, one per credential). `acquire` does this by
  // itself; call it from a timer or from /readyz too, so that a pool whose
  // every token is broken — unready, so sent no traffic — still finds out
  // when GitHub accepts them again. Without an issuer it does nothing.
  void start_due_probes(const boost::asio::any_io_executor& executor);

  // Sharing the secondary-limit windows between replicas
  // (secondary_exchange.h). Each credential's own usage now, in config
  // order …
  std::vector<secondary_usage> own_secondary_usage() const;
  // … and the other replicas' in the same order (a shorter span leaves the
  // rest at none).
  void set_others_secondary_usage(std::span<const secondary_usage> others);
  const secondary_policy& secondary() const;

  std::size_t size() const;
  std::string_view name(std::size_t index) const;
  credential_kind kind(std::size_t index) const;
  // GitHub's time as the pool sees it: the clock plus the learnt skew.
  time_point now() const;

 private:
  explicit pool(std::shared_ptr<detail::pool_state> state);

  std::shared_ptr<detail::pool_state> state_;
};

}  // namespace github_proxy::credentials
