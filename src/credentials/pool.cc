#include "github_proxy/credentials/pool.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/container/small_vector.hpp>
#include <openssl/crypto.h>

#include "credentials/app_renewal.h"
#include "credentials/pool_state.h"
#include "credentials/token_probe.h"
#include "credentials/wake_list.h"
#include "common/log_escaped.h"

namespace github_proxy::credentials {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// How often `acquire` re-selects at once when the credential it chose changed
// between selection and claiming it, before it waits for a notification.
constexpr int max_contended_retries = 16;

void wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

void consider(std::optional<time_point>& earliest, std::optional<time_point> at, time_point now) {
  if (at && *at > now && (!earliest || *at < *earliest)) earliest = at;
}

bool contains(std::span<const std::string_view> names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Renewals and probes run detached: a caller that gives up (or is
// cancelled) does not cancel the work the other waiters count on.
void spawn_claimed(const std::shared_ptr<detail::pool_state>& state, const asio::any_io_executor& executor,
                   std::span<const std::size_t> renewals, std::span<const std::size_t> probes) {
  for (const auto index : renewals) {
    asio::co_spawn(executor, detail::renew(state, index), common::log_escaped("App token renewal"));
  }
  for (const auto index : probes) {
    asio::co_spawn(executor, detail::probe(state, index), common::log_escaped("credential probe"));
  }
}

}  // namespace

namespace detail {

pool_state::pool_state(const clock& time, std::shared_ptr<token_issuer> issuer, pool_options options)
    : time(time), issuer(std::move(issuer)), options(options) {
  for (std::size_t i = 0; i < resource_count; ++i) {
    policies[i] = selection_policy{options.reserve[i], options.max_concurrent, options.ramp_up,
                                   options.ramp_up_start};
  }
}

credential_slot::~credential_slot() { wipe(authorization); }

void credential_slot::restore() {
  limits.renewed();
  ++generation;
  probe.clear();
}

void pool_state::end(std::size_t index, resource r) {
  auto& slot = *slots[index];
  {
    const std::lock_guard lock(slot.mutex);
    slot.limits.end(r);
  }
  wake.notify();
}

bool pool_state::claim_probe(credential_slot& slot, time_point now) {
  return !slot.app && issuer && slot.probe.try_begin(now);
}

pool_state::attempt pool_state::try_acquire(resource r, std::string_view preferred,
                                            std::span<const std::string_view> exclude, bool free_revalidation,
                                            const secondary_costs& cost, bool may_wait) {
  const auto now = this->now();
  // The secondary windows run on the local clock: GitHub's (now) moves by
  // the skew learnt from each answer's Date and may step back a second,
  // which would drop the newest slot from the count.
  const auto local = time.now();
  // A free revalidation spends no credit, so the reserve does not apply
  // (selection.h, for_free_revalidation).
  auto policy = policies[static_cast<std::size_t>(r)];
  if (free_revalidation) policy.reserve = 0;
  boost::container::small_vector<candidate, 8> candidates;
  boost::container::small_vector<std::size_t, 8> owners;
  std::optional<std::size_t> preferred_position;
  std::size_t considered = 0;
  std::size_t broken = 0;
  attempt out;

  for (std::size_t i = 0; i < slots.size(); ++i) {
    auto& slot = *slots[i];
    const std::lock_guard lock(slot.mutex);
    if (claim_probe(slot, now)) out.probes.push_back(i);
    if (contains(exclude, slot.config.name)) continue;
    ++considered;
    if (slot.app) {
      auto& app = *slot.app;
      // Due: no usable token, or the current one reached its renew_at (it
      // keeps serving while the renewal runs).
      if (app.token.try_begin_renewal(now)) out.renewals.push_back(i);
      switch (app.token.check(now)) {
        case installation_token::access::use:
          break;
        case installation_token::access::wait: {
          // Worth waiting for only if the App could then serve this resource.
          const auto state = slot.limits.state(r, now);
          if (state == credential_state::ok || state == credential_state::broken) {
            out.renewal_pending = true;
          } else {
            consider(out.retry_at, slot.limits.bucket(r, now).available_at, now);
          }
          continue;
        }
        case installation_token::access::unavailable:
          if (!app.usable_or_renewable(now)) ++broken;  // its last renewal failed
          consider(out.retry_at, app.token.next_attempt_at(), now);
          continue;
      }
    }
    if (!preferred.empty() && slot.config.name == preferred) preferred_position = candidates.size();
    auto c = make_candidate(slot.limits, r, now, slot.last_selected);
    if (c.state == credential_state::broken) ++broken;
    if (free_revalidation) c = for_free_revalidation(c);
    if (c.state == credential_state::cooling) out.paced = true;  // after a secondary-limit answer
    if (c.state == credential_state::ok && !slot.secondary.admits(cost, local)) {
      // No room under its secondary limits: parked until there is, as a
      // cooling credential is (selection skips it and reports when).
      out.paced = true;
      c.state = credential_state::cooling;
      // When room comes back (retry_at, pacing) is worked out only for a
      // caller that may wait: one that may not answers without it.
      if (may_wait) {
        if (const auto room = slot.secondary.room_at(cost, local)) c.available_at = *room + (now - local);
      }
    }
    candidates.push_back(c);
    owners.push_back(i);
  }
  out.all_broken = considered > 0 && broken == considered;

  const auto chosen = select_credential(std::span<const candidate>(candidates.data(), candidates.size()), policy,
                                        preferred_position, now);
  if (chosen.outcome != selection_outcome::selected) {
    out.busy = chosen.outcome == selection_outcome::busy;
    consider(out.retry_at, chosen.retry_at, now);
    return out;
  }
  out.paced = false;

  // Claim it. Another thread may have taken its last slot or recorded a limit
  // since the candidates were built: check it again under its lock.
  const std::size_t index = owners[chosen.index];
  auto& slot = *slots[index];
  const std::lock_guard lock(slot.mutex);
  if (slot.app && slot.app->token.check(now) != installation_token::access::use) {
    out.contended = true;
    return out;
  }
  auto again = make_candidate(slot.limits, r, now, slot.last_selected);
  if (free_revalidation) again = for_free_revalidation(again);
  if (select_credential(std::span<const candidate>(&again, 1), policy, 0, now).outcome != selection_outcome::selected ||
      !slot.secondary.admits(cost, local)) {
    out.contended = true;
    return out;
  }
  slot.limits.begin(r);
  slot.secondary.spend(cost, local);
  slot.last_selected = stamp.fetch_add(1, std::memory_order_relaxed) + 1;
  out.granted = true;
  out.index = index;
  if (slot.app) {
    out.authorization = slot.app->authorization;
    out.generation = slot.app->lease_generation();
  } else {
    out.authorization = slot.authorization;
    out.generation = slot.generation;
  }
  return out;
}

bool pool_state::breaks(credential_slot& slot, std::uint64_t generation, time_point now) {
  if (!slot.app) {
    if (generation != slot.generation) return false;  // a reloaded or restored token since
    slot.probe.broken(now);
    return true;
  }
  auto& app = *slot.app;
  if (generation != app.lease_generation() || app.token.check(now) != installation_token::access::use) {
    return false;  // a token that has since been replaced, dropped or has expired
  }
  if (now - app.issued_at < options.replication_grace) return false;
  app.token.invalidate(app.token_generation);
  return true;
}

}  // namespace detail

std::string_view to_string(credential_kind kind) {
  return kind == credential_kind::app ? "app" : "token";
}

// --- lease ---------------------------------------------------------------

lease::lease(lease&& other) noexcept
    : index(other.index),
      name(other.name),
      authorization(std::move(other.authorization)),
      r(other.r),
      generation(other.generation),
      state_(std::move(other.state_)) {
  other.authorization.clear();
}

lease& lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    release();
    wipe(authorization);
    index = other.index;
    name = other.name;
    authorization = std::move(other.authorization);
    other.authorization.clear();
    r = other.r;
    generation = other.generation;
    state_ = std::move(other.state_);
  }
  return *this;
}

