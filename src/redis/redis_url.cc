#include "redis/redis_url.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>
#include <utility>

#include <boost/url/pct_string_view.hpp>

namespace github_proxy::redis {

namespace {

struct scheme_info {
  std::string_view name;
  topology mode;
  bool tls;
};

constexpr std::array<scheme_info, 6> schemes{{
    {"redis", topology::standalone, false},
    {"rediss", topology::standalone, true},
    {"redis-sentinel", topology::sentinel, false},
    {"rediss-sentinel", topology::sentinel, true},
    {"redis-cluster", topology::cluster, false},
    {"rediss-cluster", topology::cluster, true},
}};

template <typename Number>
bool parse_decimal(std::string_view digits, Number& out) {
  if (digits.empty()) return false;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  return ec == std::errc{} && end == digits.data() + digits.size();
}

std::optional<std::string> percent_decoded(std::string_view text) {
  auto encoded = boost::urls::make_pct_string_view(text);
  if (!encoded) return std::nullopt;
  return encoded->decode();
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

// "host", "host:port", "[v6]", "[v6]:port" → address; an error message otherwise.
std::string parse_server(std::string_view text, std::uint16_t default_port, server_address& out) {
  std::string_view port_text;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return "an IPv6 address lacks its closing ]";
    out.host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return "expected :port after an IPv6 address";
      port_text = rest.substr(1);
      if (port_text.empty()) return "the port after : is empty";
    }
    if (out.host.empty() ||
        !std::all_of(out.host.begin(), out.host.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'; })) {
      return "not an IPv6 address between [ and ]";
    }
  } else {
    const auto colon = text.find(':');
    out.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = text.substr(colon + 1);
      if (port_text.empty()) return "the port after : is empty";
    }
    if (out.host.empty()) return "a host is missing";
    if (!std::all_of(out.host.begin(), out.host.end(), is_name_char)) return "a host name has characters a name cannot have";
  }
  out.port = default_port;
  if (!port_text.empty()) {
    unsigned port = 0;
    if (!parse_decimal(port_text, port) || port == 0 || port > 65535) return "a port must be 1-65535";
    out.port = static_cast<std::uint16_t>(port);
  }
  return {};
}

}  // namespace

parsed_url parse_redis_url(std::string_view text) {
  parsed_url result;
  endpoint& target = result.value;
  auto fail = [&](std::string message) {
    result.error = std::move(message);
    return result;
  };

  const auto separator = text.find("://");
  if (separator == std::string_view::npos) {
    return fail("expected a URL like redis://[[user]:password@]host[:port][/db]");
  }
  std::string scheme(text.substr(0, separator));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto known = std::find_if(schemes.begin(), schemes.end(), [&](const auto& s) { return s.name == scheme; });
  if (known == schemes.end()) {
    return fail("the scheme must be redis, rediss (TLS), redis-sentinel, rediss-sentinel, redis-cluster or "
                "rediss-cluster");
  }
  target.mode = known->mode;
  target.tls = known->tls;

  std::string_view rest = text.substr(separator + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) return fail("the Redis URL must not have a query or fragment");
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);

  // The user information ends at the last @ (an unencoded @ in a password would be ambiguous).
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    const auto colon = userinfo.find(':');
    auto user = percent_decoded(userinfo.substr(0, colon));
    auto password = percent_decoded(colon == std::string_view::npos ? std::string_view{} : userinfo.substr(colon + 1));
    if (!user || !password) return fail("the Redis URL's user or password has a bad %-escape");
    target.user = std::move(*user);
    target.password = std::move(*password);
    if (target.password.empty() && !target.user.empty()) {
      return fail("the Redis URL names a user without a password (use redis://user:password@ or redis://:password@)");
    }
  }

  if (authority.empty()) return fail("the Redis URL has no host");
  const std::uint16_t default_port = target.mode == topology::sentinel ? 26379 : 6379;
  while (true) {
    const auto comma = authority.find(',');
    server_address server;
    std::string problem = parse_server(authority.substr(0, comma), default_port, server);
    if (!problem.empty()) return fail("the Redis URL's host list is not valid: " + problem);
    target.servers.push_back(std::move(server));
    if (comma == std::string_view::npos) break;
    authority.remove_prefix(comma + 1);
  }
  constexpr std::size_t max_servers = 64;
  if (target.servers.size() > max_servers) return fail("the Redis URL lists more than 64 hosts");
  if (target.mode == topology::standalone && target.servers.size() > 1) {
    return fail("only redis-sentinel:// and redis-cluster:// URLs list several hosts");
  }

  // The path: /db; /master-name[/db] for a sentinel; nothing (or /0) for a cluster.
  if (!path.empty()) path.remove_prefix(1);
  if (target.mode == topology::sentinel) {
    const auto next = path.find('/');
    auto name = percent_decoded(path.substr(0, next));
    if (!name || name->empty()) return fail("a redis-sentinel:// URL needs the master's name: redis-sentinel://host:26379/mymaster");
    target.master_name = std::move(*name);
    path = next == std::string_view::npos ? std::string_view{} : path.substr(next + 1);
  }
  if (!path.empty() && !parse_decimal(path, target.db)) {
    return fail("the Redis URL's path must end in a database number like /0");
  }
  if (target.mode == topology::cluster && target.db != 0) {
    return fail("a Redis Cluster has only database 0");
  }
  return result;
}

std::string describe(const server_address& address) {
  const bool ipv6 = address.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

std::string describe(const endpoint& target) {
  std::string text;
  for (const auto& s : schemes) {
    if (s.mode == target.mode && s.tls == target.tls) text.append(s.name);
  }
  text.append("://");
  for (std::size_t i = 0; i < target.servers.size(); ++i) {
    if (i) text.push_back(',');
    text.append(describe(target.servers[i]));
  }
  if (target.mode == topology::sentinel) text.append("/").append(target.master_name);
  if (target.mode != topology::cluster) text.append("/").append(std::to_string(target.db));
  return text;
}

}  // namespace github_proxy::redis
