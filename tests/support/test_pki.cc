#include "test_pki.h"

#include <filesystem>
#include <memory>
#include <stdexcept>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace ghp_test {
namespace {

struct pkey_free { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct x509_free { void operator()(X509* p) const { X509_free(p); } };
struct bio_free { void operator()(BIO* p) const { BIO_free_all(p); } };
struct ext_free { void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); } };
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, ext_free>;

[[noreturn]] void fail(const std::string& what) {
  std::string reason;
  if (unsigned long code = ERR_get_error(); code != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    reason = std::string(": ") + buffer;
  }
  ERR_clear_error();
  throw std::runtime_error("test PKI: " + what + reason);
}

void check(int ok, const std::string& what) {
  if (ok != 1) fail(what);
}

pkey_ptr ec_key() {
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) fail("EC key generation");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ext_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext) fail(std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
  check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

// A v3 certificate for `key`, named CN=<common_name>, valid -1 h .. +30 days.
x509_ptr new_certificate(EVP_PKEY* key, const char* common_name) {
  x509_ptr cert(X509_new());
  if (!cert) fail("X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");
  unsigned char serial_bytes[16];
  check(RAND_bytes(serial_bytes, sizeof serial_bytes), "RAND_bytes");
  serial_bytes[0] &= 0x7F;  // positive serial (RFC 5280 §4.1.2.2)
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  if (serial == nullptr || BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get())) == nullptr) {
    BN_free(serial);
    fail("serial number");
  }
  BN_free(serial);
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600) == nullptr)
    fail("validity");
  check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("github-proxy tests"), -1, -1, 0),
        "subject O");
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0),
        "subject CN");
  return cert;
}

bio_ptr open_file(const std::string& path, bool secret) {
  bio_ptr bio(BIO_new_file(path.c_str(), "w"));
  if (!bio) fail("cannot open " + path);
  if (secret) {
    std::error_code ec;
    std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::replace, ec);
  }
  return bio;
}

void write_certificate(const std::string& path, X509* cert) {
  check(PEM_write_bio_X509(open_file(path, false).get(), cert), "write " + path);
}

void write_private_key(const std::string& path, EVP_PKEY* key) {
  check(PEM_write_bio_PrivateKey(open_file(path, true).get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        "write " + path);
}

// A leaf certificate for `key`, signed by `ca`: CN=`name`, the one extended
// key usage given, and subject alternative names when `san` is not null.
x509_ptr issue(X509* ca, EVP_PKEY* ca_key, EVP_PKEY* key, const char* name, const char* usage, const char* san) {
  x509_ptr cert = new_certificate(key, name);
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca)), std::string(name) + " issuer");
  add_extension(cert.get(), ca, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), ca, NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), ca, NID_ext_key_usage, usage);
  if (san) add_extension(cert.get(), ca, NID_subject_alt_name, san);
  add_extension(cert.get(), ca, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), ca, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert.get(), ca_key, EVP_sha256()) == 0) fail(std::string("sign ") + name + " certificate");
  return cert;
}

std::string in_dir(const std::string& dir, const std::string& file) {
  std::filesystem::create_directories(dir);
  return (std::filesystem::path(dir) / file).string();
}

}  // namespace

test_pki generate_test_pki(const std::string& dir) {
  test_pki files{in_dir(dir, "ca.pem"), in_dir(dir, "server.pem"), in_dir(dir, "server-key.pem"),
                 in_dir(dir, "client.pem"), in_dir(dir, "client-key.pem")};

  pkey_ptr ca_key = ec_key();
  x509_ptr ca = new_certificate(ca_key.get(), "github-proxy test CA");
  check(X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get())), "CA issuer");
  add_extension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(ca.get(), ca_key.get(), EVP_sha256()) == 0) fail("sign CA");

  pkey_ptr server_key = ec_key();
  x509_ptr server = issue(ca.get(), ca_key.get(), server_key.get(), "localhost", "serverAuth",
                          "DNS:localhost,IP:127.0.0.1");
  pkey_ptr client_key = ec_key();
  x509_ptr client = issue(ca.get(), ca_key.get(), client_key.get(), "github-proxy", "clientAuth", nullptr);

  write_certificate(files.ca_cert, ca.get());
  write_certificate(files.server_cert, server.get());
  write_private_key(files.server_key, server_key.get());
  write_certificate(files.client_cert, client.get());
  write_private_key(files.client_key, client_key.get());
  return files;
}

rsa_key_files generate_rsa_key(const std::string& dir, const std::string& stem) {
  rsa_key_files files{in_dir(dir, stem + ".pem"), in_dir(dir, stem + ".pub.pem")};
  pkey_ptr key(EVP_RSA_gen(2048));
  if (!key) fail("RSA-2048 key generation");
  check(PEM_write_bio_PrivateKey_traditional(open_file(files.private_key, true).get(), key.get(), nullptr,
                                             nullptr, 0, nullptr, nullptr),
        "write " + files.private_key);
  check(PEM_write_bio_PUBKEY(open_file(files.public_key, false).get(), key.get()), "write " + files.public_key);
  return files;
}

}  // namespace ghp_test
