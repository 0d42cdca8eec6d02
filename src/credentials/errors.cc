#include "github_proxy/credentials/errors.h"

#include <string>

namespace github_proxy::credentials {

namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "credentials"; }
  std::string message(int value) const override {
    switch (static_cast<credential_error>(value)) {
      case credential_error::key_unreadable:
        return "the GitHub App private key file cannot be read";
      case credential_error::key_invalid:
        return "the GitHub App private key is not an RSA private key in PEM form";
      case credential_error::issuer_invalid:
        return "the GitHub App needs a numeric app_id or a client_id";
      case credential_error::jwt_failed:
        return "signing the GitHub App JWT failed";
      case credential_error::token_rejected:
        return "GitHub did not issue an installation token";
      case credential_error::token_response_malformed:
        return "the installation token response has no usable token or expires_at";
    }
    return "unknown credentials error";
  }
};

}  // namespace

const boost::system::error_category& credential_category() {
  static const category instance;
  return instance;
}

boost::system::error_code make_error_code(credential_error e) {
  return {static_cast<int>(e), credential_category()};
}

}  // namespace github_proxy::credentials