lease::~lease() {
  release();
  wipe(authorization);
}

void lease::release() {
  if (!state_) return;
  const auto state = std::move(state_);
  state->end(index, r);
}

// --- pool ----------------------------------------------------------------

pool::pool(std::shared_ptr<detail::pool_state> state) : state_(std::move(state)) {}
pool::~pool() = default;

pool::build_result pool::from_config(const config::config& cfg, const clock& time,
                                     std::shared_ptr<token_issuer> issuer, pool_options options) {
  build_result out;
  auto state = std::make_shared<detail::pool_state>(time, std::move(issuer), options);
  state->source_file = cfg.source_file;
  const auto fail = [&](const config::credential_config& credential, std::string message) {
    out.errors.push_back(config::config_error{cfg.source_file, credential.source_line, std::move(message)});
  };
  for (const auto& credential : cfg.credentials) {
    auto slot = std::make_unique<detail::credential_slot>(credential, options.limits, options.probe,
                                                           options.secondary);
    if (credential.type == config::credential_type::app && !state->issuer) {
      fail(credential, "credential " + credential.name + ": GitHub Apps need an upstream to request tokens from");
    }
    detail::loaded_secret loaded;
    detail::load_secret(credential, loaded);
    if (!loaded.error.empty()) {
      fail(credential, std::move(loaded.error));
    } else if (credential.type == config::credential_type::token) {
      std::swap(slot->authorization, loaded.authorization);
    } else {
      slot->app = std::make_unique<detail::app_slot>(credential.installation_id, std::move(loaded.signer),
                                                     options.renewal);
    }
    slot->loaded_fingerprint = loaded.fingerprint;
    state->slots.push_back(std::move(slot));
  }
  if (out.errors.empty()) out.value.reset(new pool(std::move(state)));
  return out;
}

