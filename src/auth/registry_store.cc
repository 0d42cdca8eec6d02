// registry_store: see the header for the generation + per-thread cache
// scheme.

#include <atomic>
#include <mutex>
#include <utility>

#include "github_proxy/auth/registry.h"

namespace github_proxy::auth {
namespace {

// Generations are unique across every store of the process, so one cache
// slot per thread can never confuse two stores (nor a store with a new one
// allocated at the same address).
std::atomic<std::uint64_t> next_generation{1};

struct thread_cache {
  std::uint64_t generation = 0;  // never a live generation
  std::shared_ptr<const registry_snapshot> snapshot;
};
thread_local thread_cache cache;

}  // namespace

struct registry_store::impl {
  std::atomic<std::uint64_t> generation{next_generation.fetch_add(1)};
  mutable std::mutex mutex;  // guards `snapshot`; taken on replace and cache misses
  std::shared_ptr<const registry_snapshot> snapshot;
};

registry_store::registry_store() : impl_(std::make_unique<impl>()) {}
registry_store::~registry_store() = default;

std::shared_ptr<const registry_snapshot> registry_store::current() const {
  const std::uint64_t generation = impl_->generation.load(std::memory_order_acquire);
  if (cache.generation != generation) {
    std::lock_guard lock(impl_->mutex);
    // Read both under the lock: they are published together.
    cache.snapshot = impl_->snapshot;
    cache.generation = impl_->generation.load(std::memory_order_relaxed);
  }
  return cache.snapshot;
}

void registry_store::replace(std::shared_ptr<const registry_snapshot> next) {
  std::shared_ptr<const registry_snapshot> previous;
  {
    std::lock_guard lock(impl_->mutex);
    previous = std::exchange(impl_->snapshot, std::move(next));
    impl_->generation.store(next_generation.fetch_add(1), std::memory_order_release);
  }
  // `previous` is released outside the lock (it may be the last reference).
}

}  // namespace github_proxy::auth
