// The scalar keys of the config schema (docs/contract.md §3 plus the documented
// extensions) and how each is parsed from text. The YAML decoder and the
// GITHUB_PROXY_* overrides both go through this table, so a value means the
// same thing whichever way it arrives.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <numeric>
#include <optional>

#include "config/load_context.h"
#include "github_proxy/credentials/resource.h"

namespace github_proxy::config::detail {
namespace {

std::string expected(std::string_view what, std::string_view text) {
  return "expected " + std::string(what) + ", got " + in_quotes(text);
}

std::string assign_string(std::string& out, std::string_view text) {
  out = text;
  return {};
}

// Unsigned integers up to LIMIT; YAML and the environment both give text.
template <typename Integer>
std::string assign_integer(Integer& out, std::string_view text,
                           std::string_view what,
                           Integer limit = std::numeric_limits<Integer>::max()) {
  Integer value{};
  auto [rest, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || rest != text.data() + text.size() || text.empty() ||
      value > limit) {
    return expected(what, text);
  }
  out = value;
  return {};
}

std::string assign_port(std::uint16_t& out, std::string_view text) {
  return assign_integer<std::uint16_t>(out, text, "a port number 0-65535");
}

std::string assign_size(std::size_t& out, std::string_view text) {
  auto bytes = parse_size(text);
  if (!bytes) return expected("a size like 256MiB", text);
  out = *bytes;
  return {};
}

// Bytes per second: a size, optionally followed by "/s" ("64KiB/s").
std::string assign_rate(std::uint64_t& out, std::string_view text) {
  std::string_view size = text;
  if (size.ends_with("/s")) size.remove_suffix(2);
  auto bytes = parse_size(size);
  if (!bytes) return expected("a rate like 64KiB/s", text);
  out = *bytes;
  return {};
}

std::string assign_duration(duration& out, std::string_view text) {
  auto value = parse_duration(text);
  if (!value) return expected("a duration like 5s", text);
  out = *value;
  return {};
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// The YAML 1.1 spellings yaml-cpp accepts, so `access_log: yes` keeps working.
std::string assign_bool(bool& out, std::string_view text) {
  for (std::string_view yes : {"true", "yes", "on"}) {
    if (equals_ignoring_case(text, yes)) {
      out = true;
      return {};
    }
  }
  for (std::string_view no : {"false", "no", "off"}) {
    if (equals_ignoring_case(text, no)) {
      out = false;
      return {};
    }
  }
  return expected("true or false", text);
}

template <typename Enum, std::size_t N>
std::string assign_enum(Enum& out, std::string_view text,
                        const std::array<std::pair<std::string_view, Enum>, N>& names,
                        std::string_view what) {
  for (const auto& [name, value] : names) {
    if (text == name) {
      out = value;
      return {};
    }
  }
  return expected(what, text);
}

std::string assign_level(std::string& out, std::string_view text) {
  // spdlog's names; spdlog::level::from_str maps unknown names to `off`,
  // which would silence a daemon over a typo, so we check the list ourselves.
  for (std::string_view level :
       {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    if (text == level) return assign_string(out, text);
  }
  return expected("one of trace, debug, info, warn, error, critical, off", text);
}

std::string_view trim_blanks(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string resource_names() {
  std::string names;
  for (std::size_t i = 0; i < credentials::resource_count; ++i) {
    if (!names.empty()) names += ", ";
    names += credentials::to_string(static_cast<credentials::resource>(i));
  }
  return names;
}

// pool.reserve: "100" (every resource), "core=500, graphql=100" (the named
// resources; the others 0) or both ("100, search=0, code_search=0"). One
// text form, so that GITHUB_PROXY_POOL_RESERVE says the same as the file.
std::string assign_reserve(pool_config& out, std::string_view text) {
  const std::string form = "credits like 100 or \"100, search=0\"";
  std::optional<std::uint32_t> every;
  std::vector<std::pair<std::string, std::uint32_t>> named;
  std::string_view rest = text;
  for (;;) {
    const auto comma = rest.find(',');
    const std::string_view item = trim_blanks(rest.substr(0, comma));
    const auto equals = item.find('=');
    const std::string_view name = trim_blanks(item.substr(0, equals == std::string_view::npos ? 0 : equals));
    const std::string_view number = equals == std::string_view::npos ? item : trim_blanks(item.substr(equals + 1));
    std::uint32_t credits = 0;
    if (!assign_integer<std::uint32_t>(credits, number, "").empty()) return expected(form, text);
    if (equals == std::string_view::npos) {
      if (every) return "give one reserve for every resource, got two in " + in_quotes(text);
      every = credits;
    } else {
      credentials::resource r{};
      if (!credentials::parse_resource(name, r)) {
        return "unknown resource " + in_quotes(name) + " (one of " + resource_names() + ")";
      }
      if (std::ranges::find(named, name, &std::pair<std::string, std::uint32_t>::first) != named.end()) {
        return "resource " + in_quotes(name) + " is given twice";
      }
      named.emplace_back(name, credits);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  out.reserve = every.value_or(0);
  out.reserve_by_resource = std::move(named);
  return {};
}

tls_files& tls_of(config& c) {
  if (!c.listen.tls) c.listen.tls.emplace();
  return *c.listen.tls;
}

constexpr std::array<std::pair<std::string_view, cache_backend>, 2> backend_names{{
    {"memory", cache_backend::memory},
    {"redis", cache_backend::redis},
}};
constexpr std::array<std::pair<std::string_view, serve_stale_mode>, 2> stale_names{{
    {"off", serve_stale_mode::off},
    {"on_upstream_error", serve_stale_mode::on_upstream_error},
}};
constexpr std::array<std::pair<std::string_view, rate_limit_headers_mode>, 2> rate_header_names{{
    {"client", rate_limit_headers_mode::client},
    {"github", rate_limit_headers_mode::github},
}};
constexpr std::array<std::pair<std::string_view, log_format>, 2> format_names{{
    {"json", log_format::json},
    {"text", log_format::text},
}};

using text = std::string_view;
// A plain array so that its size follows the list.
const scalar_field fields[] = {
    {"listen.address", [](config& c, text t) { return assign_string(c.listen.address, t); }},
    {"listen.port", [](config& c, text t) { return assign_port(c.listen.port, t); }},
    {"listen.tls.cert_file", [](config& c, text t) { return assign_string(tls_of(c).cert_file, t); }},
    {"listen.tls.key_file", [](config& c, text t) { return assign_string(tls_of(c).key_file, t); }},
    {"listen.unix_socket", [](config& c, text t) { return assign_string(c.listen.unix_socket, t); }},
    {"listen.public_url", [](config& c, text t) { return assign_string(c.listen.public_url, t); }},
    {"listen.trusted_proxies", [](config& c, text t) { return assign_string(c.listen.trusted_proxies, t); }},
    {"listen.threads", [](config& c, text t) { return assign_integer<unsigned>(c.listen.threads, t, "a number of threads (0 = one per core)"); }},
    {"listen.max_connections", [](config& c, text t) { return assign_integer<std::size_t>(c.listen.max_connections, t, "a whole number"); }},
    {"listen.idle_timeout", [](config& c, text t) { return assign_duration(c.listen.idle_timeout, t); }},
    {"listen.read_timeout", [](config& c, text t) { return assign_duration(c.listen.read_timeout, t); }},
    {"listen.max_header_bytes", [](config& c, text t) { return assign_size(c.listen.max_header_bytes, t); }},
    {"listen.max_body_bytes", [](config& c, text t) { return assign_size(c.listen.max_body_bytes, t); }},
    {"listen.shutdown_timeout", [](config& c, text t) { return assign_duration(c.listen.shutdown_timeout, t); }},
    {"admin.address", [](config& c, text t) { return assign_string(c.admin.address, t); }},
    {"admin.port", [](config& c, text t) { return assign_port(c.admin.port, t); }},
    {"admin.one_token_limit", [](config& c, text t) { return assign_integer<std::uint64_t>(c.admin.one_token_limit, t, "a number of credits per hour"); }},
    {"upstream.url", [](config& c, text t) { return assign_string(c.upstream.url, t); }},
    {"upstream.graphql_url", [](config& c, text t) { return assign_string(c.upstream.graphql_url, t); }},
    {"upstream.ca_file", [](config& c, text t) { return assign_string(c.upstream.ca_file, t); }},
    {"upstream.connect_timeout", [](config& c, text t) { return assign_duration(c.upstream.connect_timeout, t); }},
    {"upstream.request_timeout", [](config& c, text t) { return assign_duration(c.upstream.request_timeout, t); }},
    {"upstream.max_connections_per_host", [](config& c, text t) { return assign_integer<std::size_t>(c.upstream.max_connections_per_host, t, "a whole number"); }},
    {"upstream.min_stream_rate", [](config& c, text t) { return assign_rate(c.upstream.min_stream_rate, t); }},
    {"registry.file", [](config& c, text t) { return assign_string(c.registry.file, t); }},
    {"registry.reload_interval", [](config& c, text t) { return assign_duration(c.registry.reload_interval, t); }},
    {"cache.backend", [](config& c, text t) { return assign_enum(c.cache.backend, t, backend_names, "memory or redis"); }},
    {"cache.memory.max_bytes", [](config& c, text t) { return assign_size(c.cache.memory.max_bytes, t); }},
    {"cache.redis.url", [](config& c, text t) { return assign_string(c.cache.redis.url, t); }},
    {"cache.redis.tls.ca_file", [](config& c, text t) { return assign_string(c.cache.redis.tls.ca_file, t); }},
    {"cache.redis.tls.cert_file", [](config& c, text t) { return assign_string(c.cache.redis.tls.cert_file, t); }},
    {"cache.redis.tls.key_file", [](config& c, text t) { return assign_string(c.cache.redis.tls.key_file, t); }},
    {"cache.redis.tls.server_name", [](config& c, text t) { return assign_string(c.cache.redis.tls.server_name, t); }},
    {"cache.redis.key_prefix", [](config& c, text t) { return assign_string(c.cache.redis.key_prefix, t); }},
    {"cache.redis.ttl", [](config& c, text t) { return assign_duration(c.cache.redis.ttl, t); }},
    {"cache.redis.timeout", [](config& c, text t) { return assign_duration(c.cache.redis.timeout, t); }},
    {"cache.max_object_bytes", [](config& c, text t) { return assign_size(c.cache.max_object_bytes, t); }},
    {"cache.front_tier_bytes", [](config& c, text t) { return assign_size(c.cache.front_tier_bytes, t); }},
    {"cache.serve_stale", [](config& c, text t) { return assign_enum(c.cache.serve_stale, t, stale_names, "off or on_upstream_error"); }},
    {"cache.fresh_under_pressure", [](config& c, text t) { return assign_bool(c.cache.fresh_under_pressure, t); }},
    {"cache.confirm_window", [](config& c, text t) { return assign_duration(c.cache.confirm_window, t); }},
    {"pool.reserve", [](config& c, text t) { return assign_reserve(c.pool, t); }},
    {"pool.max_concurrent", [](config& c, text t) { return assign_integer<std::uint32_t>(c.pool.max_concurrent, t, "a number of requests"); }},
    {"pool.wait_timeout", [](config& c, text t) { return assign_duration(c.pool.wait_timeout, t); }},
    {"pool.secret_reload_interval", [](config& c, text t) { return assign_duration(c.pool.secret_reload_interval, t); }},
    {"pool.rate_limit_headers", [](config& c, text t) { return assign_enum(c.pool.rate_limit_headers, t, rate_header_names, "client or github"); }},
    {"pool.secondary_limits.rest_points_per_minute", [](config& c, text t) { return assign_integer<std::int64_t>(c.pool.secondary_limits.rest_points_per_minute, t, "a number of points (0 = off)"); }},
    {"pool.secondary_limits.graphql_points_per_minute", [](config& c, text t) { return assign_integer<std::int64_t>(c.pool.secondary_limits.graphql_points_per_minute, t, "a number of points (0 = off)"); }},
    {"pool.secondary_limits.content_per_minute", [](config& c, text t) { return assign_integer<std::int64_t>(c.pool.secondary_limits.content_per_minute, t, "a number of requests (0 = off)"); }},
    {"pool.secondary_limits.content_per_hour", [](config& c, text t) { return assign_integer<std::int64_t>(c.pool.secondary_limits.content_per_hour, t, "a number of requests (0 = off)"); }},
    {"pool.secondary_limits.share_percent", [](config& c, text t) { return assign_integer<std::uint32_t>(c.pool.secondary_limits.share_percent, t, "a percentage 1-100"); }},
    {"pool.secondary_limits.pacing_wait", [](config& c, text t) { return assign_duration(c.pool.secondary_limits.pacing_wait, t); }},
    {"logging.level", [](config& c, text t) { return assign_level(c.logging.level, t); }},
    {"logging.format", [](config& c, text t) { return assign_enum(c.logging.format, t, format_names, "json or text"); }},
    {"logging.access_log", [](config& c, text t) { return assign_bool(c.logging.access_log, t); }},
};

// The first key component below SECTION in KEY, or "" when KEY is not below it.
std::string_view child_of(std::string_view section, std::string_view key) {
  if (!section.empty()) {
    if (!key.starts_with(section) || key.size() <= section.size() ||
        key[section.size()] != '.') {
      return {};
    }
    key.remove_prefix(section.size() + 1);
  }
  return key.substr(0, key.find('.'));
}

}  // namespace

std::span<const scalar_field> scalar_fields() { return fields; }

const scalar_field* find_scalar_field(std::string_view key) {
  auto it = std::ranges::find(fields, key, &scalar_field::key);
  return it == std::ranges::end(fields) ? nullptr : &*it;
}

bool is_section(std::string_view key) {
  return std::ranges::any_of(fields, [&](const scalar_field& f) {
    return f.key.size() > key.size() && f.key.starts_with(key) &&
           f.key[key.size()] == '.';
  });
}

std::vector<std::string_view> keys_under(std::string_view section) {
  std::vector<std::string_view> keys;
  if (section.empty()) keys.push_back("credentials");  // the one list
  for (const scalar_field& f : fields) {
    std::string_view child = child_of(section, f.key);
    if (!child.empty() && std::ranges::find(keys, child) == keys.end()) {
      keys.push_back(child);
    }
  }
  return keys;
}

std::string in_quotes(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

std::string redact_userinfo(std::string_view text) {
  auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return std::string(text);
  auto authority_begin = scheme_end + 3;
  // The last @ anywhere: a password may hold an unencoded / ? or # (which
  // makes the URL invalid, and the message that says so must not show it).
  auto at = text.rfind('@');
  if (at == std::string_view::npos || at < authority_begin) return std::string(text);
  return std::string(text.substr(0, authority_begin)) + "***" +
         std::string(text.substr(at));
}

std::string_view closest_key(std::string_view word,
                             const std::vector<std::string_view>& candidates) {
  // Levenshtein distance with one row; keys are short.
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), std::size_t{0});
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        std::size_t above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                           diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diagonal = above;
      }
    }
    return row[b.size()];
  };
  std::string_view best;
  std::size_t best_distance = 3;  // beyond 2 edits a suggestion is noise
  for (std::string_view candidate : candidates) {
    std::size_t d = distance(word, candidate);
    if (d < best_distance && d < word.size()) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace github_proxy::config::detail
