// The GitHub App JWT as GitHub checks it (docs/github-api.md §5): a compact
// RS256 JWS whose `iss` names the App, verified with OpenSSL EVP against the
// App's RSA public key, then GitHub's claim rules with GitHub's 401 texts.
// No I/O and no shared state: every function here is pure.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <openssl/evp.h>

namespace fake_github {

// GitHub's 401 messages for App JWTs (docs/github-api.md §5, octokit auth-app hook.ts).
inline constexpr std::string_view jwt_undecodable = "A JSON web token could not be decoded";
inline constexpr std::string_view jwt_exp_too_far = "'Expiration time' claim ('exp') is too far in the future";
inline constexpr std::string_view jwt_exp_invalid =
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the "
    "assertion expires";
inline constexpr std::string_view jwt_iat_invalid =
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";

// D-jwt: exp "no more than 10 minutes into the future"; GitHub tolerates an
// `iat` up to a minute ahead of its clock (its docs recommend backdating by
// 60 s for that reason).
inline constexpr std::int64_t jwt_max_lifetime = 600;
inline constexpr std::int64_t jwt_iat_leeway = 60;

struct evp_pkey_deleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using public_key = std::shared_ptr<EVP_PKEY>;

// An RSA key from PEM text: "PUBLIC KEY" (SubjectPublicKeyInfo), "RSA PUBLIC
// KEY" (PKCS#1), or a private key ("PRIVATE KEY" / "RSA PRIVATE KEY"; its
// public half is used), so a test can hand the fake the proxy's key file.
// Throws std::invalid_argument when the text holds no RSA key.
public_key load_rsa_public_key(std::string_view pem);

struct decoded_jwt {
  boost::json::object header;
  boost::json::object claims;
  std::string issuer;          // `iss` as text: a number's digits, or the string
  std::string signing_input;   // "<header b64url>.<claims b64url>"
  std::string signature;       // raw bytes
};

// Splits and base64url-decodes a compact JWS with JSON-object header and
// claims, `alg` RS256 and an `iss` that is a number or a non-empty string.
// nullopt → 401 jwt_undecodable.
std::optional<decoded_jwt> decode_app_jwt(std::string_view compact);

// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3) over the signing input.
bool signature_valid(const decoded_jwt& jwt, EVP_PKEY* key);

// GitHub's claim rules at `now` (Unix seconds): `iat` an integer at most
// jwt_iat_leeway ahead; `exp` an integer after now; exp − iat ≤ 600 s.
// nullopt when acceptable, else the 401 message.
std::optional<std::string_view> claims_error(const decoded_jwt& jwt, std::int64_t now);

}  // namespace fake_github
