// The requests the credential pool itself sends upstream: a GitHub App's
// installation token (docs/github-api.md §5), and the probe that asks
// whether GitHub accepts a broken token again (§3.2: GET /rate_limit costs
// no quota). The proxy implements them over its upstream client; tests use
// a fake.
#pragma once

#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

namespace github_proxy::credentials {

// What came back from POST …/access_tokens or GET /rate_limit.
struct issuer_response {
  // Set when there was no answer (connect error, timeout); status is then 0.
  boost::system::error_code error;
  unsigned status = 0;
  std::string body;  // decoded (no Content-Encoding); parse_installation_token reads it
  std::string date;  // GitHub's Date header, empty when absent (the pool learns clock skew from it)
};

// Threading: both calls may be made from any thread; the pool runs each as
// its own coroutine on the executor of the request that started it, with at
// most one renewal per App and one probe per credential in flight.
// Lifetime: shared by the pool and its renewals and probes in flight.
class token_issuer {
 public:
  virtual ~token_issuer() = default;

  // POST {upstream}/app/installations/{installation_id}/access_tokens with
  // `Authorization: Bearer <jwt>` and no body. Must complete within the
  // upstream request timeout (the pool does not time renewals out itself;
  // its waiters are bounded by pool_options::wait_timeout). Expected failures
  // come back as values (`error`, `status`); an exception counts as a failed
  // renewal. Never log the JWT or the response body (it holds the token).
  virtual boost::asio::awaitable<issuer_response> request_installation_token(std::string_view installation_id,
                                                                             std::string jwt) = 0;

  // GET {upstream}/rate_limit with `Authorization: <authorization>` (the
  // whole header value, as a lease carries it: "token …"), for a token that
  // GitHub answered 401 "Bad credentials": a 200 says it works again, a 401
  // that it still does not. Same rules as above: bounded by the upstream
  // request timeout, failures as values, an exception counts as no answer;
  // `body` may be left empty (the pool does not read it), `date` should be
  // filled. Never log the header.
  //
  // The default answers `operation_not_supported` without sending anything:
  // an issuer that does not probe leaves a broken token broken until
  // pool::reload_secrets (SIGHUP).
  virtual boost::asio::awaitable<issuer_response> probe_credential(std::string authorization);
};

}  // namespace github_proxy::credentials
