#include "github_proxy/credentials/token_issuer.h"

#include <boost/system/errc.hpp>
#include <openssl/crypto.h>

namespace github_proxy::credentials {

boost::asio::awaitable<issuer_response> token_issuer::probe_credential(std::string authorization) {
  if (!authorization.empty()) OPENSSL_cleanse(authorization.data(), authorization.size());
  issuer_response out;
  out.error = make_error_code(boost::system::errc::operation_not_supported);
  co_return out;
}

}  // namespace github_proxy::credentials
