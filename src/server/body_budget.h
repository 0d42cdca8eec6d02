// The request body bytes the process reads or holds at once (item 8 of
// "Isolation"), bounded in total, so that many large uploads cannot exhaust
// memory, and per client, so that one authenticated client trickling
// bodies cannot hold the whole budget and have everyone else refused.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace github_proxy::server {

// Thread-safety: take and give_back may be called from any I/O thread. The
// total is an atomic; the per-client counts are split into shards, each
// with a mutex held for one map lookup.
class body_budget {
 public:
  struct limits {
    std::size_t total = 0;
    std::size_t per_client = 0;  // at most `total`
  };
  explicit body_budget(limits bounds);

  // The bounds for a server whose bodies are at most `max_body_bytes`
  // (listen.max_body_bytes) on `threads` I/O threads: four bodies of the
  // largest size per thread, or 256 MiB, whichever is more; a client may
  // hold a quarter of that, and at least one body of the largest size.
  static limits for_server(std::size_t max_body_bytes, std::size_t threads);

  enum class verdict { taken, over_total, over_client_share };
  // Reserves `bytes` for `client`; nothing is reserved unless `taken`.
  verdict take(std::string_view client, std::size_t bytes);
  // Returns bytes a take of `client` reserved.
  void give_back(std::string_view client, std::size_t bytes);

  std::size_t total_limit() const { return total_limit_; }
  std::size_t per_client_limit() const { return per_client_limit_; }
  std::size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  std::size_t in_flight(std::string_view client) const;

 private:
  struct name_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const { return std::hash<std::string_view>{}(name); }
  };
  struct shard {
    mutable std::mutex mutex;
    // Clients holding bytes now; an entry goes when it drops to zero.
    std::unordered_map<std::string, std::size_t, name_hash, std::equal_to<>> held;
  };
  shard& shard_of(std::string_view client) const;
  void give_back_share(std::string_view client, std::size_t bytes);

  const std::size_t total_limit_;
  const std::size_t per_client_limit_;
  std::atomic<std::size_t> in_flight_{0};
  mutable std::array<shard, 16> shards_;
};

}  // namespace github_proxy::server
