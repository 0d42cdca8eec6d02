// The credential pool's internals (pool.h), shared by the pool object, its
// leases and the App renewals and token probes in flight.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/container/small_vector.hpp>
#include <boost/system/error_code.hpp>

#include "credentials/wake_list.h"
#include "github_proxy/config/config.h"
#include "github_proxy/credentials/app_jwt.h"
#include "github_proxy/credentials/installation_token.h"
#include "github_proxy/credentials/pool.h"
#include "github_proxy/credentials/probe_schedule.h"
#include "github_proxy/credentials/rate_limit_state.h"
#include "github_proxy/credentials/secondary_limits.h"
#include "github_proxy/credentials/selection.h"
#include "github_proxy/credentials/token_issuer.h"

namespace github_proxy::credentials::detail {

// What an App credential holds beyond its rate limits.
struct app_slot {
  app_slot(std::string installation, std::shared_ptr<const app_jwt_signer> key, installation_token_policy policy)
      : installation_id(std::move(installation)), signer(std::move(key)), token(policy) {}
  ~app_slot();
  app_slot(const app_slot&) = delete;
  app_slot& operator=(const app_slot&) = delete;

  std::string installation_id;
  // Shared with a renewal in flight, so a reload can swap it meanwhile.
  std::shared_ptr<const app_jwt_signer> signer;
  installation_token token;
  // Of the current token, valid while token.check() says use: the header
  // value, installation_token's generation, and when it was issued.
  std::string authorization;
  std::uint64_t token_generation = 0;
  time_point issued_at{};
  // Bumped when the state machine is replaced (restart): its generations
  // start again at 1 and must not match a lease of the previous one.
  std::uint32_t epoch = 0;
  // The last renewal's failure, for report().
  boost::system::error_code renewal_error;
  unsigned renewal_status = 0;

  std::uint64_t lease_generation() const { return (std::uint64_t{epoch} << 32) | token_generation; }

  // Holds a usable token, or has not failed a renewal since its last success
  // (a renewal may be running). Stays false between retries after failures,
  // so /readyz does not flap with the backoff.
  bool usable_or_renewable(time_point now) const {
    return token.check(now) == installation_token::access::use || !renewal_error;
  }

  // A fresh state machine: no token, no backoff, no failure remembered.
  void restart(installation_token_policy policy);
};

// One credential of the config. Every field but `config` and `kind` is
// guarded by `mutex`.
struct credential_slot {
  credential_slot(const config::credential_config& c, limits_policy policy, probe_policy probing,
                  secondary_policy points)
      : config(c), limits(policy), secondary(points), probe(probing) {}
  ~credential_slot();

  const config::credential_config config;  // references to secrets, never a secret
  mutable std::mutex mutex;
  credential_limits limits;
  secondary_window secondary;
  std::uint64_t last_selected = 0;  // selection's round-robin stamp
  // type: token — "token <secret>", and which secret it is (bumped when the
  // secret changes, and when a broken one is made usable again).
  std::string authorization;
  std::uint64_t generation = 1;
  // type: token — when to ask GitHub whether it takes the token again.
  probe_schedule probe;

  // Under mutex: a broken token is usable again (a probe's 200, a reload).
  // A 401 answered for a lease of the previous generation breaks nothing.
  void restore();
  // type: app
  std::unique_ptr<app_slot> app;

  // The secret file (token_file or private_key_file) as the loads last saw
  // it, guarded by pool_state::reload_mutex rather than `mutex`: the
  // fingerprint of the content in use, and that of the last failure
  // reported (secret_file.h). Empty for token_env.
  std::string loaded_fingerprint;
  std::string reported_failure;
};

// A credential's secret read from its reference and checked, ready to
// install: the Authorization value of a token, or an App's signer.
struct loaded_secret {
  loaded_secret() = default;
  loaded_secret(const loaded_secret&) = delete;
  loaded_secret& operator=(const loaded_secret&) = delete;
  ~loaded_secret();  // wipes `authorization`

  std::string authorization;                     // type token: "token …"
  std::shared_ptr<const app_jwt_signer> signer;  // type app
  std::string fingerprint;  // of the file it came from; empty for token_env
  bool in_flux = false;     // the file was being written while read
  std::string error;        // set when neither is: names the credential and the file, never content
};

// Reads the credential's token_env, token_file or private_key_file (an
// App's key is proved by signing once). Never throws for a bad secret.
void load_secret(const config::credential_config& credential, loaded_secret& out);

struct pool_state {
  pool_state(const clock& time, std::shared_ptr<token_issuer> issuer, pool_options options);

  // GitHub's time.
  time_point now() const { return skew.server_now(time.now()); }

  // Ends one request in flight and wakes the waiters.
  void end(std::size_t index, resource r);

  // One selection round of acquire, without waiting.
  struct attempt {
    bool granted = false;
    std::size_t index = 0;
    std::string authorization;
    std::uint64_t generation = 0;
    bool busy = false;             // selection said busy: a completion may free one
    bool renewal_pending = false;  // an App could serve once its renewal ends
    bool contended = false;        // the chosen one changed before it was claimed: select again
    bool all_broken = false;       // every credential considered is broken (acquisition::all_broken)
    bool paced = false;            // some credential lacked only secondary-limit room (acquisition::paced)
    std::optional<time_point> retry_at;
    boost::container::small_vector<std::size_t, 2> renewals;  // Apps whose renewal this round claimed
    boost::container::small_vector<std::size_t, 2> probes;    // tokens whose probe this round claimed
  };
  attempt try_acquire(resource r, std::string_view preferred, std::span<const std::string_view> exclude,
                      bool free_revalidation, const secondary_costs& cost, bool may_wait);

  // Under slot.mutex: does a 401 for the secret `generation` break the
  // credential? For an App this also drops the token; for a token it
  // schedules the probe.
  bool breaks(credential_slot& slot, std::uint64_t generation, time_point now);

  // Under slot.mutex: claims the token's probe when it is due (never
  // without an issuer to send it).
  bool claim_probe(credential_slot& slot, time_point now);

  const clock& time;
  clock_skew skew;
  const std::shared_ptr<token_issuer> issuer;
  const pool_options options;
  std::array<selection_policy, resource_count> policies{};
  std::string source_file;  // for the errors of reload_secrets
  // Serialises reload_secrets and reload_changed_secrets (file reads
  // included); the request path never takes it.
  std::mutex reload_mutex;
  // Filled once by from_config, then never resized.
  std::vector<std::unique_ptr<credential_slot>> slots;
  std::atomic<std::uint64_t> stamp{0};
  wake_list wake;
};

}  // namespace github_proxy::credentials::detail
