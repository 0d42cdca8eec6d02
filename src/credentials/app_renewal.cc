#include "credentials/app_renewal.h"

#include <chrono>
#include <exception>
#include <mutex>
#include <utility>

#include <boost/system/result.hpp>
#include <openssl/crypto.h>

#include "credentials/pool_state.h"
#include "github_proxy/credentials/errors.h"

namespace github_proxy::credentials::detail {

namespace asio = boost::asio;

namespace {

// GitHub refuses a JWT whose iat lies ahead of its clock, or whose exp lies
// more than 10 minutes ahead or already behind: with jwt_backdate 60 s and
// jwt_lifetime 9 min, a skew of a minute or more can do that. When a refused
// request shows the skew moved by at least this much, sign again at once
// with GitHub's time (octokit's auth-app retries the same way).
constexpr std::chrono::seconds skew_retry_threshold{30};

void wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

// Ends the renewal exactly once: with its outcome, or as failed when the
// coroutine frame is destroyed first.
class renewal_scope {
 public:
  renewal_scope(pool_state& state, credential_slot& slot) : state_(state), slot_(slot) {}
  renewal_scope(const renewal_scope&) = delete;
  renewal_scope& operator=(const renewal_scope&) = delete;

  ~renewal_scope() {
    if (finished_) return;
    const std::lock_guard lock(slot_.mutex);
    slot_.app->token.renewal_failed(state_.now());
    slot_.app->renewal_error = make_error_code(credential_error::token_rejected);
    slot_.app->renewal_status = 0;
  }

  void finish(boost::system::result<issued_token> outcome, unsigned status) {
    finished_ = true;
    const auto now = state_.now();
    renewal_event event;
    event.credential = slot_.config.name;
    event.status = status;
    {
      const std::lock_guard lock(slot_.mutex);
      auto& app = *slot_.app;
      app.renewal_status = status;
      if (outcome) {
        event.expires_at = outcome->expires_at;
        app.token.renewal_succeeded(std::move(*outcome), now);
        wipe(app.authorization);
        if (auto current = app.token.current(now)) {
          app.authorization = "Bearer " + current->token;
          app.token_generation = current->generation;
          app.issued_at = current->issued_at;
          wipe(current->token);
        }
        app.renewal_error = {};
        slot_.limits.renewed();
      } else {
        app.token.renewal_failed(now);
        app.renewal_error = outcome.error();
        event.error = outcome.error();
      }
    }
    if (outcome) wipe(outcome->token);
    state_.wake.notify();
    if (state_.options.on_renewal) state_.options.on_renewal(event);
  }

 private:
  pool_state& state_;
  credential_slot& slot_;
  bool finished_ = false;
};

}  // namespace

asio::awaitable<void> renew(std::shared_ptr<pool_state> state, std::size_t index) {
  auto& slot = *state->slots[index];
  renewal_scope scope(*state, slot);
  std::shared_ptr<const app_jwt_signer> signer;
  std::string installation_id;
  {
    const std::lock_guard lock(slot.mutex);
    signer = slot.app->signer;
    installation_id = slot.app->installation_id;
  }

  boost::system::result<issued_token> outcome = make_error_code(credential_error::jwt_failed);
  unsigned status = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto jwt = signer->sign(state->now());
    if (!jwt) {
      outcome = jwt.error();
      break;
    }
    issuer_response response;
    bool threw = false;
    try {
      response = co_await state->issuer->request_installation_token(installation_id, std::move(*jwt));
    } catch (const std::exception&) {
      threw = true;  // counted as a failed renewal, like an answer that never came
    }
    if (threw) {
      outcome = make_error_code(credential_error::token_rejected);
      break;
    }
    const auto skew_before = state->skew.offset();
    if (!response.date.empty()) state->skew.observe(response.date, state->time.now());
    status = response.status;
    if (response.error) {
      outcome = response.error;
      break;
    }
    outcome = parse_installation_token(response.status, response.body);
    wipe(response.body);
    const auto moved = state->skew.offset() - skew_before;
    const bool skew_moved = moved >= skew_retry_threshold || -moved >= skew_retry_threshold;
    if (outcome || response.status != 401 || !skew_moved) break;
  }
  scope.finish(std::move(outcome), status);
}

std::string describe_key_error(const config::credential_config& credential, boost::system::error_code ec) {
  std::string text = "credential " + credential.name + ": " + ec.message();
  if (ec == make_error_code(credential_error::key_unreadable) ||
      ec == make_error_code(credential_error::key_invalid)) {
    text += " (private_key_file " + credential.private_key_file + ")";
  }
  return text;
}

app_slot::~app_slot() { wipe(authorization); }

void app_slot::restart(installation_token_policy policy) {
  token = installation_token(policy);
  ++epoch;
  wipe(authorization);
  token_generation = 0;
  renewal_error = {};
  renewal_status = 0;
}

}  // namespace github_proxy::credentials::detail
