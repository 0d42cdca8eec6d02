// How the credential pool obtains a GitHub App installation token
// (docs/github-api.md §5): the one request the pool needs sent upstream.
// The proxy implements it over its upstream client; tests use a fake.
#pragma once

#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

namespace github_proxy::credentials {

// What came back from POST …/access_tokens.
struct issuer_response {
  // Set when there was no answer (connect error, timeout); status is then 0.
  boost::system::error_code error;
  unsigned status = 0;
  std::string body;  // decoded (no Content-Encoding); parse_installation_token reads it
  std::string date;  // GitHub's Date header, empty when absent (the pool learns clock skew from it)
};

// Threading: `request_installation_token` may be called from any thread; the
// pool runs each call as its own coroutine on the executor of the request
// that started the renewal, and at most one call per App is in flight.
// Lifetime: shared by the pool and its renewals in flight.
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
};

}  // namespace github_proxy::credentials
