// The Redis backend against the conformance suite, on a real redis-server
// started once for the suite on a free loopback port; each handle on an I/O
// thread of its own (threaded_backend.h). TLS, Sentinel and Cluster:
// redis_topologies_test.cc. Redis' clock cannot be driven: the TTL tests are
// skipped here and covered with PTTL in redis_store_test.cc.
#include <chrono>
#include <stdexcept>
#include <vector>

#include "conformance/cache_store_conformance.h"
#include "github_proxy/redis/redis_backend.h"
#include "support/redis_server.h"
#include "unit/redis/threaded_backend.h"

namespace github_proxy::cache {
namespace {

using conformance::CacheStoreConformance;

ghp_test::redis_server& shared_server() {
  static ghp_test::redis_server server;  // stopped at exit
  return server;
}

// Always instantiated: without redis-server every test fails naming it,
// rather than the suite vanishing from the run.
std::vector<conformance::backend_param> redis_params() {
  conformance::backend_param param;
  param.name = "redis";
  param.make_backend = [] {
    if (!ghp_test::redis_server::available()) throw std::runtime_error(ghp_test::redis_server::not_installed);
    config::redis_cache_config config;
    config.url = shared_server().url();
    config.key_prefix = "ghp-conformance:";
    config.timeout = std::chrono::seconds(2);  // a busy CI machine is not a slow Redis
    return std::make_unique<threaded_backend>(redis::make_redis_backend(config));
  };
  param.advance_time = nullptr;
  return {param};
}

INSTANTIATE_TEST_SUITE_P(Redis, CacheStoreConformance, testing::ValuesIn(redis_params()), conformance::param_name);

}  // namespace
}  // namespace github_proxy::cache
