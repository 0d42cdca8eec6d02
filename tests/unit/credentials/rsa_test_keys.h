// In-process RSA keys and RS256 verification for the App JWT tests, with
// OpenSSL EVP only (the JWT is built by libjwt; checking it with a second,
// independent implementation is the point).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace github_proxy::credentials::testing {

struct rsa_key_pems {
  std::string private_pkcs8;  // "-----BEGIN PRIVATE KEY-----"
  std::string private_pkcs1;  // "-----BEGIN RSA PRIVATE KEY-----", as GitHub hands it out
  std::string public_spki;    // "-----BEGIN PUBLIC KEY-----"
};

// A fresh 2048-bit key pair (EVP_RSA_gen).
rsa_key_pems generate_rsa_key();
// A P-256 private key in PEM: not an RSA key.
std::string generate_ec_key_pem();

// base64url (RFC 4648 §5, unpadded) → bytes, through EVP_DecodeBlock after
// restoring the standard alphabet and padding. nullopt when malformed.
std::optional<std::string> base64url_decode(std::string_view text);

struct jws_parts {
  std::string header_json;
  std::string claims_json;
  std::string signing_input;  // "<b64 header>.<b64 claims>"
  std::string signature;      // raw bytes
};
std::optional<jws_parts> split_jws(std::string_view compact);

// EVP_DigestVerify with SHA-256 and PKCS#1 v1.5 padding (RS256).
bool verify_rs256(const jws_parts& jws, const std::string& public_pem);

}  // namespace github_proxy::credentials::testing
