#include "credentials/secondary_exchange.h"

#include <algorithm>
#include <charconv>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

namespace github_proxy::credentials {

namespace asio = boost::asio;

namespace {

// KEYS[1] the hash; ARGV[1] this replica; ARGV[2] stale after (ms);
// ARGV[3] TTL of the hash (s); ARGV[4..] credential, value pairs of this
// replica. Answers the other replicas' live fields, flat.
constexpr std::string_view exchange_script = R"lua(
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local mine = ARGV[1] .. '|'
for i = 4, #ARGV, 2 do
  redis.call('HSET', KEYS[1], mine .. ARGV[i], now .. ' ' .. ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
local stale = tonumber(ARGV[2])
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local at = tonumber(string.match(all[i + 1], '^(%d+) '))
  if at == nil or now - at > stale then
    redis.call('HDEL', KEYS[1], all[i])
  elseif string.sub(all[i], 1, #mine) ~= mine then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  end
end
return out
)lua";

// The hash outlives the last replica's exchange by a minute.
constexpr std::int64_t hash_ttl_seconds = 60;
// Another replica's cool-down is believed for an hour at most (each exchange
// renews it while it lasts).
constexpr std::int64_t max_cooling_seconds = 3600;

bool next_number(std::string_view& text, std::int64_t& out, bool stamp = false) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  // A count beyond any of GitHub's limits is not a replica's: the sums stay bounded.
  constexpr std::int64_t max_count = 1'000'000'000;
  if (error != std::errc{} || out < 0 || (out > max_count && !stamp)) return false;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return true;
}

}  // namespace

std::string encode_secondary_usage(const secondary_usage& u) {
  // The last number: 0, or the seconds the credential still cools (at least 1).
  return fmt::format("{} {} {} {} {}", u.rest_points, u.graphql_points, u.content_minute, u.content_hour,
                     u.filled ? std::max<std::int64_t>(1, u.cooling_seconds) : 0);
}

std::vector<secondary_usage> others_from_reply(const redis::reply& answer, std::span<const std::string_view> names) {
  std::vector<secondary_usage> out(names.size());
  if (answer.type != redis::reply::kind::array) return out;
  const auto& items = answer.elements;
  for (std::size_t i = 0; i + 1 < items.size() && i / 2 < max_exchange_fields; i += 2) {
    std::string_view field = items[i].text;
    std::string_view value = items[i + 1].text;
    const auto bar = field.find('|');
    if (bar == std::string_view::npos) continue;
    const auto credential = field.substr(bar + 1);
    const auto at = std::find(names.begin(), names.end(), credential);
    if (at == names.end()) continue;
    std::int64_t stamp = 0;
    secondary_usage u;
    std::int64_t filled = 0;
    if (!next_number(value, stamp, true) || !next_number(value, u.rest_points) || !next_number(value, u.graphql_points) ||
        !next_number(value, u.content_minute) || !next_number(value, u.content_hour) ||
        !next_number(value, filled)) {
      continue;
    }
    auto& sum = out[static_cast<std::size_t>(at - names.begin())];
    sum.rest_points += u.rest_points;
    sum.graphql_points += u.graphql_points;
    sum.content_minute += u.content_minute;
    sum.content_hour += u.content_hour;
    if (filled != 0) {
      sum.filled = true;
      sum.cooling_seconds = std::max(sum.cooling_seconds, std::min(filled, max_cooling_seconds));
    }
  }
  return out;
}

std::string make_replica_id() {
  std::random_device random;
  const std::uint64_t id = (std::uint64_t{random()} << 32) ^ random();
  return fmt::format("{:016x}", id);
}

secondary_exchange::secondary_exchange(asio::any_io_executor executor, const redis_ledger_settings& settings,
                                       pool& credentials, std::string replica_id)
    : settings_(settings),
      pool_(credentials),
      replica_(std::move(replica_id)),
      key_(settings.key_prefix + "secondary") {
  for (std::size_t i = 0; i < pool_.size(); ++i) names_.push_back(pool_.name(i));
  connection_ = redis::make_client(std::move(executor), settings.connection);
}

secondary_exchange::~secondary_exchange() = default;

asio::awaitable<bool> secondary_exchange::exchange_once() {
  const auto own = pool_.own_secondary_usage();
  std::vector<std::string> values;
  values.reserve(own.size());
  for (const auto& u : own) values.push_back(encode_secondary_usage(u));
  const std::string stale = std::to_string(stale_after.count());
  const std::string ttl = std::to_string(hash_ttl_seconds);
  std::vector<std::string_view> argv{"EVAL", exchange_script, "1", key_, replica_, stale, ttl};
  for (std::size_t i = 0; i < own.size(); ++i) {
    argv.push_back(names_[i]);
    argv.push_back(values[i]);
  }
  const auto result = co_await connection_->command(key_, argv);
  const auto now = std::chrono::steady_clock::now();
  if (result.error || result.value.type != redis::reply::kind::array) {
    if (settings_.on_error) settings_.on_error("secondary_exchange");
    // The others' last usage holds for a while, then each replica counts alone.
    if (now - last_success_ > stale_after) pool_.set_others_secondary_usage({});
    co_return false;
  }
  last_success_ = now;
  const auto others = others_from_reply(result.value, names_);
  pool_.set_others_secondary_usage(others);
  co_return true;
}

asio::awaitable<void> secondary_exchange::run(std::chrono::milliseconds interval) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    co_await exchange_once();
    timer.expires_after(interval);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

}  // namespace github_proxy::credentials
