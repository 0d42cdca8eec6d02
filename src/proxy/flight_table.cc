#include "proxy/flight_table.h"

#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace github_proxy::proxy {

namespace asio = boost::asio;

namespace {
constexpr std::size_t shard_count = 64;

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
}  // namespace

struct flight_table::flight {
  // Requests that joined as followers; changed and read under the shard's
  // lock, while the flight is in the table.
  std::size_t joiners = 0;
  std::mutex mutex;
  bool done = false;
  shared_answer answer;
  // The timers of the followers waiting now, each cancelled on its
  // follower's executor when the leader finishes. A follower adds its own
  // in `wait` and removes it on every way out of its frame (the answer, its
  // deadline, the frame destroyed with its io_context at shutdown), so this
  // never names a follower that is gone.
  std::vector<std::shared_ptr<asio::steady_timer>> followers;
};

struct flight_table::shard {
  mutable std::mutex mutex;
  std::unordered_map<std::string, std::shared_ptr<flight>, string_hash, std::equal_to<>> flights;
};

flight_table::flight_table() : shards_(std::make_unique<shard[]>(shard_count)) {}
flight_table::~flight_table() = default;

flight_table::shard& flight_table::shard_for(std::string_view key) const {
  return shards_[std::hash<std::string_view>{}(key) % shard_count];
}

flight_table::joined flight_table::join(std::string_view key) {
  auto& s = shard_for(key);
  std::lock_guard lock(s.mutex);
  if (auto it = s.flights.find(key); it != s.flights.end()) {
    ++it->second->joiners;
    return {std::nullopt, it->second};
  }
  auto f = std::make_shared<flight>();
  s.flights.emplace(std::string(key), f);
  joined out;
  out.lead.emplace(this, std::move(f), std::string(key));
  return out;
}

bool flight_table::close(const std::string& key, const std::shared_ptr<flight>& f) {
  auto& s = shard_for(key);
  std::lock_guard lock(s.mutex);
  if (auto it = s.flights.find(key); it != s.flights.end() && it->second == f) s.flights.erase(it);
  return f->joiners > 0;
}

void flight_table::finish(const std::string& key, const std::shared_ptr<flight>& f, shared_answer answer) {
  close(key, f);
  std::lock_guard lock(f->mutex);
  f->done = true;
  f->answer = std::move(answer);
  // A timer may only be touched on its own executor, so its cancellation is
  // posted there — under the flight's lock, which a follower's frame also
  // takes to leave the list: every timer named here belongs to a frame that
  // is still alive, and a frame never outlives its io_context (a session's
  // frame lives on its I/O thread's io_context, docs/architecture.md
  // "Threading model"; server.cc destroys every frame before any
  // io_context). So this never posts to a destroyed io_context, whichever
  // thread the leader finishes on, and even while the server tears the
  // contexts down one by one. The handler owns the timer: it runs on that
  // io_context, or is destroyed with it.
  for (auto& timer : f->followers) {
    asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  }
  f->followers.clear();
}

asio::awaitable<std::optional<shared_answer>> flight_table::wait(std::shared_ptr<flight> f,
                                                                 asio::any_io_executor executor,
                                                                 std::chrono::steady_clock::time_point deadline) {
  auto timer = std::make_shared<asio::steady_timer>(executor, deadline);
  {
    std::lock_guard lock(f->mutex);
    if (f->done) co_return f->answer;
    if (f->followers.size() >= max_followers) co_return std::nullopt;
    f->followers.push_back(timer);
  }
  // Leaves the list however this frame ends: answered, timed out, or
  // destroyed with its io_context (see finish).
  struct registration {
    flight& f;
    const std::shared_ptr<asio::steady_timer>& timer;
    ~registration() {
      std::lock_guard lock(f.mutex);
      std::erase(f.followers, timer);
    }
  } registered{*f, timer};
  co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  std::lock_guard lock(f->mutex);
  if (f->done) co_return f->answer;
  co_return std::nullopt;  // the deadline passed first
}

std::size_t flight_table::size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < shard_count; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    n += shards_[i].flights.size();
  }
  return n;
}

flight_table::leadership::leadership(flight_table* table, std::shared_ptr<flight> f, std::string key)
    : table_(table), flight_(std::move(f)), key_(std::move(key)) {}

flight_table::leadership::~leadership() {
  if (table_ && flight_) table_->finish(key_, flight_, shared_answer{});
}

bool flight_table::leadership::stop_joining() {
  return table_ && flight_ && table_->close(key_, flight_);
}

void flight_table::leadership::publish(shared_answer answer) {
  if (!table_ || !flight_) return;
  table_->finish(key_, flight_, std::move(answer));
  flight_.reset();
}

}  // namespace github_proxy::proxy
