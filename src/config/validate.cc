// Checks that the decoded values make sense (docs/contract.md §3): URLs that parse,
// files that can be read, limits that are positive. Also completes the
// config: relative paths become absolute, upstream.graphql_url is derived.
// Keys that failed to decode are skipped, so one typo gives one error.
#include <fcntl.h>
#include <unistd.h>

#include <boost/url/parse.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "common/trusted_proxies.h"
#include "config/load_context.h"
#include "redis/redis_url.h"
#include "redis/tls.h"

namespace github_proxy::config::detail {
namespace {

namespace fs = std::filesystem;

// Why PATH cannot be opened for reading, or "" when it can.
std::string unreadable_reason(const std::string& path, bool need_content) {
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (ec) return ec.message();
  if (fs::is_directory(status)) return "it is a directory";
  if (!fs::is_regular_file(status)) return "not a regular file";
  // O_NONBLOCK so that a path swapped for a FIFO cannot hang startup.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return std::error_code(errno, std::generic_category()).message();
  ::close(fd);
  if (need_content && fs::file_size(path, ec) == 0 && !ec) return "the file is empty";
  return {};
}

bool is_decimal_port(std::string_view text) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  return ec == std::errc{} && end == text.data() + text.size() && port >= 1 &&
         port <= 65535;
}

std::string strip_trailing_slashes(std::string url) {
  while (url.ends_with('/')) url.pop_back();
  return url;
}

// An absolute http(s) URL without credentials, query or fragment (the
// upstream, GraphQL and public base URLs, to which request paths are
// appended). Returns false after reporting KEY.
bool check_base_url(load_context& ctx, std::string_view key, const std::string& value) {
  std::string shown = in_quotes(redact_userinfo(value));
  auto parsed = boost::urls::parse_uri(value);
  if (!parsed) {
    ctx.error(key, "expected an absolute http(s) URL like https://api.github.com, got " + shown);
    return false;
  }
  const boost::urls::url_view& url = *parsed;
  if (url.scheme_id() != boost::urls::scheme::http &&
      url.scheme_id() != boost::urls::scheme::https) {
    ctx.error(key, "expected an http:// or https:// URL, got " + shown);
  } else if (!url.has_authority() || url.encoded_host().empty()) {
    ctx.error(key, "the URL has no host: " + shown);
  } else if (url.has_userinfo()) {
    // Credentials would be a secret in the config file (docs/contract.md §3).
    ctx.error(key, "the URL must not contain user:password@; credentials come from the pool");
  } else if (url.has_port() && !is_decimal_port(url.port())) {
    ctx.error(key, "the URL's port must be 1-65535, got " + shown);
  } else if (url.has_query() || url.has_fragment()) {
    ctx.error(key, "the URL must not have a query or fragment, got " + shown);
  } else {
    return true;
  }
  return false;
}

// Checks KEY's URL and stores it without trailing slashes, so that
// components can append "/repos/..." without doubling the slash.
bool normalise_base_url(load_context& ctx, std::string_view key, std::string& value) {
  if (ctx.is_bad(key) || !check_base_url(ctx, key, value)) return false;
  value = strip_trailing_slashes(value);
  return true;
}

// GitHub.com serves GraphQL at /graphql beside the REST root; GHES serves
// REST under /api/v3 and GraphQL at /api/graphql.
// https://docs.github.com/en/enterprise-server@latest/graphql/guides/forming-calls-with-graphql#the-graphql-endpoint
std::string derive_graphql_url(const std::string& rest_url) {
  auto url = boost::urls::parse_uri(rest_url);
  if (std::string_view(url->encoded_path()).ends_with("/api/v3")) {
    return std::string(url->encoded_origin()) + "/api/graphql";
  }
  return rest_url + "/graphql";
}


template <typename Number>
void require_positive(load_context& ctx, std::string_view key, Number value) {
  if (!ctx.is_bad(key) && value <= Number{}) ctx.error(key, "must be greater than 0");
}

void require_non_empty(load_context& ctx, std::string_view key, const std::string& value) {
  if (!ctx.is_bad(key) && value.empty()) ctx.error(key, "must not be empty");
}

void validate_listen(listen_config& listen, load_context& ctx) {
  require_non_empty(ctx, "listen.address", listen.address);
  if (listen.tls && !ctx.is_bad("listen.tls")) {
    // Both or neither: a certificate without its key cannot serve TLS.
    for (auto [key, value] : {std::pair{"listen.tls.cert_file", &listen.tls->cert_file},
                              std::pair{"listen.tls.key_file", &listen.tls->key_file}}) {
      if (ctx.is_bad(key)) continue;
      if (value->empty()) {
        ctx.error(key, "required when listen.tls is set (TLS needs both cert_file and key_file)");
      } else {
        resolve_readable_file(ctx, key, *value);
      }
    }
  }
  if (!listen.public_url.empty()) normalise_base_url(ctx, "listen.public_url", listen.public_url);
  if (std::string error; !ctx.is_bad("listen.trusted_proxies") &&
                         !common::trusted_proxies::parse(listen.trusted_proxies, &error)) {
    ctx.error("listen.trusted_proxies", error);
  }
  // More threads than this is a typo, not a machine.
  constexpr unsigned max_threads = 1024;
  if (!ctx.is_bad("listen.threads") && listen.threads > max_threads) {
    ctx.error("listen.threads", "at most " + std::to_string(max_threads) + ", got " +
                                    std::to_string(listen.threads));
  }
  require_positive(ctx, "listen.max_connections", listen.max_connections);
  require_positive(ctx, "listen.idle_timeout", listen.idle_timeout.count());
  require_positive(ctx, "listen.read_timeout", listen.read_timeout.count());
  require_positive(ctx, "listen.max_header_bytes", listen.max_header_bytes);
  require_positive(ctx, "listen.max_body_bytes", listen.max_body_bytes);
  // shutdown_timeout may be 0: cancel in-flight requests at once.
}

void validate_admin(const config& c, load_context& ctx) {
  require_non_empty(ctx, "admin.address", c.admin.address);
  require_positive(ctx, "admin.one_token_limit", c.admin.one_token_limit);
  auto is_wildcard = [](const std::string& address) {
    return address == "0.0.0.0" || address == "::";
  };
  bool same_address = c.admin.address == c.listen.address ||
                      is_wildcard(c.admin.address) || is_wildcard(c.listen.address);
  if (!ctx.is_bad("admin.port") && !ctx.is_bad("listen.port") && c.admin.port != 0 &&
      c.admin.port == c.listen.port && same_address) {
    ctx.error("admin.port", "the admin listener needs its own port; " +
                                std::to_string(c.admin.port) + " is listen.port");
  }
}

void validate_upstream(upstream_config& upstream, load_context& ctx) {
  bool url_ok = normalise_base_url(ctx, "upstream.url", upstream.url);
  if (!upstream.graphql_url.empty()) {
    normalise_base_url(ctx, "upstream.graphql_url", upstream.graphql_url);
  } else if (url_ok) {
    upstream.graphql_url = derive_graphql_url(upstream.url);
  }
  if (!upstream.ca_file.empty() && !ctx.is_bad("upstream.ca_file")) {
    resolve_readable_file(ctx, "upstream.ca_file", upstream.ca_file);
  }
  require_positive(ctx, "upstream.connect_timeout", upstream.connect_timeout.count());
  require_positive(ctx, "upstream.request_timeout", upstream.request_timeout.count());
  require_positive(ctx, "upstream.max_connections_per_host", upstream.max_connections_per_host);
  require_positive(ctx, "upstream.min_stream_rate", upstream.min_stream_rate);
}

void validate_registry(registry_config& registry, load_context& ctx) {
  if (!ctx.is_bad("registry.file")) {
    if (registry.file.empty()) {
      ctx.error("registry.file",
                "required: the client registry that proxy tokens are checked against");
    } else {
      // Fail closed: without a registry no request could be authenticated.
      resolve_readable_file(ctx, "registry.file", registry.file, /*need_content=*/false,
                            "; the proxy refuses to start without its client registry: create it "
                            "with the entries `github-proxy new-token --client NAME` prints "
                            "(docs/contract.md §4, config/registry.example.yaml)");
    }
  }
  require_positive(ctx, "registry.reload_interval", registry.reload_interval.count());
}

void validate_cache(cache_config& cache, load_context& ctx) {
  // The Redis settings are checked even with the memory backend: a broken
  // value would otherwise surface only on the day someone switches backends.
  // cache.redis.url, in the words of the parser the connection uses (src/redis/redis_url.h).
  const auto parsed = redis::parse_redis_url(cache.redis.url);
  if (!ctx.is_bad("cache.redis.url") && !parsed.ok()) {
    ctx.error("cache.redis.url", parsed.error + ", got " + in_quotes(redact_userinfo(cache.redis.url)));
  }
  redis_tls_config& tls = cache.redis.tls;
  const auto& url = parsed.value;
  const bool tls_url = url.tls;
  // In a cluster a key's slot comes from its first {…}: one in the prefix
  // would put every key of every client on one node.
  if (url.mode == redis::topology::cluster && !ctx.is_bad("cache.redis.key_prefix")) {
    const auto open = cache.redis.key_prefix.find('{');
    if (open != std::string::npos && cache.redis.key_prefix.find('}', open + 1) != std::string::npos) {
      ctx.error("cache.redis.key_prefix", "must not contain a hash tag ({…}) with redis-cluster://: every key "
                                          "would land in one slot, on one node");
    }
  }
  for (auto [key, value] : {std::pair{"cache.redis.tls.ca_file", &tls.ca_file},
                            std::pair{"cache.redis.tls.cert_file", &tls.cert_file},
                            std::pair{"cache.redis.tls.key_file", &tls.key_file},
                            std::pair{"cache.redis.tls.server_name", &tls.server_name}}) {
    if (value->empty() || ctx.is_bad(key)) continue;
    if (!tls_url && !ctx.is_bad("cache.redis.url")) {
      ctx.error(key, "is set, but cache.redis.url does not ask for TLS (use rediss://, rediss-sentinel:// or "
                     "rediss-cluster://)");
    } else if (std::string_view(key).ends_with("_file")) {
      resolve_readable_file(ctx, key, *value, /*need_content=*/true);
    }
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    const char* missing = tls.cert_file.empty() ? "cache.redis.tls.cert_file" : "cache.redis.tls.key_file";
    if (!ctx.is_bad(missing)) ctx.error(missing, "required with the other: a client certificate needs both cert_file and key_file");
  } else if (tls_url && !ctx.is_bad("cache.redis.tls.ca_file") && !ctx.is_bad("cache.redis.tls.cert_file") &&
             !ctx.is_bad("cache.redis.tls.key_file")) {
    // Readable is not enough: a file that is not PEM, or a key that does not
    // match its certificate, is refused here rather than at `serve`.
    try {
      redis::make_tls_settings(tls);
    } catch (const std::invalid_argument& e) {
      ctx.error("cache.redis.tls", e.what());
    }
  }
  require_positive(ctx, "cache.redis.ttl", cache.redis.ttl.count());
  require_positive(ctx, "cache.redis.timeout", cache.redis.timeout.count());
  require_positive(ctx, "cache.max_object_bytes", cache.max_object_bytes);
}

void validate_pool(const pool_config& pool, load_context& ctx) {
  // GitHub allows no more than 100 concurrent requests per credential
  // (docs/github-api.md §3.4); a higher cap only earns secondary limits.
  constexpr std::uint32_t github_concurrency_limit = 100;
  if (!ctx.is_bad("pool.max_concurrent") &&
      (pool.max_concurrent < 1 || pool.max_concurrent > github_concurrency_limit)) {
    ctx.error("pool.max_concurrent", "expected 1 to " + std::to_string(github_concurrency_limit) +
                                         " (GitHub's limit of concurrent requests), got " +
                                         std::to_string(pool.max_concurrent));
  }
  // Waiting longer than this for a credential outlasts every client's own timeout.
  constexpr auto max_wait = std::chrono::minutes(5);
  if (!ctx.is_bad("pool.wait_timeout") &&
      (pool.wait_timeout.count() <= 0 || pool.wait_timeout > max_wait)) {
    ctx.error("pool.wait_timeout", "expected more than 0 and at most 5m");
  }
  // Every poll reads each secret file; more often than this is a typo.
  constexpr auto min_secret_poll = std::chrono::milliseconds(100);
  if (!ctx.is_bad("pool.secret_reload_interval") && pool.secret_reload_interval.count() != 0 &&
      pool.secret_reload_interval < min_secret_poll) {
    ctx.error("pool.secret_reload_interval", "expected 0 (off) or at least 100ms");
  }
  const auto& secondary = pool.secondary_limits;
  for (const auto& [key, value] : {std::pair{"pool.secondary_limits.rest_points_per_minute", secondary.rest_points_per_minute},
                                   std::pair{"pool.secondary_limits.graphql_points_per_minute", secondary.graphql_points_per_minute},
                                   std::pair{"pool.secondary_limits.content_per_minute", secondary.content_per_minute},
                                   std::pair{"pool.secondary_limits.content_per_hour", secondary.content_per_hour}}) {
    if (!ctx.is_bad(key) && value < 0) ctx.error(key, "expected 0 (off) or a positive number, got " + std::to_string(value));
  }
  if (!ctx.is_bad("pool.secondary_limits.share_percent") &&
      (secondary.share_percent < 1 || secondary.share_percent > 100)) {
    ctx.error("pool.secondary_limits.share_percent",
              "expected 1 to 100, got " + std::to_string(secondary.share_percent));
  }
  // (pacing_wait is bounded by wait_timeout where it is used.)
}

}  // namespace

void resolve_readable_file(load_context& ctx, std::string_view key, std::string& value,
                           bool need_content, std::string_view when_missing) {
  fs::path path(value);
  if (path.is_relative()) {
    // Relative to the file that named it, so a config and its registry can
    // move together (a Kubernetes ConfigMap mounts both in one directory).
    fs::path base = ctx.from_environment(key) ? fs::path() : fs::path(ctx.file()).parent_path();
    path = base / path;
  }
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  value = (ec ? path : absolute).lexically_normal().string();
  if (std::string reason = unreadable_reason(value, need_content); !reason.empty()) {
    std::error_code ignored;
    const bool missing = fs::status(value, ignored).type() == fs::file_type::not_found;
    ctx.error(key, "cannot read " + value + ": " + reason + (missing ? std::string(when_missing) : ""));
  }
}

void validate(config& out, load_context& ctx) {
  validate_listen(out.listen, ctx);
  validate_admin(out, ctx);
  validate_upstream(out.upstream, ctx);
  validate_registry(out.registry, ctx);
  validate_cache(out.cache, ctx);
  validate_pool(out.pool, ctx);
}

}  // namespace github_proxy::config::detail
