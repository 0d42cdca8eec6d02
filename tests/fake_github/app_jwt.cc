#include "app_jwt.h"

#include <cctype>
#include <climits>
#include <stdexcept>

#include <boost/json/parse.hpp>
#include <openssl/decoder.h>

#include "body_codec.h"

namespace fake_github {
namespace json = boost::json;
namespace {

// RFC 7515 §2: base64url without padding.
std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 == 1) return std::nullopt;
  std::string standard;
  standard.reserve(text.size() + 3);
  for (char c : text) {
    if (c == '-') standard.push_back('+');
    else if (c == '_') standard.push_back('/');
    else if (std::isalnum(static_cast<unsigned char>(c))) standard.push_back(c);
    else return std::nullopt;
  }
  while (standard.size() % 4 != 0) standard.push_back('=');
  return base64_decode(standard);
}

std::optional<json::object> json_object_of(std::string_view b64url) {
  auto text = base64url_decode(b64url);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::optional<std::int64_t> integer_claim(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->get_uint64());
  return std::nullopt;
}

}  // namespace

public_key load_rsa_public_key(std::string_view pem) {
  EVP_PKEY* raw = nullptr;
  // Selection 0: let the decoder take whichever PEM structure it finds.
  OSSL_DECODER_CTX* ctx = OSSL_DECODER_CTX_new_for_pkey(&raw, "PEM", nullptr, "RSA", 0, nullptr, nullptr);
  if (ctx == nullptr) throw std::invalid_argument("no OpenSSL decoder for RSA PEM keys");
  const auto* data = reinterpret_cast<const unsigned char*>(pem.data());
  std::size_t length = pem.size();
  const bool decoded = OSSL_DECODER_from_data(ctx, &data, &length) == 1;
  OSSL_DECODER_CTX_free(ctx);
  public_key key(raw, evp_pkey_deleter{});
  if (!decoded || !key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA)
    throw std::invalid_argument("not a PEM RSA key");
  return key;
}

std::optional<decoded_jwt> decode_app_jwt(std::string_view compact) {
  const std::size_t first = compact.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const std::size_t second = compact.find('.', first + 1);
  if (second == std::string_view::npos || compact.find('.', second + 1) != std::string_view::npos)
    return std::nullopt;

  decoded_jwt jwt;
  auto header = json_object_of(compact.substr(0, first));
  auto claims = json_object_of(compact.substr(first + 1, second - first - 1));
  auto signature = base64url_decode(compact.substr(second + 1));
  if (!header || !claims || !signature) return std::nullopt;

  // D-jwt: GitHub Apps sign with RS256 only.
  const json::value* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string() || alg->get_string() != "RS256") return std::nullopt;

  const json::value* iss = claims->if_contains("iss");
  if (iss == nullptr) return std::nullopt;
  if (iss->is_int64() && iss->get_int64() > 0) jwt.issuer = std::to_string(iss->get_int64());
  else if (iss->is_uint64()) jwt.issuer = std::to_string(iss->get_uint64());
  else if (iss->is_string() && !iss->get_string().empty()) jwt.issuer = iss->get_string();
  else return std::nullopt;

  jwt.header = std::move(*header);
  jwt.claims = std::move(*claims);
  jwt.signing_input = compact.substr(0, second);
  jwt.signature = std::move(*signature);
  return jwt;
}

bool signature_valid(const decoded_jwt& jwt, EVP_PKEY* key) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  bool valid = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
               EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(jwt.signature.data()),
                                jwt.signature.size(),
                                reinterpret_cast<const unsigned char*>(jwt.signing_input.data()),
                                jwt.signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return valid;
}

std::optional<std::string_view> claims_error(const decoded_jwt& jwt, std::int64_t now) {
  // iat first: octokit corrects its clock from `Date` on this message (docs/github-api.md §5).
  auto iat = integer_claim(jwt.claims, "iat");
  if (!iat || *iat > now + jwt_iat_leeway) return jwt_iat_invalid;
  auto exp = integer_claim(jwt.claims, "exp");
  if (!exp || *exp <= now) return jwt_exp_invalid;
  if (*exp > *iat + jwt_max_lifetime) return jwt_exp_too_far;  // iat ≤ now + 60: no overflow
  return std::nullopt;
}

}  // namespace fake_github
