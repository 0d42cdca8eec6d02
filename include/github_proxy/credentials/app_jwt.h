// Authenticating as a GitHub App (docs/contract.md §7, docs/github-api.md §5): the
// RS256 JWT that buys installation tokens, signed with libjwt on OpenSSL,
// and the clock-skew correction that keeps its `iat`/`exp` acceptable to
// GitHub when the local clock drifts (octokit corrects from `Date` too).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

#include "github_proxy/config/config.h"
#include "github_proxy/credentials/clock.h"

namespace github_proxy::credentials {

// `iss`: the App ID as a JSON integer, or the client ID ("Iv1.…", GitHub's
// recommendation since 2024) as a string.
struct app_issuer {
  std::string value;
  bool numeric = false;
};

// From a `type: app` credential: `app_id` (digits only) or `client_id`.
// Error: credential_error::issuer_invalid.
boost::system::result<app_issuer> issuer_of(const config::credential_config& credential);

// "we recommend that you set this 60 seconds in the past"; "no more than 10
// minutes into the future" (D-jwt): exp − iat stays within 10 minutes even
// when GitHub measures exp against a clock a little ahead of ours.
inline constexpr std::chrono::seconds jwt_backdate{60};
inline constexpr std::chrono::seconds jwt_lifetime{9 * 60};

// Holds one App's private key and signs its JWTs.
//
// Threading: `sign` is const and builds its own libjwt object per call, so it
// may run on any number of threads at once. Lifetime: the PEM is wiped
// (OPENSSL_cleanse) when the signer is destroyed or moved from; it never
// appears in an error.
class app_jwt_signer {
 public:
  // Reads `private_key_file` (at most 64 KiB) and proves the key by signing
  // once. Errors: key_unreadable, key_invalid, issuer_invalid.
  static boost::system::result<app_jwt_signer> load(const config::credential_config& credential);
  // The same from PEM text (PKCS#1 "RSA PRIVATE KEY", as GitHub hands it
  // out, or PKCS#8). Errors: key_invalid, issuer_invalid.
  static boost::system::result<app_jwt_signer> from_pem(app_issuer issuer, std::string pem);

  app_jwt_signer(app_jwt_signer&& other) noexcept;
  app_jwt_signer& operator=(app_jwt_signer&& other) noexcept;
  app_jwt_signer(const app_jwt_signer&) = delete;
  app_jwt_signer& operator=(const app_jwt_signer&) = delete;
  ~app_jwt_signer();

  // A compact JWS: header {"alg":"RS256","typ":"JWT"}, claims
  // {"iat": server_now − 60 s, "exp": server_now + 9 min, "iss": …}.
  // `server_now` is GitHub's time: clock_skew::server_now(local now).
  // Error: jwt_failed.
  boost::system::result<std::string> sign(time_point server_now) const;

  const app_issuer& issuer() const { return issuer_; }

 private:
  app_jwt_signer(app_issuer issuer, std::string pem);
  void wipe();

  app_issuer issuer_;
  std::string pem_;
};

// The difference between GitHub's clock and ours, learnt from the `Date`
// header of GitHub's responses (RFC 9110 §6.6.1; one-second resolution).
//
// Threading: lock-free; `observe` and `server_now` may race from any thread.
class clock_skew {
 public:
  // Records `Date − local_now`. False (and nothing recorded) when the header
  // is not an HTTP date.
  bool observe(std::string_view date_header, time_point local_now);
  time_point server_now(time_point local_now) const { return local_now + offset(); }
  // Positive when GitHub's clock is ahead of ours.
  std::chrono::seconds offset() const {
    return std::chrono::seconds(offset_seconds_.load(std::memory_order_relaxed));
  }

 private:
  std::atomic<std::int64_t> offset_seconds_{0};
};

}  // namespace github_proxy::credentials
