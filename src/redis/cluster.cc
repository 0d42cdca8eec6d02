#include "redis/cluster.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <spdlog/logger.h>

#include "github_proxy/cache/cache_store.h"
#include "common/log_escaped.h"
#include "redis/pending_command.h"

namespace github_proxy::redis {

namespace asio = boost::asio;
using cache::store_error;

namespace {

// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as the cluster
// specification's reference implementation.
std::uint16_t crc16(std::string_view bytes) {
  std::uint16_t crc = 0;
  for (unsigned char byte : bytes) {
    crc ^= static_cast<std::uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021) : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

template <typename Number>
bool parse_decimal(std::string_view digits, Number& out) {
  if (digits.empty()) return false;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  return ec == std::errc{} && end == digits.data() + digits.size();
}

// [host, port, …] of CLUSTER SLOTS.
bool node_of(const reply& r, const server_address& asked, server_address& out) {
  if (r.type != reply::kind::array || r.elements.size() < 2) return false;
  const reply& host = r.elements[0];
  const reply& port = r.elements[1];
  if (host.type != reply::kind::string || port.type != reply::kind::integer || port.integer <= 0 ||
      port.integer > 65535) {
    return false;
  }
  out.host = host.text.empty() || host.text == "?" ? asked.host : host.text;
  out.port = static_cast<std::uint16_t>(port.integer);
  return true;
}

}  // namespace

std::uint16_t key_slot(std::string_view key) {
  const auto open = key.find('{');
  if (open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) % cluster_slots;
}

std::optional<slot_map> slot_map::from_cluster_slots(const reply& r, const server_address& asked,
                                                     std::string& error) {
  if (r.type != reply::kind::array) {
    error = r.is_error() ? r.text : "CLUSTER SLOTS did not answer with a list";
    return std::nullopt;
  }
  slot_map map;
  for (const reply& range : r.elements) {
    server_address master;
    if (range.type != reply::kind::array || range.elements.size() < 3 ||
        range.elements[0].type != reply::kind::integer || range.elements[1].type != reply::kind::integer ||
        !node_of(range.elements[2], asked, master)) {
      error = "a CLUSTER SLOTS entry is not [first, last, [host, port, …], …]";
      return std::nullopt;
    }
    const long long first = range.elements[0].integer;
    const long long last = range.elements[1].integer;
    if (first < 0 || last < first || last >= cluster_slots) {
      error = "a CLUSTER SLOTS range is outside 0-16383";
      return std::nullopt;
    }
    auto known = std::find(map.masters_.begin(), map.masters_.end(), master);
    if (known == map.masters_.end()) known = map.masters_.insert(map.masters_.end(), std::move(master));
    const auto index = static_cast<std::uint16_t>(known - map.masters_.begin());
    std::fill(map.owner_.begin() + first, map.owner_.begin() + last + 1, index);
  }
  return map;
}

const server_address* slot_map::master_of(std::uint16_t slot) const {
  if (slot >= cluster_slots || owner_[slot] == nobody) return nullptr;
  return &masters_[owner_[slot]];
}

std::size_t slot_map::covered_slots() const {
  return static_cast<std::size_t>(std::count_if(owner_.begin(), owner_.end(), [](auto o) { return o != nobody; }));
}

std::optional<redirect> parse_redirect(std::string_view error, const server_address& answered) {
  redirect out;
  if (error.starts_with("MOVED ")) {
    out.type = redirect::kind::moved;
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    out.type = redirect::kind::ask;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const auto space = error.find(' ');
  if (space == std::string_view::npos || !parse_decimal(error.substr(0, space), out.slot) ||
      out.slot >= cluster_slots) {
    return std::nullopt;
  }
  std::string_view where = error.substr(space + 1);
  const auto colon = where.rfind(':');
  unsigned port = 0;
  if (colon == std::string_view::npos || !parse_decimal(where.substr(colon + 1), port) || port == 0 || port > 65535) {
    return std::nullopt;
  }
  std::string_view host = where.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  // No host ("", or "?" from a node announcing names it does not have): the node that answered.
  out.to.host = host.empty() || host == "?" ? answered.host : std::string(host);
  out.to.port = static_cast<std::uint16_t>(port);
  return out;
}

namespace {

class cluster_client final : public client, public std::enable_shared_from_this<cluster_client> {
 public:
  // The map is asked for again at most this often.
  static constexpr std::chrono::milliseconds refresh_interval{1000};
  static constexpr int max_redirects = 2;

  cluster_client(asio::any_io_executor executor, connection_options options)
      : executor_(std::move(executor)), options_(std::move(options)) {}

  asio::awaitable<command_result> command(std::string_view key, std::span<const std::string_view> argv) override {
    auto self = shared_from_this();  // the client may go while the command waits
    if (!map_) co_await wait_for_map(link_clock::now() + options_.command_timeout);
    const server_address* owner = map_ ? map_->master_of(key_slot(key)) : nullptr;
    if (!owner) {
      refresh_soon();
      co_return command_result{make_error_code(store_error::unavailable), {}};
    }
    server_address target = *owner;
    bool asking = false;
    for (int redirects = 0;; ++redirects) {
      auto conn = node(target);
      // (Not a ?: between two co_awaits: GCC 12 miscompiles it, leaving the
      // result's strings pointing into a freed coroutine frame.)
      command_result result;
      if (asking) {
        result = co_await conn->command_after_asking(argv);
      } else {
        result = co_await conn->command(argv);
      }
      if (result.error) {
        // Down or slow: the cluster may be failing that master over.
        if (result.error != asio::error::operation_aborted) refresh_soon();
        co_return result;
      }
      if (!result.value.is_error() || redirects == max_redirects) co_return result;
      auto moved = parse_redirect(result.value.text, target);
      if (!moved) co_return result;  // CLUSTERDOWN, TRYAGAIN, …: the store reads it as unavailable
      if (moved->type == redirect::kind::moved) refresh_soon();
      asking = moved->type == redirect::kind::ask;
      target = std::move(moved->to);
    }
  }

  asio::awaitable<std::vector<command_result>> on_every_master(std::span<const std::string_view> argv) override {
    auto self = shared_from_this();
    if (!map_) co_await wait_for_map(link_clock::now() + options_.command_timeout);
    std::vector<command_result> results;
    if (!map_) co_return results;
    const std::vector<server_address> masters = map_->masters();  // a refresh may replace the map meanwhile
    for (const auto& master : masters) {
      auto conn = node(master);
      results.push_back(co_await conn->command(argv));
    }
    co_return results;
  }

 private:
  std::shared_ptr<connection> node(const server_address& address) {
    auto& slot = nodes_[describe(address)];
    if (!slot) {
      connection_options options = options_;
      options.target.mode = topology::standalone;
      options.target.servers = {address};
      slot = std::make_shared<connection>(executor_, std::move(options));
    }
    return slot;
  }

  // Starts a refresh unless one runs or ran less than refresh_interval ago.
  void refresh_soon() {
    const auto now = link_clock::now();
    if (refreshing_ || now < next_refresh_) return;
    refreshing_ = true;
    next_refresh_ = now + refresh_interval;
    asio::co_spawn(executor_, refresh(shared_from_this()), common::log_escaped("Redis Cluster map refresh"));
  }

  // Each waiter has a timer of its own (re-arming one shared timer would
  // cancel the others' waits, and they would wake each other in a loop).
  asio::awaitable<void> wait_for_map(link_clock::time_point deadline) {
    refresh_soon();
    if (map_ || !refreshing_) co_return;
    auto waiter = std::make_shared<pending_command>(executor_);
    map_waiters_.push_back(waiter);
    co_await await_reply(waiter, deadline);
    std::erase(map_waiters_, waiter);
  }

  // CLUSTER SLOTS of the known masters, then of the seeds, until one answers.
  static asio::awaitable<void> refresh(std::shared_ptr<cluster_client> self) {
    std::vector<server_address> candidates;
    if (self->map_) candidates = self->map_->masters();
    for (const auto& seed : self->options_.target.servers) {
      if (std::find(candidates.begin(), candidates.end(), seed) == candidates.end()) candidates.push_back(seed);
    }
    std::string errors;
    for (const auto& candidate : candidates) {
      const std::array<std::string_view, 2> argv{"CLUSTER", "SLOTS"};
      auto conn = self->node(candidate);
      auto answer = co_await conn->command(argv);
      std::string error = answer.error ? answer.error.message() : std::string();
      std::optional<slot_map> map;
      if (!answer.error) map = slot_map::from_cluster_slots(answer.value, candidate, error);
      if (map && map->covered_slots() > 0) {
        self->adopt(std::move(*map));
        break;
      }
      if (!errors.empty()) errors.append("; ");
      errors.append(describe(candidate)).append(": ").append(error.empty() ? "no slots served" : error);
    }
    // The first failure in a row is news; the retries that follow are not.
    self->failed_refreshes_ = errors.empty() || self->map_ ? 0 : self->failed_refreshes_ + 1;
    if (!errors.empty() && self->options_.logger) {
      self->options_.logger->log(self->failed_refreshes_ == 1 ? spdlog::level::warn : spdlog::level::debug,
                                 "redis: cannot read the cluster's slot map from {}", errors);
    }
    self->refreshing_ = false;
    for (auto& waiter : std::exchange(self->map_waiters_, {})) complete(*waiter);
  }

  // Keeps the connections to the new map's masters (and the seeds, to ask
  // again later); drops the others.
  void adopt(slot_map map) {
    for (auto it = nodes_.begin(); it != nodes_.end();) {
      const auto& masters = map.masters();
      const auto& seeds = options_.target.servers;
      const bool wanted =
          std::any_of(masters.begin(), masters.end(), [&](const auto& m) { return describe(m) == it->first; }) ||
          std::any_of(seeds.begin(), seeds.end(), [&](const auto& s) { return describe(s) == it->first; });
      it = wanted ? std::next(it) : nodes_.erase(it);
    }
    map_ = std::move(map);
  }

  asio::any_io_executor executor_;
  connection_options options_;
  std::optional<slot_map> map_;
  std::map<std::string, std::shared_ptr<connection>> nodes_;  // by "host:port"
  bool refreshing_ = false;
  unsigned failed_refreshes_ = 0;  // in a row, while there is no map
  link_clock::time_point next_refresh_{};
  std::vector<pending_ptr> map_waiters_;  // completed when a refresh ends
};

}  // namespace

std::shared_ptr<client> make_cluster_client(asio::any_io_executor executor, connection_options options) {
  return std::make_shared<cluster_client>(std::move(executor), std::move(options));
}

}  // namespace github_proxy::redis
