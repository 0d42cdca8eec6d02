// Test-time PKI for integration tests, generated with the OpenSSL 3 C API so
// no key is ever checked in.
#pragma once

#include <string>

namespace ghp_test {

// Paths of the PEM files written into the directory.
struct test_pki {
  std::string ca_cert;      // <dir>/ca.pem: self-signed CA (CA:TRUE, keyCertSign)
  std::string server_cert;  // <dir>/server.pem: signed by the CA, SAN DNS:localhost, IP:127.0.0.1
  std::string server_key;   // <dir>/server-key.pem: its EC P-256 private key (PKCS#8)
  std::string client_cert;  // <dir>/client.pem: signed by the CA, CN=github-proxy, clientAuth
  std::string client_key;   // <dir>/client-key.pem
};

// Keys are EC P-256 (fast to generate). Creates `dir` if needed; certificates
// are valid from an hour ago for 30 days. Throws std::runtime_error (with
// OpenSSL's reason) on failure.
test_pki generate_test_pki(const std::string& dir);

struct rsa_key_files {
  std::string private_key;  // <dir>/<stem>.pem: "BEGIN RSA PRIVATE KEY" (PKCS#1, like GitHub App keys)
  std::string public_key;   // <dir>/<stem>.pub.pem: "BEGIN PUBLIC KEY" (SubjectPublicKeyInfo)
};

// A fresh RSA-2048 key pair. Throws std::runtime_error on failure.
rsa_key_files generate_rsa_key(const std::string& dir, const std::string& stem);

}  // namespace ghp_test