asio::awaitable<acquisition> pool::acquire(resource r, std::string_view preferred,
                                           std::span<const std::string_view> exclude, bool free_revalidation,
                                           secondary_demand demand) {
  auto& s = *state_;
  const auto executor = co_await asio::this_coro::executor;
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + s.options.wait_timeout;
  const auto pacing_deadline = std::min(deadline, started + s.options.pacing_wait);
  int contended = 0;
  for (;;) {
    const auto observed = s.wake.generation();
    auto step = s.try_acquire(r, preferred, exclude, free_revalidation, demand.cost, demand.may_wait);
    spawn_claimed(state_, executor, {step.renewals.data(), step.renewals.size()},
                  {step.probes.data(), step.probes.size()});

    if (step.granted) {
      acquisition out;
      out.outcome = selection_outcome::selected;
      lease granted;
      granted.index = step.index;
      granted.name = s.slots[step.index]->config.name;
      granted.authorization = std::move(step.authorization);
      granted.r = r;
      granted.generation = step.generation;
      granted.state_ = state_;
      out.granted.emplace(std::move(granted));
      co_return out;
    }
    if (step.contended && ++contended < max_contended_retries) continue;
    // Credits and secondary-limit room come back with time, not with a
    // completion: wake at retry_at as well.
    const auto steady_now = std::chrono::steady_clock::now();
    auto wake_at = deadline;
    std::optional<std::chrono::steady_clock::time_point> back_at;  // retry_at on the steady clock
    if (step.retry_at) {
      const auto until = std::chrono::duration_cast<std::chrono::steady_clock::duration>(*step.retry_at - s.now());
      back_at = steady_now + std::max(until, std::chrono::steady_clock::duration::zero());
      wake_at = std::min(wake_at, *back_at);
    }
    // Pacing: room under the secondary limits comes back within the pacing
    // wait (and before the deadline, so the wait ends in a grant or a 429).
    const bool pace = step.paced && demand.may_wait && back_at && *back_at <= pacing_deadline &&
                      *back_at < deadline;
    if (!step.busy && !step.renewal_pending && !step.contended && !pace) {
      acquisition out;
      out.outcome = selection_outcome::exhausted;
      out.all_broken = step.all_broken;
      out.paced = step.paced;
      out.retry_at = step.retry_at;
      if (step.retry_at) {
        out.retry_after = std::max(std::chrono::seconds(1), *step.retry_at - s.now());
      }
      co_return out;
    }
    if (steady_now >= deadline) {
      acquisition out;
      out.outcome = selection_outcome::busy;
      co_return out;
    }
    contended = 0;
    co_await s.wake.wait(observed, wake_at);
    const auto cancelled = (co_await asio::this_coro::cancellation_state).cancelled();
    if (cancelled != asio::cancellation_type::none) {
      acquisition out;
      out.outcome = selection_outcome::busy;
      co_return out;
    }
  }
}

verdict pool::complete(lease& l, unsigned status, const http::fields& headers, std::string_view body) {
  auto& s = *state_;
  if (const auto date = headers.find(http::field::date); date != headers.end()) {
    s.skew.observe(date->value(), s.time.now());
  }
  const auto now = s.now();
  const auto v = classify_response(status, headers, body, l.r);
  if (!l.open() || l.state_ != state_) return v;
  // GitHub did not take a 401 as this credential's request: its
  // X-RateLimit-* describe the unauthenticated, per-IP bucket (60/h,
  // docs/github-api.md §3.1), and recording them would make the credential
  // look spent — a client calling JWT-only paths would exhaust it for all.
  const auto reported = status == 401 ? rate_limit_headers{} : parse_rate_limit_headers(headers);
  auto& slot = *s.slots[l.index];
  {
    const std::lock_guard lock(slot.mutex);
    slot.limits.end(l.r);
    verdict recorded = v;
    if (v.kind == verdict_kind::bad_credential && !s.breaks(slot, l.generation, now)) {
      recorded.kind = verdict_kind::ok;
    }
    slot.limits.on_response(l.r, reported, recorded, now);
  }
  l.state_.reset();
  s.wake.notify();
  return v;
}

