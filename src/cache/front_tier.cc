#include "github_proxy/cache/front_tier.h"

#include "cache/lru_shard.h"

namespace github_proxy::cache {

namespace {

// The LRU list and index nodes, the entry, its control block and a few
// allocator headers: a fixed estimate, like the memory backend's measured one.
constexpr std::size_t bookkeeping_bytes = 512;

const auto no_expiry = [] { return detail::lru_never; };

}  // namespace

front_tier::front_tier(std::size_t max_bytes) {
  const std::size_t count = detail::lru_shard_count(max_bytes);
  shards_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) shards_.push_back(std::make_unique<shard>(max_bytes / count));
}

front_tier::~front_tier() = default;

front_tier::shard& front_tier::shard_for(std::string_view key) {
  return *shards_[detail::lru_shard_of(key, shards_.size())];
}

std::shared_ptr<const entry> front_tier::find(std::string_view key) {
  auto found = shard_for(key).get(key, no_expiry);
  return found ? std::move(*found) : nullptr;
}

void front_tier::put(std::string_view key, std::shared_ptr<const entry> e) {
  if (!e) return;
  const auto cost = charge(key, *e);
  shard_for(key).put(key, std::move(e), detail::lru_never, cost);
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
  std::size_t bytes = key.size() + e.body.size() + e.etag.size() + e.last_modified.size() + e.credential.size() +
                      e.authorization_fingerprint.size() + e.accept.size() + bookkeeping_bytes;
  for (const auto& [name, value] : e.headers) bytes += name.size() + value.size() + sizeof(e.headers[0]);
  return bytes;
}

}  // namespace github_proxy::cache
