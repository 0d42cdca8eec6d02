// The memory backend against the conformance suite, with a clock the tests drive.
#include <atomic>

#include "conformance/cache_store_conformance.h"
#include "github_proxy/cache/memory_store.h"

namespace github_proxy::cache {
namespace {

// Shared by every backend this parameter makes; only ever moves forward.
struct manual_clock {
  std::atomic<std::chrono::steady_clock::rep> ticks{0};
  std::chrono::steady_clock::time_point now() const {
    return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(ticks.load()));
  }
};

using conformance::CacheStoreConformance;

conformance::backend_param memory_param() {
  auto clock = std::make_shared<manual_clock>();
  conformance::backend_param param;
  param.name = "memory";
  param.make_backend = [clock] {
    return make_memory_backend(64ull * 1024 * 1024, [clock] { return clock->now(); });
  };
  param.advance_time = [clock](std::chrono::seconds by) {
    clock->ticks += std::chrono::duration_cast<std::chrono::steady_clock::duration>(by).count();
  };
  return param;
}

INSTANTIATE_TEST_SUITE_P(Memory, CacheStoreConformance, testing::Values(memory_param()),
                         conformance::param_name);

}  // namespace
}  // namespace github_proxy::cache
