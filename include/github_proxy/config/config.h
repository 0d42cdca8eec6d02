// Plain configuration structs (docs/contract.md §3). Every field has its production
// default; `load_config` fills them from YAML and the environment and
// validates them. Components receive the part they need by const reference.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace github_proxy::config {

using duration = std::chrono::milliseconds;

struct tls_files {
  std::string cert_file;
  std::string key_file;
};

struct listen_config {
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;  // 0 = any free port (tests)
  std::optional<tls_files> tls;
  std::string unix_socket;  // empty = none
  std::string public_url;   // empty = derived from the request's Host
  // Peers (an ingress, a load balancer) whose Forwarded / X-Forwarded-Proto
  // / X-Forwarded-Host name the public base when public_url is not set:
  // addresses or CIDR networks, comma-separated. Empty: none.
  std::string trusted_proxies;

  // Extensions beyond docs/contract.md §3 (documented in the README).
  unsigned threads = 0;                  // 0 = one per core
  std::size_t max_connections = 10000;   // client connections, all listeners
  duration idle_timeout{std::chrono::seconds(60)};     // keep-alive idle
  duration read_timeout{std::chrono::seconds(30)};     // one request's head+body
  std::size_t max_header_bytes = 64 * 1024;            // over → 431
  std::size_t max_body_bytes = 32 * 1024 * 1024;       // over → 413
  duration shutdown_timeout{std::chrono::seconds(25)}; // drain bound on SIGTERM
};

struct admin_config {
  // Loopback by default: /metrics names every client and credential. A
  // deployment whose probes and scrapers reach the pod's address binds
  // 0.0.0.0 on purpose (deploy/kubernetes/base/config.yaml says why).
  std::string address = "127.0.0.1";
  std::uint16_t port = 9090;  // 0 = any free port (tests)
  // The status page's "outages avoided" replay the demand against one token
  // of this many credits per hour (docs/contract.md §8 "Status page"):
  // GitHub's core limit for a user's token.
  std::uint64_t one_token_limit = 5000;
};

struct upstream_config {
  std::string url = "https://api.github.com";
  std::string graphql_url;  // empty = derived from url
  std::string ca_file;      // empty = system store
  duration connect_timeout{std::chrono::seconds(5)};
  duration request_timeout{std::chrono::seconds(30)};
  std::size_t max_connections_per_host = 64;
  // Extension beyond docs/contract.md §3 (documented in the README): a
  // client reading a streamed answer (over cache.max_object_bytes) slower
  // than this many bytes per second on average, after a grace of
  // request_timeout, is cut off, so that it cannot hold an upstream
  // connection for as long as it likes.
  std::uint64_t min_stream_rate = 64 * 1024;
};

struct registry_config {
  std::string file;  // required for `serve`
  duration reload_interval{std::chrono::seconds(5)};
};

struct memory_cache_config {
  std::size_t max_bytes = 256ull * 1024 * 1024;
};

// For rediss:// (and rediss-sentinel://, rediss-cluster://) URLs.
struct redis_tls_config {
  std::string ca_file;      // empty: the system's CA store
  std::string cert_file;    // a client certificate, with key_file; empty: none
  std::string key_file;
  std::string server_name;  // SNI and the name verified; empty: the host dialled
};

struct redis_cache_config {
  // redis://, rediss://, redis-sentinel://, redis-cluster:// (src/redis/redis_url.h).
  std::string url = "redis://127.0.0.1:6379/0";
  redis_tls_config tls;
  std::string key_prefix = "ghp:";
  duration ttl{std::chrono::hours(24 * 7)};
  duration timeout{std::chrono::milliseconds(200)};
};

enum class cache_backend { memory, redis };
enum class serve_stale_mode { off, on_upstream_error };

struct cache_config {
  cache_backend backend = cache_backend::memory;
  memory_cache_config memory;
  redis_cache_config redis;
  std::size_t max_object_bytes = 8 * 1024 * 1024;
  serve_stale_mode serve_stale = serve_stale_mode::off;
  // Decoded entries kept in process in front of the backend
  // (cache/front_tier.h); 0: none.
  std::size_t front_tier_bytes = 64ull * 1024 * 1024;
  // When no credential has room under GitHub's secondary limits, answer a
  // GET from an entry GitHub confirmed within the max-age it sent, without
  // asking again (docs/contract.md §6 "Fresh under pressure"). false:
  // always revalidate, waiting for room or answering 429.
  bool fresh_under_pressure = true;
  // Answer from an entry GitHub confirmed less than this ago, pressure or
  // not (never longer than its max-age): fewer points for very hot keys,
  // at the price of that much staleness. 0: off.
  duration confirm_window{0};
};

