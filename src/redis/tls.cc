#include "redis/tls.h"

#include "common/tls_warmup.h"

#include <stdexcept>

#include <boost/system/system_error.hpp>

namespace github_proxy::redis {

namespace asio = boost::asio;

std::shared_ptr<const tls_settings> make_tls_settings(const config::redis_tls_config& config) {
  auto settings = std::make_shared<tls_settings>();
  auto& context = settings->context;
  context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                      asio::ssl::context::no_tlsv1_1);
  context.set_verify_mode(asio::ssl::verify_peer);
  auto attempt = [](const std::string& what, auto&& step) {
    try {
      step();
    } catch (const boost::system::system_error& e) {
      throw std::invalid_argument(what + ": " + e.code().message());
    }
  };
  if (config.ca_file.empty()) {
    attempt("cannot load the system's CA store", [&] { context.set_default_verify_paths(); });
  } else {
    attempt("cache.redis.tls.ca_file " + config.ca_file + " is not a PEM CA bundle",
            [&] { context.load_verify_file(config.ca_file); });
  }
  if (!config.cert_file.empty()) {
    attempt("cache.redis.tls.cert_file " + config.cert_file + " is not a PEM certificate chain",
            [&] { context.use_certificate_chain_file(config.cert_file); });
    attempt("cache.redis.tls.key_file " + config.key_file + " is not a PEM key for cache.redis.tls.cert_file",
            [&] { context.use_private_key_file(config.key_file, asio::ssl::context::pem); });
  }
  settings->server_name = config.server_name;
  // Shared by every I/O thread from here on (common/tls_warmup.h).
  common::warm_certificate_caches(context.native_handle());
  return settings;
}

}  // namespace github_proxy::redis