void pool::abandon(lease& l) {
  if (l.state_ != state_) return;
  l.release();
}

bool pool::any_usable() const {
  const auto now = state_->now();
  for (const auto& slot : state_->slots) {
    const std::lock_guard lock(slot->mutex);
    if (slot->app) {
      if (slot->app->usable_or_renewable(now)) return true;
    } else if (slot->limits.state(now) != credential_state::broken) {
      return true;
    }
  }
  return false;
}

std::vector<credential_report> pool::report() const {
  const auto now = state_->now();
  std::vector<credential_report> out;
  out.reserve(state_->slots.size());
  for (const auto& slot : state_->slots) {
    credential_report entry;
    entry.name = slot->config.name;
    entry.kind = slot->app ? credential_kind::app : credential_kind::token;
    entry.buckets.reserve(4);
    const std::lock_guard lock(slot->mutex);
    entry.state = slot->limits.state(now);
    if (slot->app) {
      entry.token = slot->app->token.state(now);
      entry.renewal_error = slot->app->renewal_error;
      entry.renewal_status = slot->app->renewal_status;
      if (!slot->app->usable_or_renewable(now)) entry.state = credential_state::broken;
    }
    entry.in_flight = slot->limits.in_flight();
    entry.secondary = slot->secondary.counted(state_->time.now());
    // GitHub answered a secondary limit: its count is ahead of ours, the
    // window is full for as long as the credential cools.
    if (slot->limits.state(now) == credential_state::cooling) entry.secondary.filled = true;
    for (std::size_t i = 0; i < resource_count; ++i) {
      const auto r = static_cast<resource>(i);
      auto view = slot->limits.bucket(r, now);
      if (view.observed || view.in_flight > 0) entry.buckets.push_back(bucket_report{r, view});
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::optional<rate_view> pool::view(resource r) const {
  const auto now = state_->now();
  boost::container::small_vector<bucket_view, 8> buckets;
  for (const auto& slot : state_->slots) {
    const std::lock_guard lock(slot->mutex);
    auto& b = buckets.emplace_back(slot->limits.bucket(r, now));
    if (slot->app && !slot->app->usable_or_renewable(now)) b.state = credential_state::broken;
  }
  return pool_view(r, {buckets.data(), buckets.size()}, state_->policies[static_cast<std::size_t>(r)].reserve, now);
}

void pool::start_due_probes(const asio::any_io_executor& executor) {
  auto& s = *state_;
  if (!s.issuer) return;
  const auto now = s.now();
  boost::container::small_vector<std::size_t, 4> probes;
  for (std::size_t i = 0; i < s.slots.size(); ++i) {
    auto& slot = *s.slots[i];
    const std::lock_guard lock(slot.mutex);
    if (s.claim_probe(slot, now)) probes.push_back(i);
  }
  spawn_claimed(state_, executor, {}, {probes.data(), probes.size()});
}

std::vector<secondary_usage> pool::own_secondary_usage() const {
  const auto now = state_->now();
  const auto local = state_->time.now();
  std::vector<secondary_usage> out;
  out.reserve(state_->slots.size());
  for (const auto& slot : state_->slots) {
    const std::lock_guard lock(slot->mutex);
    auto& u = out.emplace_back(slot->secondary.usage(local));
    // Cooling after GitHub's secondary answer: full for the other replicas
    // too, until the cool-down ends.
    if (const auto until = slot->limits.cooling_until(now)) {
      u.filled = true;
      u.cooling_seconds = std::chrono::ceil<std::chrono::seconds>(*until - now).count();
    }
  }
  return out;
}

void pool::set_others_secondary_usage(std::span<const secondary_usage> others) {
  for (std::size_t i = 0; i < state_->slots.size(); ++i) {
    auto& slot = *state_->slots[i];
    const std::lock_guard lock(slot.mutex);
    slot.secondary.set_others(i < others.size() ? others[i] : secondary_usage{});
  }
  state_->wake.notify();  // room may have come back
}

const secondary_policy& pool::secondary() const { return state_->options.secondary; }

std::size_t pool::size() const { return state_->slots.size(); }

std::string_view pool::name(std::size_t index) const { return state_->slots.at(index)->config.name; }

credential_kind pool::kind(std::size_t index) const {
  return state_->slots.at(index)->app ? credential_kind::app : credential_kind::token;
}

time_point pool::now() const { return state_->now(); }

}  // namespace github_proxy::credentials
