// Errors of the credential pool (a `boost::system::error_category` named
// "credentials"). Messages name what failed, never a secret: no token, JWT
// or key material ever appears in an error (docs/contract.md §8).
#pragma once

#include <type_traits>

#include <boost/system/error_code.hpp>

namespace github_proxy::credentials {

enum class credential_error {
  key_unreadable = 1,        // the App's private_key_file cannot be read
  key_invalid,               // it is not a usable RSA private key in PEM
  issuer_invalid,            // neither a numeric app_id nor a client_id
  jwt_failed,                // libjwt could not build or sign the JWT
  token_rejected,            // POST …/access_tokens answered other than 201
  token_response_malformed,  // the 201 body lacks a usable token or expires_at
};

const boost::system::error_category& credential_category();
boost::system::error_code make_error_code(credential_error e);

}  // namespace github_proxy::credentials

template <>
struct boost::system::is_error_code_enum<github_proxy::credentials::credential_error> : std::true_type {};
