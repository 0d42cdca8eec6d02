// TLS to Redis (`rediss://`, cache.redis.tls.*): one client context for the
// process, shared by every connection of every I/O thread.
//
// The server is verified against `ca_file`, or the system's store when none is
// given; its certificate must name the host the connection dials (an IP
// literal is checked against the certificate's IP addresses), or
// `server_name` when set, which is also sent as SNI. A client certificate is
// presented when `cert_file` and `key_file` are set. TLS 1.2 at least.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "github_proxy/config/config.h"

namespace github_proxy::redis {

struct tls_settings {
  // Mutable: ssl::stream takes a non-const context, though a stream only
  // reads it (SSL_new), so one context serves every thread once set up.
  mutable boost::asio::ssl::context context{boost::asio::ssl::context::tls_client};
  std::string server_name;  // empty: the host dialled
};

// Throws std::invalid_argument naming the file that cannot be used.
std::shared_ptr<const tls_settings> make_tls_settings(const config::redis_tls_config& config);

}  // namespace github_proxy::redis
