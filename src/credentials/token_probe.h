// Probing a broken token (docs/contract.md §7, docs/github-api.md §3.2): send
// GET /rate_limit with it through the token issuer, feed the answer to the
// token's probe_schedule, and make it usable again on a 200.
#pragma once

#include <cstddef>
#include <memory>

#include <boost/asio/awaitable.hpp>

namespace github_proxy::credentials::detail {

struct pool_state;

// Runs one probe of the token at `index`, whose probe the caller claimed
// with pool_state::claim_probe. Never throws. When the frame is destroyed
// before the answer (its io_context went away), the probe is abandoned, so
// the claim is never held for ever.
boost::asio::awaitable<void> probe(std::shared_ptr<pool_state> state, std::size_t index);

}  // namespace github_proxy::credentials::detail
