#include "github_proxy/cache/front_tier.h"

#include "cache/lru_shard.h"

namespace github_proxy::cache {

namespace {

// The LRU list and index nodes, the entry, its control block and a few
// allocator headers: a fixed estimate, like the memory backend's measured one.
constexpr std::size_t bookkeeping_bytes = 512;

}  // namespace

front_tier::front_tier(std::size_t max_bytes, std::chrono::seconds ttl,
                       std::function<std::chrono::steady_clock::time_point()> clock)
    : ttl_(ttl), clock_(clock ? std::move(clock) : [] { return std::chrono::steady_clock::now(); }) {
  const std::size_t count = detail::lru_shard_count(max_bytes);
  shards_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) shards_.push_back(std::make_unique<shard>(max_bytes / count));
}

front_tier::~front_tier() = default;

front_tier::shard& front_tier::shard_for(std::string_view key) {
  return *shards_[detail::lru_shard_of(key, shards_.size())];
}

std::chrono::steady_clock::time_point front_tier::expiry() const {
  return ttl_ > std::chrono::seconds::zero() ? clock_() + ttl_ : detail::lru_never;
}

front_tier::found front_tier::find(std::string_view key) {
  auto& s = shard_for(key);
  if (auto held = s.get(key, clock_)) return {std::move(*held), 0};
  return {nullptr, s.generation()};
}

void front_tier::fill(std::string_view key, std::shared_ptr<const entry> e, std::uint64_t ticket) {
  if (!e) return;
  const auto cost = charge(key, *e);
  shard_for(key).fill(key, std::move(e), expiry(), cost, ticket);
}

void front_tier::put(std::string_view key, std::shared_ptr<const entry> e) {
  if (!e) return;
  const auto cost = charge(key, *e);
  shard_for(key).put(key, std::move(e), expiry(), cost);
}

void front_tier::erase(std::string_view key) { shard_for(key).erase(key); }

store_stats front_tier::stats() const {
  store_stats out;
  for (const auto& s : shards_) {
    out.entries += s->entries();
    out.bytes += s->bytes();
  }
  return out;
}

std::size_t front_tier::charge(std::string_view key, const entry& e) {
  // Capacity, not size: a body moved in from a grown read buffer keeps it.
  std::size_t bytes = key.size() + e.body.capacity() + e.etag.size() + e.last_modified.size() + e.credential.size() +
                      e.authorization_fingerprint.size() + e.accept.size() + bookkeeping_bytes;
  for (const auto& [name, value] : e.headers) bytes += name.size() + value.size() + sizeof(e.headers[0]);
  return bytes;
}

}  // namespace github_proxy::cache
