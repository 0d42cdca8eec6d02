// Renewing a GitHub App's installation token (docs/contract.md §7, docs/github-api.md
// §5): sign the JWT, ask the token issuer, feed the answer to the App's
// installation_token state machine, wake the pool's waiters.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include "github_proxy/config/config.h"

namespace github_proxy::credentials::detail {

struct pool_state;

// Runs one renewal of the App at `index`, whose slot the caller claimed with
// installation_token::try_begin_renewal. Never throws. When the frame is
// destroyed before the answer (its io_context went away), the renewal counts
// as failed, so the slot is never held for ever.
boost::asio::awaitable<void> renew(std::shared_ptr<pool_state> state, std::size_t index);

// "credential NAME: <what is wrong with the key> (private_key_file PATH)".
std::string describe_key_error(const config::credential_config& credential, boost::system::error_code ec);

}  // namespace github_proxy::credentials::detail
