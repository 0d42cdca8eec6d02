// Knobs of the Redis backend that are not in the config file: the daemon
// uses the defaults, tests shorten them.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "github_proxy/redis/redis_backend.h"
#include "redis/reconnect_fsm.h"

namespace github_proxy::redis {

struct backend_tuning {
  reconnect_policy reconnect;
  std::size_t max_in_flight = 1024;  // per connection; more → store_error::unavailable
  std::chrono::milliseconds stats_interval{5000};
};

std::unique_ptr<cache::cache_backend> make_redis_backend(const config::redis_cache_config& config,
                                                         backend_hooks hooks, backend_tuning tuning);

}  // namespace github_proxy::redis
