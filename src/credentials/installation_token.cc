#include "github_proxy/credentials/installation_token.h"

#include <algorithm>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <openssl/crypto.h>

#include "credentials/time_text.h"
#include "github_proxy/credentials/errors.h"

namespace github_proxy::credentials {

namespace {

constexpr std::size_t max_token_response_bytes = 1024 * 1024;

// The token travels in an Authorization header: visible ASCII only.
bool header_safe(std::string_view token) {
  if (token.empty() || token.size() > 1024) return false;
  for (char c : token) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) return false;
  }
  return true;
}

void wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

// The wait before the next attempt after `failures` unsuccessful renewals
// in a row: backoff_initial, doubling, at most backoff_max.
std::chrono::seconds backoff_after(unsigned failures, const installation_token_policy& policy) {
  auto wait = policy.backoff_initial;
  for (unsigned i = 0; i < failures && wait < policy.backoff_max; ++i) wait *= 2;
  return std::min(wait, policy.backoff_max);
}

}  // namespace

std::string_view to_string(token_state s) {
  switch (s) {
    case token_state::none: return "none";
    case token_state::renewing: return "renewing";
    case token_state::valid: return "valid";
    case token_state::expiring_soon: return "expiring_soon";
    case token_state::failed: return "failed";
  }
  return "none";
}

boost::system::result<issued_token> parse_installation_token(unsigned status, std::string_view body) {
  if (status != 201) return make_error_code(credential_error::token_rejected);
  if (body.size() > max_token_response_bytes) {
    return make_error_code(credential_error::token_response_malformed);
  }
  boost::system::error_code ec;
  auto document = boost::json::parse(body, ec);
  if (ec || !document.is_object()) return make_error_code(credential_error::token_response_malformed);
  auto& object = document.get_object();
  auto* token = object.if_contains("token");
  const auto* expires = object.if_contains("expires_at");
  std::optional<time_point> expires_at;
  if (expires && expires->is_string()) expires_at = detail::parse_rfc3339_utc(expires->get_string());
  const bool token_ok = token && token->is_string() && header_safe(token->get_string());
  if (!token_ok || !expires_at) {
    if (token && token->is_string()) OPENSSL_cleanse(token->get_string().data(), token->get_string().size());
    return make_error_code(credential_error::token_response_malformed);
  }
  issued_token out{std::string(token->get_string()), *expires_at};
  OPENSSL_cleanse(token->get_string().data(), token->get_string().size());
  return out;
}

installation_token::installation_token(installation_token_policy policy) : policy_(policy) {}

bool installation_token::usable(time_point now) const {
  return token_ && now + policy_.expiry_margin < token_->expires_at;
}

token_state installation_token::state(time_point now) const {
  if (usable(now)) return now >= renew_at_ ? token_state::expiring_soon : token_state::valid;
  if (in_flight_) return token_state::renewing;
  if (failures_ > 0) return token_state::failed;
  return token_state::none;
}

installation_token::access installation_token::check(time_point now) const {
  if (usable(now)) return access::use;
  if (in_flight_ || !backing_off(now)) return access::wait;
  return access::unavailable;
}

std::optional<token_lease> installation_token::current(time_point now) const {
  if (!usable(now)) return std::nullopt;
  return token_lease{token_->token, generation_, issued_at_};
}

bool installation_token::renewal_due(time_point now) const {
  if (in_flight_ || backing_off(now)) return false;
  return !usable(now) || now >= renew_at_;
}

bool installation_token::try_begin_renewal(time_point now) {
  if (!renewal_due(now)) return false;
  in_flight_ = true;
  return true;
}

void installation_token::renewal_succeeded(issued_token token, time_point now) {
  in_flight_ = false;
  const auto lifetime = std::max(token.expires_at - now, std::chrono::seconds(0));
  const auto by_share = now + lifetime * policy_.renew_at_percent / 100;
  const auto by_margin = token.expires_at - policy_.renew_before;
  const auto renew_at = std::min(by_share, by_margin);
  if (renew_at <= now || now + policy_.expiry_margin >= token.expires_at) {
    // A token already due for renewal: shorter-lived than renew_before or
    // the expiry margin, or GitHub's clock is off. Renewing again at once
    // would ask GitHub in a loop, so for scheduling this is a failure (back
    // off); the token is still handed out for as long as it is usable,
    // unless the one held lasts longer.
    if (token_ && token_->expires_at >= token.expires_at) {
      wipe(token.token);
    } else {
      adopt(std::move(token), renew_at, now);
    }
    auto next = now + backoff_after(failures_, policy_);
    // Not past the end of the held token's use, so that a long backoff
    // leaves no gap between short-lived tokens; but never sooner than the
    // first backoff step.
    const auto usable_until = token_ ? token_->expires_at - policy_.expiry_margin : now;
    if (usable_until > now + policy_.backoff_initial) next = std::min(next, usable_until);
    next_attempt_ = next;
    ++failures_;
    return;
  }
  adopt(std::move(token), renew_at, now);
  failures_ = 0;
  next_attempt_.reset();
}

void installation_token::adopt(issued_token token, time_point renew_at, time_point now) {
  if (token_) wipe(token_->token);
  renew_at_ = renew_at;
  token_ = std::move(token);
  issued_at_ = now;
  ++generation_;
}

void installation_token::renewal_failed(time_point now) {
  in_flight_ = false;
  next_attempt_ = now + backoff_after(failures_, policy_);
  ++failures_;
}

void installation_token::invalidate(std::uint64_t generation) {
  if (!token_ || generation != generation_) return;
  wipe(token_->token);
  token_.reset();
}

std::optional<time_point> installation_token::renew_at() const {
  if (!token_) return std::nullopt;
  return renew_at_;
}

std::optional<time_point> installation_token::next_attempt_at() const { return next_attempt_; }

}  // namespace github_proxy::credentials
