// The in-process cache backend (docs/contract.md §6 "Backends", config `cache.memory`):
// a byte-budgeted LRU split into shards by key hash, each shard with its own
// mutex (no global lock). Values are held as `shared_ptr<const std::string>`,
// so a hit hands out the stored buffer and never copies the body.
//
// Budget. `max_bytes` is divided evenly between the shards; each shard evicts
// its least recently used entries until a new entry fits. An entry is charged
// `memory_entry_charge(key, value)`: its key and value bytes plus the measured
// bookkeeping of one entry (see that function). A value whose charge exceeds
// one shard's budget is refused with `store_error::too_large`, and any older
// value under the same key is dropped (a `put` never leaves a value the caller
// meant to replace). The shard count is chosen so that a shard holds at least
// 16 MiB (or the whole budget when it is smaller), which keeps the default
// 256 MiB at 16 shards and lets an 8 MiB `max_object_bytes` fit.
//
// TTL. `put` with a positive ttl expires the entry that long after the put,
// measured on the injected clock; ttl zero (the interface's "backend
// default") means no expiry: the LRU bound is the memory backend's default.
// Expired entries are dropped when next touched or when evicted.
//
// Threading: the backend and every handle may be used from any thread; the
// handles' coroutines complete without suspending (no I/O).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

#include "github_proxy/cache/cache_store.h"

namespace github_proxy::cache {

// Reads the current time; tests inject a fake one (STYLE principle 8).
using steady_clock_fn = std::function<std::chrono::steady_clock::time_point()>;

struct memory_store_options {
  std::size_t max_bytes = 256ull * 1024 * 1024;
  // 0: automatic (see above). Otherwise rounded down to a power of two.
  std::size_t shards = 0;
  steady_clock_fn clock;  // empty: std::chrono::steady_clock::now
};

// The bytes an entry is charged against the budget: the key and value bytes
// plus `memory_entry_overhead`, the per-entry bookkeeping measured from the
// data structures with sizeof: the LRU list node (two links, the key's
// std::string, the value's shared_ptr, expiry and charge), the hash-map node
// (key view, list iterator, next link, cached hash) and its bucket slot, the
// shared_ptr control block holding the value's std::string (one allocation,
// from make_shared), and a 16-byte allocator header for each of those three
// allocations. Heap buffers of long keys and values are counted by their size.
std::size_t memory_entry_charge(std::size_t key_bytes, std::size_t value_bytes);
extern const std::size_t memory_entry_overhead;

std::unique_ptr<cache_backend> make_memory_backend(const memory_store_options& options);
std::unique_ptr<cache_backend> make_memory_backend(std::size_t max_bytes, steady_clock_fn clock = {});

}  // namespace github_proxy::cache