// GitHub's secondary limits per credential (docs/github-api.md §3.4) and the
// share of them the pool spends (credentials/secondary_limits.h). 0 turns a
// limit off (for a GitHub Enterprise Server whose admin set none).
struct secondary_limits_config {
  std::int64_t rest_points_per_minute = 900;
  std::int64_t graphql_points_per_minute = 2000;
  std::int64_t content_per_minute = 80;
  std::int64_t content_per_hour = 500;
  std::uint32_t share_percent = 90;
  // How long a request may wait for room (pacing) before a 429; never
  // longer than pool.wait_timeout.
  duration pacing_wait{std::chrono::seconds(5)};
};

// What X-RateLimit-* and GET /rate_limit tell a client (docs/contract.md §5
// "Rate limits as the client sees them"): `client`, its own limit through the
// proxy (credentials/rate_view.h), /rate_limit answered by the proxy;
// `github`, the headers of whichever credential GitHub answered, and
// /rate_limit sent to GitHub like any request.
enum class rate_limit_headers_mode { client, github };

// The credential pool's settings (docs/contract.md §7).
struct pool_config {
  // Credits left alone in each rate-limit bucket (a hard reserve: at the
  // reserve a request is refused rather than dipping into it). `reserve`
  // applies to every resource not named in `reserve_by_resource`, whose
  // names are GitHub's X-RateLimit-Resource values (core, search, graphql,
  // …). A reserve suited to core (5000/h) would close search (30/min), so the
  // config names resources: `reserve: "100, search=0, code_search=0"`.
  std::uint32_t reserve = 0;
  std::vector<std::pair<std::string, std::uint32_t>> reserve_by_resource;
  // Requests in flight per credential, every resource together (GitHub's
  // secondary limit: 100 concurrent requests).
  std::uint32_t max_concurrent = 100;
  // How long a request waits for a credential (one busy at its cap, an
  // App's token being renewed) before it is answered 503.
  duration wait_timeout{std::chrono::seconds(10)};
  // How often token_file and private_key_file are checked for a new
  // content (a Kubernetes Secret rotated in place); 0 = never (SIGHUP only).
  duration secret_reload_interval{std::chrono::seconds(10)};
  rate_limit_headers_mode rate_limit_headers = rate_limit_headers_mode::client;
  secondary_limits_config secondary_limits;
};

enum class credential_type { token, app };

struct credential_config {
  std::string name;
  credential_type type = credential_type::token;
  // type: token — exactly one of these.
  std::string token_env;
  std::string token_file;
  // type: app
  std::string app_id;     // numeric App ID, or
  std::string client_id;  // Iv1.… client ID (one of the two)
  std::string installation_id;
  std::string private_key_file;
  int source_line = 0;  // for later error messages
};

enum class log_format { json, text };

struct logging_config {
  std::string level = "info";  // trace|debug|info|warn|error|critical|off
  log_format format = log_format::json;
  bool access_log = true;  // one line per request
};

struct config {
  std::string source_file;  // path it was loaded from
  listen_config listen;
  admin_config admin;
  upstream_config upstream;
  registry_config registry;
  cache_config cache;
  pool_config pool;
  std::vector<credential_config> credentials;
  logging_config logging;
};

// One validation problem, rendered as `file:line: message`.
struct config_error {
  std::string file;
  int line = 0;  // 1-based; 0 when not tied to a line
  std::string message;
  std::string to_string() const;
};

struct load_result {
  std::optional<config> value;       // set when errors is empty
  std::vector<config_error> errors;  // every problem found, in file order
};

// Reads FILE, applies GITHUB_PROXY_<SECTION>_<KEY> environment overrides
// (read through `getenv`, injectable for tests), and validates. Never throws.
using env_lookup = const char* (*)(const char*);
load_result load_config(const std::string& file, env_lookup getenv_fn = nullptr);
load_result load_config_from_string(const std::string& yaml,
                                    const std::string& file_name,
                                    env_lookup getenv_fn = nullptr);

// "5s", "200ms", "7d" → duration; "256MiB" → bytes. nullopt when malformed.
std::optional<duration> parse_duration(std::string_view text);
std::optional<std::size_t> parse_size(std::string_view text);

// The environment variables that override config keys, with the key each
// sets (for --help and the README).
struct env_override {
  const char* variable;
  const char* key;
};
const std::vector<env_override>& env_overrides();

}  // namespace github_proxy::config
