// Coalescing (docs/contract.md §6): concurrent requests for one cache key share one
// upstream exchange. The first request for a key leads: it fetches and then
// publishes what it got; requests arriving meanwhile follow: they wait for
// that answer instead of asking GitHub again.
//
// The table is shared by every I/O thread (a request for a key on thread A
// and one on thread B coalesce too), split into shards with a mutex each;
// the locks are held only to look a key up, never across I/O. A follower
// waits on a timer of its own executor, which the leader cancels through
// that executor when it finishes, so every completion resumes on the
// follower's own thread.
//
// Bounds: at most `max_followers` requests wait on one flight (later ones
// fetch on their own), and a follower never waits past its deadline.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "github_proxy/cache/after_fetch.h"
#include "github_proxy/cache/entry.h"

namespace github_proxy::proxy {

// What a finished leader publishes. `entry`: the answer followers may be
// served as it is, set only when after_fetch called it shareable (a stored
// or confirmed 200). Otherwise `fetched` tells what the leader's fetch
// produced (a 5xx, a refusal, a failure …) so that each follower decides
// for itself with after_fetch on its own entry: serve that stale, or fetch
// alone. Both empty: the leader gave up (an exception, cancellation).
struct shared_answer {
  std::shared_ptr<const cache::entry> entry;
  std::optional<cache::fetch_result> fetched;
};

class flight_table {
 public:
  static constexpr std::size_t max_followers = 4096;

  flight_table();
  ~flight_table();
  flight_table(const flight_table&) = delete;
  flight_table& operator=(const flight_table&) = delete;

  struct flight;

  // A leader's obligation to publish. Publishing nothing (destroying the
  // ticket unpublished, e.g. on an exception) releases the followers with
  // an empty answer.
  class leadership {
   public:
    leadership() = default;
    leadership(flight_table* table, std::shared_ptr<flight> f, std::string key);
    leadership(leadership&&) noexcept = default;
    leadership& operator=(leadership&&) = delete;
    ~leadership();
    void publish(shared_answer answer);
    // Takes the flight out of the table: requests for the key from now on
    // lead a flight of their own. Whether any request joined this one, i.e.
    // whether what is published will be read at all.
    bool stop_joining();

   private:
    flight_table* table_ = nullptr;
    std::shared_ptr<flight> flight_;
    std::string key_;
  };

  struct joined {
    std::optional<leadership> lead;   // set: this request leads
    std::shared_ptr<flight> follow;   // set: this request follows
  };

  // Leads a new flight for `key`, or follows the one in progress.
  joined join(std::string_view key);

  // Waits for the leader on `executor` until `deadline`. nullopt: the wait
  // timed out or the flight had too many followers; fetch alone. Must run
  // on `executor`. The follower leaves the flight however the wait ends,
  // also when its frame is destroyed with its io_context, so the leader
  // never wakes a follower that is gone.
  static boost::asio::awaitable<std::optional<shared_answer>> wait(
      std::shared_ptr<flight> f, boost::asio::any_io_executor executor,
      std::chrono::steady_clock::time_point deadline);

  // Flights in progress (tests and debugging).
  std::size_t size() const;

 private:
  struct shard;
  shard& shard_for(std::string_view key) const;
  bool close(const std::string& key, const std::shared_ptr<flight>& f);
  void finish(const std::string& key, const std::shared_ptr<flight>& f, shared_answer answer);

  std::unique_ptr<shard[]> shards_;
};

}  // namespace github_proxy::proxy
