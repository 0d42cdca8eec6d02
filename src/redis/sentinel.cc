#include "redis/sentinel.h"

#include <array>
#include <charconv>
#include <optional>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include <spdlog/logger.h>

#include "redis/link.h"

namespace github_proxy::redis {

namespace asio = boost::asio;

namespace {

// AUTH with the URL's credentials, when it has any. Its reply is not
// awaited: a sentinel without a password refuses AUTH and answers what
// follows all the same; one that needs it answers NOAUTH to what follows.
void authenticate(link& to, const endpoint& target) {
  if (target.password.empty()) return;
  pending_ptr sent;
  if (target.user.empty()) {
    const std::array<std::string_view, 2> auth{"AUTH", target.password};
    sent = to.submit(auth);
  } else {
    const std::array<std::string_view, 3> auth{"AUTH", target.user, target.password};
    sent = to.submit(auth);
  }
  sent->abandoned = true;
}

// The answer of one sentinel: ["host", "port"], or nil for a name it does not monitor.
asio::awaitable<located_master> ask(asio::any_io_executor executor, const endpoint& target,
                                    const server_address& sentinel, std::shared_ptr<const tls_settings> tls,
                                    link_clock::time_point deadline) {
  located_master out;
  auto opened = co_await link::open(executor, sentinel, std::move(tls), deadline);
  if (!opened.value) {
    out.error = describe(sentinel) + ": " + opened.error;
    co_return out;
  }
  auto& conn = *opened.value;
  authenticate(conn, target);
  const std::array<std::string_view, 3> question{"SENTINEL", "get-master-addr-by-name", target.master_name};
  auto answer = co_await await_reply(conn.submit(question), deadline);
  conn.close("done");
  const reply& r = answer.value;
  if (answer.error) {
    out.error = describe(sentinel) + ": no answer (" + answer.error.message() + ")";
  } else if (r.is_error()) {
    out.error = describe(sentinel) + ": " + r.text;
  } else if (r.type == reply::kind::nil) {
    out.error = describe(sentinel) + ": monitors no master named " + target.master_name;
  } else if (r.type != reply::kind::array || r.elements.size() != 2 ||
             r.elements[0].type != reply::kind::string || r.elements[1].type != reply::kind::string) {
    out.error = describe(sentinel) + ": an answer that is not [host, port]";
  } else {
    unsigned port = 0;
    const std::string& digits = r.elements[1].text;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535 ||
        r.elements[0].text.empty()) {
      out.error = describe(sentinel) + ": an answer that is not [host, port]";
    } else {
      out.address = server_address{r.elements[0].text, static_cast<std::uint16_t>(port)};
      out.sentinel = sentinel;
    }
  }
  co_return out;
}

}  // namespace

asio::awaitable<located_master> locate_master(asio::any_io_executor executor, const endpoint& target,
                                              std::shared_ptr<const tls_settings> tls,
                                              std::chrono::milliseconds per_sentinel, std::size_t first) {
  std::string errors;
  const std::size_t count = target.servers.size();
  for (std::size_t turn = 0; turn < count; ++turn) {
    const std::size_t index = (first + turn) % count;
    const server_address& sentinel = target.servers[index];
    auto found = co_await ask(executor, target, sentinel, tls, link_clock::now() + per_sentinel);
    if (found.ok()) {
      found.sentinel_index = index;
      co_return found;
    }
    if (!errors.empty()) errors.append("; ");
    errors.append(found.error);
  }
  located_master out;
  out.error = "no sentinel named the master " + target.master_name + " (" +
              (errors.empty() ? std::string("no sentinel") : errors) + ")";
  co_return out;
}

asio::awaitable<std::shared_ptr<link>> watch_switches(asio::any_io_executor executor, const endpoint& target,
                                                      server_address sentinel, std::shared_ptr<const tls_settings> tls,
                                                      link_clock::time_point deadline, std::function<void()> switched) {
  auto opened = co_await link::open(executor, std::move(sentinel), std::move(tls), deadline);
  if (!opened.value) co_return nullptr;
  auto& watch = *opened.value;
  authenticate(watch, target);
  // ["message", "+switch-master", "<name> <old ip> <old port> <new ip> <new port>"]
  watch.on_push([prefix = target.master_name + " ", switched = std::move(switched)](const reply& r) {
    if (r.type == reply::kind::array && r.elements.size() == 3 && r.elements[0].text == "message" &&
        r.elements[1].text == "+switch-master" && r.elements[2].text.starts_with(prefix)) {
      switched();
    }
  });
  const std::array<std::string_view, 2> subscribe{"SUBSCRIBE", "+switch-master"};
  watch.submit(subscribe)->abandoned = true;
  co_return std::move(opened.value);
}

void note_master(const endpoint& target, const server_address& address, spdlog::logger* logger) {
  if (!logger) return;  // a silent connection leaves the news to one that logs
  static std::mutex mutex;
  static std::map<std::string, server_address> known;  // one entry per configured URL
  const std::string key = describe(target);
  std::optional<server_address> previous;
  {
    std::lock_guard lock(mutex);
    auto [it, inserted] = known.try_emplace(key, address);
    if (!inserted) {
      if (it->second == address) return;
      previous = std::exchange(it->second, address);
    }
  }
  if (previous) {
    logger->warn("redis: the master {} moved from {} to {} (Sentinel failover)", target.master_name,
                 describe(*previous), describe(address));
  } else {
    logger->info("redis: Sentinel names {} as the master {}", describe(address), target.master_name);
  }
}

}  // namespace github_proxy::redis
