// Where cached responses live (docs/contract.md §6 "Backends"). A store only gets, puts
// and erases opaque byte strings under string keys: freshness, ETags and
// Vary belong to the cache policy above it (STYLE.md principle 5).
//
// Threading: a `cache_store` handle belongs to one I/O thread and is used
// only from coroutines running on that thread's executor; completions resume
// there. `cache_backend::for_thread` makes one handle per I/O thread: the
// memory backend's handles share one sharded LRU (a lock per shard, none
// global); the Redis backend's handles each own a connection on their thread.
// Lifetime: handles are destroyed before their io_context; the backend
// outlives every handle.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

namespace github_proxy::cache {

// Errors of a store (a `boost::system::error_category` named "cache_store").
enum class store_error {
  unavailable = 1,  // backend down or reconnecting: callers go on uncached
  timeout,          // backend slower than its configured timeout
  too_large,        // value over the backend's per-entry limit; not stored
  corrupt,          // stored bytes unreadable (wrong version): treated as a miss
};
const boost::system::error_category& store_category();
boost::system::error_code make_error_code(store_error e);

struct get_result {
  // The stored bytes, shared rather than copied: a hit hands out the same
  // buffer to every reader. Null on a miss or an error.
  std::shared_ptr<const std::string> value;
  boost::system::error_code error;  // set only for backend failures, not misses
};

struct store_stats {
  std::size_t entries = 0;
  std::size_t bytes = 0;  // including the measured per-entry overhead
};

class cache_store {
 public:
  virtual ~cache_store() = default;

  virtual boost::asio::awaitable<get_result> get(std::string_view key) = 0;
  // Replaces any entry under `key`. `ttl` zero means the backend's default.
  virtual boost::asio::awaitable<boost::system::error_code> put(std::string_view key, std::string value,
                                                                std::chrono::seconds ttl) = 0;
  virtual boost::asio::awaitable<boost::system::error_code> erase(std::string_view key) = 0;
};

class cache_backend {
 public:
  virtual ~cache_backend() = default;
  // One handle for the I/O thread whose executor is given.
  virtual std::unique_ptr<cache_store> for_thread(boost::asio::any_io_executor executor) = 0;
  // For the github_proxy_cache_entries / _bytes gauges ({backend="memory"|"redis"}).
  virtual store_stats stats() const = 0;
  virtual std::string_view name() const = 0;
};

}  // namespace github_proxy::cache

template <>
struct boost::system::is_error_code_enum<github_proxy::cache::store_error> : std::true_type {};
