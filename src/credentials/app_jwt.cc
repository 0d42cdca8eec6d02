#include "github_proxy/credentials/app_jwt.h"

#include <jwt.h>
#include <openssl/crypto.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include "credentials/time_text.h"
#include "github_proxy/credentials/errors.h"

namespace github_proxy::credentials {

namespace {

constexpr std::size_t max_key_bytes = 64 * 1024;

struct jwt_deleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
// libjwt 1.10 allocates its output with malloc and has no jwt_free_str.
// The JWT is a credential for nine minutes: wipe the C copy.
struct encoded_deleter {
  void operator()(char* text) const {
    OPENSSL_cleanse(text, std::strlen(text));
    std::free(text);
  }
};

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

boost::system::result<app_issuer> issuer_of(const config::credential_config& credential) {
  if (!credential.app_id.empty()) {
    long value = 0;
    const auto* first = credential.app_id.data();
    const auto* last = first + credential.app_id.size();
    const auto [end, ec] = std::from_chars(first, last, value);
    if (!all_digits(credential.app_id) || ec != std::errc() || end != last || value <= 0) {
      return make_error_code(credential_error::issuer_invalid);
    }
    return app_issuer{credential.app_id, true};
  }
  if (!credential.client_id.empty()) return app_issuer{credential.client_id, false};
  return make_error_code(credential_error::issuer_invalid);
}

app_jwt_signer::app_jwt_signer(app_issuer issuer, std::string pem)
    : issuer_(std::move(issuer)), pem_(std::move(pem)) {}

app_jwt_signer::app_jwt_signer(app_jwt_signer&& other) noexcept
    : issuer_(std::move(other.issuer_)), pem_(std::move(other.pem_)) {
  other.wipe();
}

app_jwt_signer& app_jwt_signer::operator=(app_jwt_signer&& other) noexcept {
  if (this != &other) {
    wipe();
    issuer_ = std::move(other.issuer_);
    pem_ = std::move(other.pem_);
    other.wipe();
  }
  return *this;
}

app_jwt_signer::~app_jwt_signer() { wipe(); }

void app_jwt_signer::wipe() {
  if (!pem_.empty()) OPENSSL_cleanse(pem_.data(), pem_.size());
  pem_.clear();
}

boost::system::result<app_jwt_signer> app_jwt_signer::load(const config::credential_config& credential) {
  auto issuer = issuer_of(credential);
  if (!issuer) return issuer.error();
  std::ifstream in(credential.private_key_file, std::ios::binary);
  if (!in) return make_error_code(credential_error::key_unreadable);
  std::string pem;
  pem.reserve(4096);
  char chunk[4096];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    pem.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (pem.size() > max_key_bytes) break;
  }
  OPENSSL_cleanse(chunk, sizeof chunk);
  if (in.bad()) {
    OPENSSL_cleanse(pem.data(), pem.size());
    return make_error_code(credential_error::key_unreadable);
  }
  if (pem.size() > max_key_bytes) {
    OPENSSL_cleanse(pem.data(), pem.size());
    return make_error_code(credential_error::key_invalid);
  }
  return from_pem(std::move(*issuer), std::move(pem));
}

boost::system::result<app_jwt_signer> app_jwt_signer::from_pem(app_issuer issuer, std::string pem) {
  app_jwt_signer signer(std::move(issuer), std::move(pem));
  if (signer.issuer_.value.empty() || (signer.issuer_.numeric && !all_digits(signer.issuer_.value))) {
    return make_error_code(credential_error::issuer_invalid);
  }
  // libjwt reads the key only when signing: sign once so that a wrong file
  // is a startup error, not the first renewal's.
  if (!signer.sign(from_epoch_seconds(1'700'000'000))) {
    return make_error_code(credential_error::key_invalid);
  }
  return signer;
}

boost::system::result<std::string> app_jwt_signer::sign(time_point server_now) const {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0 || !raw) return make_error_code(credential_error::jwt_failed);
  const std::unique_ptr<jwt_t, jwt_deleter> jwt(raw);
  const long iat = static_cast<long>(to_epoch_seconds(server_now - jwt_backdate));
  const long exp = static_cast<long>(to_epoch_seconds(server_now + jwt_lifetime));
  int rc = jwt_add_grant_int(jwt.get(), "iat", iat);
  if (rc == 0) rc = jwt_add_grant_int(jwt.get(), "exp", exp);
  if (rc == 0) {
    rc = issuer_.numeric ? jwt_add_grant_int(jwt.get(), "iss", std::strtol(issuer_.value.c_str(), nullptr, 10))
                         : jwt_add_grant(jwt.get(), "iss", issuer_.value.c_str());
  }
  if (rc == 0) {
    rc = jwt_set_alg(jwt.get(), JWT_ALG_RS256, reinterpret_cast<const unsigned char*>(pem_.data()),
                     static_cast<int>(pem_.size()));
  }
  if (rc != 0) return make_error_code(credential_error::jwt_failed);
  const std::unique_ptr<char, encoded_deleter> encoded(jwt_encode_str(jwt.get()));
  if (!encoded) return make_error_code(credential_error::jwt_failed);
  return std::string(encoded.get());
}

bool clock_skew::observe(std::string_view date_header, time_point local_now) {
  const auto server = detail::parse_http_date(date_header);
  if (!server) return false;
  offset_seconds_.store((*server - local_now).count(), std::memory_order_relaxed);
  return true;
}

}  // namespace github_proxy::credentials
