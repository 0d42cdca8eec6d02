#include "common/tls_warmup.h"

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

namespace github_proxy::common {

void warm_certificate_caches(SSL_CTX* context) {
  // X509_check_purpose with -1 only fills the cache (ossl_x509v3_cache_extensions).
  if (X509_STORE* store = SSL_CTX_get_cert_store(context)) {
    STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
    for (int i = 0; objects && i < sk_X509_OBJECT_num(objects); ++i) {
      if (X509* certificate = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i))) {
        X509_check_purpose(certificate, -1, 0);
      }
    }
  }
  if (X509* own = SSL_CTX_get0_certificate(context)) X509_check_purpose(own, -1, 0);
}

}  // namespace github_proxy::common
