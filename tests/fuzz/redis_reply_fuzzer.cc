// Redis reply handling: raw RESP bytes (what a Redis server, or anything
// listening on its port, sends) go through hiredis' reader, and every reply
// it produces through the project's copy (redis/reply.cc). A string reply is
// what a cache GET returns, so it goes on to the entry decoder; any reply may
// be a cluster's CLUSTER SLOTS answer (redis/cluster.cc's slot map) and an
// error may be a MOVED/ASK redirect. The input is
// fed in two pieces, split where its first byte says, as a socket might.
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <cstdlib>
#include <memory>

#include "fuzz_input.h"
#include "github_proxy/cache/entry.h"
#include "redis/cluster.h"
#include "redis/reply.h"

using namespace github_proxy;

namespace {

// The copy must be as deep and as exact as hiredis' tree.
void check_copy(const redisReply& r, const redis::reply& copy, int depth) {
  if (depth > 64) std::abort();
  switch (r.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      if (copy.text.size() != r.len) std::abort();
      break;
    case REDIS_REPLY_INTEGER:
      if (copy.type != redis::reply::kind::integer || copy.integer != r.integer) std::abort();
      break;
    case REDIS_REPLY_ARRAY:
      if (copy.type != redis::reply::kind::array || copy.elements.size() != r.elements) std::abort();
      for (std::size_t i = 0; i < r.elements; ++i) {
        if (r.element[i]) check_copy(*r.element[i], copy.elements[i], depth + 1);
      }
      break;
    default:
      break;
  }
  if (copy.type == redis::reply::kind::string) (void)cache::decode(copy.text);
}

struct reader_deleter {
  void operator()(redisReader* r) const { redisReaderFree(r); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // hiredis' own reply objects, from the reader the daemon's links use.
  std::unique_ptr<redisReader, reader_deleter> reader(redis::make_bounded_reader());
  if (!reader) std::abort();
  const std::size_t split = size == 0 ? 0 : data[0] % (size + 1);
  const auto input = fuzz::as_text(data, size);
  for (const auto piece : {input.substr(0, split), input.substr(split)}) {
    if (redisReaderFeed(reader.get(), piece.data(), piece.size()) != REDIS_OK) return 0;
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK) return 0;  // a protocol error: the link drops
      if (raw == nullptr) break;                                           // needs more bytes
      const auto* r = static_cast<redisReply*>(raw);
      const auto copy = redis::copy_reply(*r);
      check_copy(*r, copy, 0);
      const redis::server_address asked{"10.0.0.1", 7000};
      std::string error;
      if (auto map = redis::slot_map::from_cluster_slots(copy, asked, error)) {
        // Every slot a map names is served by one of its masters.
        for (std::uint16_t slot = 0; slot < redis::cluster_slots; slot += 97) {
          const auto* owner = map->master_of(slot);
          if (owner && owner->port == 0) std::abort();
        }
      }
      if (copy.is_error()) {
        if (auto moved = redis::parse_redirect(copy.text, asked)) {
          if (moved->slot >= redis::cluster_slots || moved->to.port == 0 || moved->to.host.empty()) std::abort();
        }
      }
      freeReplyObject(raw);
    }
  }
  return 0;
}
