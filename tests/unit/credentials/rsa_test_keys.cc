#include "unit/credentials/rsa_test_keys.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <stdexcept>

namespace github_proxy::credentials::testing {

namespace {

struct pkey_deleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct bio_deleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

template <typename Write>
std::string to_pem(Write write) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) throw std::runtime_error("PEM encoding failed");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// ASCII only, whatever the locale (std::isalnum is not).
bool is_alphanumeric(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

}  // namespace

rsa_key_pems generate_rsa_key() {
  pkey_ptr key(EVP_RSA_gen(2048));
  if (!key) throw std::runtime_error("EVP_RSA_gen failed");
  rsa_key_pems out;
  out.private_pkcs8 = to_pem([&](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  out.private_pkcs1 = to_pem([&](BIO* bio) {
    return PEM_write_bio_PrivateKey_traditional(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  out.public_spki = to_pem([&](BIO* bio) { return PEM_write_bio_PUBKEY(bio, key.get()); });
  return out;
}

std::string generate_ec_key_pem() {
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) throw std::runtime_error("EVP_EC_gen failed");
  return to_pem([&](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string standard(text);
  for (char& c : standard) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    // Nothing outside the base64url alphabet (RFC 4648 §5): EVP_DecodeBlock
    // skips leading and trailing whitespace, so "    QUJD" would decode as "ABC".
    else if (!is_alphanumeric(c)) return std::nullopt;
  }
  const std::size_t padding = (4 - standard.size() % 4) % 4;
  if (padding == 3) return std::nullopt;
  standard.append(padding, '=');
  std::string out(standard.size() / 4 * 3, '\0');
  const int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(standard.data()),
                                      static_cast<int>(standard.size()));
  if (written < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes: drop them.
  out.resize(static_cast<std::size_t>(written) - padding);
  return out;
}

std::optional<jws_parts> split_jws(std::string_view compact) {
  const auto first = compact.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = compact.find('.', first + 1);
  if (second == std::string_view::npos || compact.find('.', second + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  auto header = base64url_decode(compact.substr(0, first));
  auto claims = base64url_decode(compact.substr(first + 1, second - first - 1));
  auto signature = base64url_decode(compact.substr(second + 1));
  if (!header || !claims || !signature) return std::nullopt;
  return jws_parts{std::move(*header), std::move(*claims), std::string(compact.substr(0, second)),
                   std::move(*signature)};
}

bool verify_rs256(const jws_parts& jws, const std::string& public_pem) {
  bio_ptr bio(BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())));
  pkey_ptr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) return false;
  std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key.get()) != 1) return false;
  if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(jws.signature.data()),
                          jws.signature.size(),
                          reinterpret_cast<const unsigned char*>(jws.signing_input.data()),
                          jws.signing_input.size()) == 1;
}

}  // namespace github_proxy::credentials::testing
