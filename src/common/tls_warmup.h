// Makes a TLS context safe to share between threads before it is shared.
//
// OpenSSL caches a certificate's decoded extensions (key identifiers, basic
// constraints, purposes) the first time a handshake checks it as an issuer.
// In OpenSSL 3.0 two handshakes doing that at once on different threads race
// on the cache: one decodes under the certificate's lock while the other
// already compares the key identifiers (openssl/openssl#25202; seen by TSan
// in our CI with the Redis TLS context that every I/O thread shares). Doing
// it once, on the thread that built the context, leaves every handshake
// only reading.
//
// Certificates a hashed CA directory (the system store's) loads later, on a
// lookup, are not covered; the bundle file it loads first holds the roots.
#pragma once

#include <openssl/ssl.h>

namespace github_proxy::common {

// Decodes the extensions of every certificate in the context's trust store
// and of its own certificate, if any. Call after loading them, before the
// context is used on another thread.
void warm_certificate_caches(SSL_CTX* context);

}  // namespace github_proxy::common
