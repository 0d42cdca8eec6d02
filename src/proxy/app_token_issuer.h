// The credential pool's own upstream requests: POST
// …/app/installations/{id}/access_tokens for a GitHub App (docs/contract.md §7,
// docs/github-api.md §5), and GET /rate_limit to probe whether GitHub takes
// a token it refused before. Each is sent over a fresh connection to the
// REST upstream on the executor that started it: renewals happen about
// once an hour per App and probes at most once a minute per broken token,
// so no connection is kept.
#pragma once

#include <memory>

#include <boost/asio/ssl/context.hpp>

#include "github_proxy/config/config.h"
#include "github_proxy/credentials/token_issuer.h"
#include "github_proxy/upstream/endpoint.h"

namespace github_proxy::proxy {

// `rest` and `tls` must outlive the issuer.
std::shared_ptr<credentials::token_issuer> make_app_token_issuer(const upstream::endpoint& rest,
                                                                boost::asio::ssl::context* tls,
                                                                const config::upstream_config& cfg,
                                                                std::string user_agent);

}  // namespace github_proxy::proxy
