#include "credentials/token_probe.h"

#include <exception>
#include <mutex>
#include <string>
#include <utility>

#include <boost/asio/error.hpp>
#include <openssl/crypto.h>

#include "credentials/pool_state.h"

namespace github_proxy::credentials::detail {

namespace asio = boost::asio;

namespace {

// What GET /rate_limit says about the token (docs/github-api.md §3.2: it
// answers any valid credential, at no cost).
probe_result result_of(const issuer_response& response) {
  if (response.error) return probe_result::inconclusive;
  if (response.status == 200) return probe_result::accepted;
  if (response.status == 401) return probe_result::rejected;
  return probe_result::inconclusive;  // 5xx, a secondary limit: nothing about the token
}

// Ends the probe exactly once: with its result, or abandoned when the
// coroutine frame is destroyed first.
class probe_scope {
 public:
  probe_scope(pool_state& state, credential_slot& slot) : state_(state), slot_(slot) {}
  probe_scope(const probe_scope&) = delete;
  probe_scope& operator=(const probe_scope&) = delete;

  ~probe_scope() {
    if (finished_) return;
    const std::lock_guard lock(slot_.mutex);
    slot_.probe.abandon();
  }

  void finish(std::uint64_t generation, const issuer_response& response) {
    finished_ = true;
    const auto result = result_of(response);
    const auto now = state_.now();
    probe_event event;
    event.credential = slot_.config.name;
    event.error = response.error;
    event.status = response.status;
    {
      const std::lock_guard lock(slot_.mutex);
      if (generation != slot_.generation) {
        // The secret was reloaded meanwhile: this answer is about the old one.
        slot_.probe.abandon();
        return;
      }
      slot_.probe.finished(result, now);
      if (result == probe_result::accepted) {
        slot_.restore();
        event.accepted = true;
      } else {
        event.next_at = slot_.probe.next_at();
      }
    }
    if (event.accepted) state_.wake.notify();
    if (state_.options.on_probe) state_.options.on_probe(event);
  }

 private:
  pool_state& state_;
  credential_slot& slot_;
  bool finished_ = false;
};

}  // namespace

asio::awaitable<void> probe(std::shared_ptr<pool_state> state, std::size_t index) {
  auto& slot = *state->slots[index];
  probe_scope scope(*state, slot);
  std::string authorization;
  std::uint64_t generation = 0;
  {
    const std::lock_guard lock(slot.mutex);
    authorization = slot.authorization;
    generation = slot.generation;
  }
  issuer_response response;
  try {
    response = co_await state->issuer->probe_credential(std::move(authorization));
  } catch (const std::exception&) {
    response = issuer_response{};
    response.error = asio::error::connection_aborted;  // counted as no answer
  }
  if (!authorization.empty()) OPENSSL_cleanse(authorization.data(), authorization.size());
  if (!response.date.empty()) state->skew.observe(response.date, state->time.now());
  if (!response.body.empty()) OPENSSL_cleanse(response.body.data(), response.body.size());
  scope.finish(generation, response);
}

}  // namespace github_proxy::credentials::detail
