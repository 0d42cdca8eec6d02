// The Redis cache backend (docs/contract.md §6 "Backends"): entries shared by every
// replica, each with a TTL, under `key_prefix`.
//
//   get   = GET prefix+key          (a nil reply is a miss)
//   put   = SET prefix+key value PX ttl   (ttl 0 → cache.redis.ttl)
//   erase = DEL prefix+key
//
// Values are binary-safe. Every operation completes within
// `cache.redis.timeout` (else store_error::timeout), and at once with
// store_error::unavailable while Redis is down or being reconnected to, so
// a Redis outage degrades the proxy to pass-through; each handle's
// connection reconnects by itself with exponential backoff (100 ms → 5 s).
// Only a new handle's very first connection attempt is waited for (within
// the timeout), so that start-up does not turn into misses. A value of
// another Redis type under a key reads as store_error::corrupt; other Redis
// error replies (OOM, READONLY, LOADING, NOAUTH) as unavailable.
//
// Threading: `for_thread` may be called from any thread; each handle owns one
// connection on the given executor and is used from that thread only (see
// cache_store.h). `stats()` may be called from any thread.
// Lifetime: the backend outlives its handles. Destroy a handle on its thread
// (or once its io_context has stopped); its destructor never blocks. Its
// connection can outlive it by at most two command timeouts (while a stats
// sample finishes), on that thread; io_context::run() returns once it is gone.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "github_proxy/cache/cache_store.h"
#include "github_proxy/config/config.h"

namespace spdlog {
class logger;
}

namespace github_proxy::redis {

struct backend_hooks {
  // Called on the handle's thread for every operation that fails with
  // unavailable, timeout or corrupt, with op "get", "put" or "erase":
  // github_proxy_cache_backend_errors_total{backend="redis",op}. Misses and
  // too_large are not counted. Must be thread-safe (handles run on several threads).
  std::function<void(std::string_view op)> on_error;
  // Connection events (connected, lost, retrying). Null: silent.
  std::shared_ptr<spdlog::logger> logger;
};

// `stats()`: entries = DBSIZE of the configured database (every key in it,
// not only this proxy's) and bytes = INFO memory's used_memory (the whole
// server), sampled by whichever handle runs an operation at most every 5 s;
// 0 until the first sample, the last sample while Redis is down.
//
// Throws std::invalid_argument when `config.url` is not a usable URL
// (src/redis/redis_url.h: redis://, rediss://, redis-sentinel://,
// redis-cluster://) or a TLS file cannot be used; the message never contains
// the password.
std::unique_ptr<cache::cache_backend> make_redis_backend(const config::redis_cache_config& config,
                                                         backend_hooks hooks = {});

}  // namespace github_proxy::redis
