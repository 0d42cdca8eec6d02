// github-proxy: wiring only. Load config → build objects → run (docs/contract.md §2).
#include <malloc.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "common/log_escaped.h"
#include "common/tls_warmup.h"
#include "common/logging.h"
#include "common/trusted_proxies.h"
#include "github_proxy/auth/registry.h"
#include "github_proxy/auth/registry_reloader.h"
#include "github_proxy/auth/tools.h"
#include "github_proxy/cache/front_tier.h"
#include "github_proxy/cache/memory_store.h"
#include "github_proxy/config/config.h"
#include "github_proxy/credentials/budget.h"
#include "github_proxy/credentials/clock.h"
#include "github_proxy/credentials/pool.h"
#include "github_proxy/credentials/secret_watcher.h"
#include "github_proxy/credentials/secrets.h"
#include "github_proxy/metrics/metrics.h"
#include "github_proxy/redis/redis_backend.h"
#include "github_proxy/server/healthcheck.h"
#include "github_proxy/status/status_board.h"
#include "github_proxy/status/status_command.h"
#include "credentials/redis_budget_ledger.h"
#include "credentials/secondary_exchange.h"
#include "proxy/app_token_issuer.h"
#include "proxy/request_pipeline.h"
#include "server/server.h"

namespace {

using namespace github_proxy;

// Broken tokens are probed when their probe is due, whether or not requests
// arrive: with every token broken the proxy is unready and gets none.
boost::asio::awaitable<void> probe_broken_tokens(credentials::pool& pool) {
  const auto executor = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer timer(executor);
  for (;;) {
    pool.start_due_probes(executor);
    timer.expires_after(std::chrono::seconds(15));
    auto [ec] = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec) co_return;
  }
}

// The status page's clock: the one-token replay is fed every second.
boost::asio::awaitable<void> tick_status(status::status_board& board) {
  const auto executor = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer timer(executor);
  for (;;) {
    board.tick();
    timer.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec) co_return;
  }
}

// github_proxy_rate_limit_* and github_proxy_credential_state, sampled from
// the pool on every scrape.
void export_pool_metrics(const credentials::pool& pool, metrics::families& metrics) {
  metrics.on_scrape([&pool, &metrics] {
    for (const auto& c : pool.report()) {
      const std::string name(c.name);
      for (std::size_t s = 0; s < credentials::credential_state_count; ++s) {
        const auto state = static_cast<credentials::credential_state>(s);
        metrics.credential_state.Add({{"credential", name}, {"state", std::string(credentials::to_string(state))}})
            .Set(state == c.state ? 1 : 0);
      }
      const auto& limits = pool.secondary();
      const std::array<std::tuple<std::string_view, std::int64_t, std::int64_t>, 4> secondary{{
          {"rest_points", c.secondary.rest_points, limits.rest_points_per_minute},
          {"graphql_points", c.secondary.graphql_points, limits.graphql_points_per_minute},
          {"content_per_minute", c.secondary.content_minute, limits.content_per_minute},
          {"content_per_hour", c.secondary.content_hour, limits.content_per_hour},
      }};
      for (const auto& [kind, used, limit] : secondary) {
        const std::map<std::string, std::string> labels{{"credential", name}, {"kind", std::string(kind)}};
        metrics.secondary_used.Add(labels).Set(static_cast<double>(used));
        metrics.secondary_limit.Add(labels).Set(static_cast<double>(limit));
      }
      for (const auto& b : c.buckets) {
        const std::map<std::string, std::string> labels{{"credential", name},
                                                        {"resource", std::string(credentials::to_string(b.r))}};
        metrics.rate_limit_remaining.Add(labels).Set(static_cast<double>(b.view.remaining));
        metrics.rate_limit_limit.Add(labels).Set(static_cast<double>(b.view.limit));
        metrics.rate_limit_used.Add(labels).Set(static_cast<double>(b.view.used));
        if (b.view.reset) {
          metrics.rate_limit_reset.Add(labels).Set(static_cast<double>(credentials::to_epoch_seconds(*b.view.reset)));
        }
      }
    }
  });
}

// github_proxy_cache_entries and _bytes of one tier, sampled on every scrape.
void export_store_gauges(metrics::families& metrics, std::string_view tier,
                         std::function<cache::store_stats()> stats_of) {
  auto& entries = metrics.cache_entries.Add({{"backend", std::string(tier)}});
  auto& bytes = metrics.cache_bytes.Add({{"backend", std::string(tier)}});
  metrics.on_scrape([&entries, &bytes, stats_of = std::move(stats_of)] {
    const auto stats = stats_of();
    entries.Set(static_cast<double>(stats.entries));
    bytes.Set(static_cast<double>(stats.bytes));
  });
}

std::unique_ptr<cache::cache_backend> make_cache(const config::config& cfg, metrics::families& metrics,
                                                 std::shared_ptr<spdlog::logger> log) {
  std::unique_ptr<cache::cache_backend> backend;
  if (cfg.cache.backend == config::cache_backend::redis) {
    std::array<prometheus::Counter*, 3> errors{
        &metrics.cache_backend_errors_total.Add({{"backend", "redis"}, {"op", "get"}}),
        &metrics.cache_backend_errors_total.Add({{"backend", "redis"}, {"op", "put"}}),
        &metrics.cache_backend_errors_total.Add({{"backend", "redis"}, {"op", "erase"}})};
    redis::backend_hooks hooks;
    hooks.on_error = [errors](std::string_view op) {
      errors[op == "get" ? 0 : op == "put" ? 1 : 2]->Increment();
    };
    hooks.logger = std::move(log);
    backend = redis::make_redis_backend(cfg.cache.redis, std::move(hooks));
  } else {
    backend = cache::make_memory_backend(cfg.cache.memory.max_bytes);
  }
  export_store_gauges(metrics, backend->name(), [b = backend.get()] { return b->stats(); });
  return backend;
}

constexpr const char* usage = R"(github-proxy — a caching, credential-pooling proxy for the GitHub API

Usage:
  github-proxy serve --config FILE [--ready-file PATH]
  github-proxy --config FILE                 (same as serve)
  github-proxy check-config FILE             validate a config and the registry it names
  github-proxy check-registry FILE           validate a client registry
  github-proxy healthcheck --config FILE [--ready]
                                             exit 0 when the admin listener answers
                                             /healthz (/readyz) with 200 within 2s
  github-proxy status --admin URL            print a running daemon's status page as tables
                                             (URL: its admin listener, e.g. http://127.0.0.1:9090)
  github-proxy new-token --client NAME       print a new proxy token and its registry entry
  github-proxy hash-token                    read a token on stdin, print its sha256: form
  github-proxy --version | --help

--ready-file PATH   once every listener is bound, write {"port":N,"admin_port":M}
                    to PATH (for tests and supervisors that bind port 0).

Environment overrides (GITHUB_PROXY_<SECTION>_<KEY>):
)";

void print_help() {
  std::cout << usage;
  for (const auto& o : config::env_overrides()) {
    std::cout << "  " << o.variable << "  →  " << o.key << "\n";
  }
}

void print_errors(const std::vector<config::config_error>& errors) {
  for (const auto& e : errors) std::cerr << e.to_string() << "\n";
}

int check_config(const std::string& file) {
  auto loaded = config::load_config(file);
  if (!loaded.value) {
    print_errors(loaded.errors);
    return 1;
  }
  const int registry_status = auth::check_registry_command(loaded.value->registry.file, std::cout, std::cerr);
  if (registry_status != 0) return registry_status;
  std::cout << file << ": ok\n";
  return 0;
}

bool write_ready_file(const std::string& path, std::uint16_t port, std::uint16_t admin_port) {
  const auto tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << R"({"port":)" << port << R"(,"admin_port":)" << admin_port << "}\n";
    if (!out) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

// Every request allocates and frees a few kilobytes on its I/O thread. With
// glibc's defaults, a free that leaves more than 128 KiB at the top of a
// thread's arena hands it back with madvise(MADV_DONTNEED): a TLB shootdown
// on every core, then page faults when the next request takes it again. On
// the revalidation benchmark that was ~10 % of the CPU per request
// (bench/README.md). Each arena (about one per thread) may now keep up to
// 16 MiB free after a burst (deploy/README.md, "Resources"); a fixed mmap
// threshold keeps bodies over 4 MiB out of the arenas. An operator's own
// setting of either (GLIBC_TUNABLES or MALLOC_*_THRESHOLD_) wins.
void keep_freed_heap_for_reuse() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  const auto set_by_operator = [tunables](const char* tunable, const char* variable) {
    return (tunables != nullptr && std::strstr(tunables, tunable) != nullptr) || std::getenv(variable) != nullptr;
  };
  if (!set_by_operator("glibc.malloc.mmap_threshold", "MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 4 << 20);
  if (!set_by_operator("glibc.malloc.trim_threshold", "MALLOC_TRIM_THRESHOLD_")) mallopt(M_TRIM_THRESHOLD, 16 << 20);
}

int serve(const std::string& config_file, const std::string& ready_file) {
  keep_freed_heap_for_reuse();
  auto loaded = config::load_config(config_file);
  if (!loaded.value) {
    print_errors(loaded.errors);
    return 1;
  }
  config::config cfg = std::move(*loaded.value);
  if (cfg.listen.threads == 0) cfg.listen.threads = std::max(1u, std::thread::hardware_concurrency());

  auto loggers = logging::make_loggers(cfg.logging);
  auto& log = *loggers.main;
  // Components given no logger (App token renewals) log through the default.
  spdlog::set_default_logger(loggers.main);


  metrics::families metrics(GITHUB_PROXY_VERSION);
  auto& registry_clients = metrics.registry_clients.Add({});
  auth::registry_store registry;

  boost::asio::ssl::context upstream_tls(boost::asio::ssl::context::tls_client);
  upstream_tls.set_verify_mode(boost::asio::ssl::verify_peer);
  try {
    if (cfg.upstream.ca_file.empty()) {
      upstream_tls.set_default_verify_paths();
    } else {
      upstream_tls.load_verify_file(cfg.upstream.ca_file);
    }
  } catch (const std::exception& e) {
    log.error("upstream.ca_file: {}", e.what());
    return 1;
  }
  // Every I/O thread's pool shares it (common/tls_warmup.h).
  common::warm_certificate_caches(upstream_tls.native_handle());

  std::unique_ptr<cache::cache_backend> cache_backend;
  try {
    cache_backend = make_cache(cfg, metrics, loggers.main);
  } catch (const std::exception& e) {
    log.error("cache: {}", e.what());
    return 1;
  }
  // Decoded entries in front of the backend (cache/front_tier.h).
  std::optional<cache::front_tier> front_tier;
  if (cache_backend && cfg.cache.front_tier_bytes > 0) {
    // No longer than Redis would keep the entry.
    const auto ttl = cfg.cache.backend == config::cache_backend::redis
                         ? std::chrono::duration_cast<std::chrono::seconds>(cfg.cache.redis.ttl)
                         : std::chrono::seconds(0);
    front_tier.emplace(cfg.cache.front_tier_bytes, ttl);
    export_store_gauges(metrics, "front_tier", [&front = *front_tier] { return front.stats(); });
  }
  proxy::flight_table flights;
  cache::write_marks writes;
  // Budgets: counted in this process with the memory cache; shared by the
  // replicas in Redis with the Redis cache (this ledger is then the
  // fallback while Redis is down).
  credentials::memory_budget_ledger budgets(credentials::system_clock_source());
  std::optional<credentials::redis_ledger_settings> redis_budgets;
  if (cfg.cache.backend == config::cache_backend::redis) {
    try {
      redis_budgets = credentials::redis_ledger_settings_from(cfg.cache.redis);
    } catch (const std::exception& e) {
      log.error("cache.redis: {}", e.what());
      return 1;
    }
    auto& check_errors = metrics.cache_backend_errors_total.Add({{"backend", "redis"}, {"op", "budget_check"}});
    auto& charge_errors = metrics.cache_backend_errors_total.Add({{"backend", "redis"}, {"op", "budget_charge"}});
    // (Created with the others, so that every series exists from the start.)
    metrics.cache_backend_errors_total.Add({{"backend", "redis"}, {"op", "secondary_exchange"}});
    redis_budgets->on_error = [&check_errors, &charge_errors](std::string_view op) {
      (op == "budget_check" ? check_errors : charge_errors).Increment();
    };
  }

  proxy::shared_state shared;
  shared.cfg = &cfg;
  shared.cache = cache_backend.get();
  shared.front = front_tier ? &*front_tier : nullptr;
  shared.flights = &flights;
  shared.writes = &writes;
  shared.budgets = &budgets;
  if (redis_budgets) shared.redis_budgets = &*redis_budgets;
  shared.rest = *upstream::parse_endpoint(cfg.upstream.url);  // validated by load_config
  shared.graphql = *upstream::parse_endpoint(cfg.upstream.graphql_url);
  shared.origins = proxy::origins_of(shared.rest.url_prefix());
  shared.trusted = *common::trusted_proxies::parse(cfg.listen.trusted_proxies);  // validated by load_config
  if (cfg.listen.public_url.empty()) {
    loggers.main->warn(
        "listen.public_url is not set: URLs in answers are built from each request's Host{} "
        "(set it to the URL clients use, e.g. https://github-proxy.example.com)",
        shared.trusted.empty() ? "" : " or the trusted proxies' Forwarded fields");
  }
  shared.upstream_tls = &upstream_tls;
  shared.registry = &registry;
  shared.metrics = &metrics;
  shared.log = loggers.main;
  shared.access_log = loggers.access;
  shared.user_agent = std::string("github-proxy/") + GITHUB_PROXY_VERSION;

  // The credential pool reads every secret now; a bad one stops the start.
  credentials::pool_options pool_options;
  pool_options.set_reserve(cfg.pool.reserve);
  for (const auto& [name, credits] : cfg.pool.reserve_by_resource) {
    credentials::resource r{};
    if (credentials::parse_resource(name, r)) pool_options.set_reserve(r, credits);  // validated by load_config
  }
  pool_options.max_concurrent = cfg.pool.max_concurrent;
  pool_options.wait_timeout = cfg.pool.wait_timeout;
  const auto& secondary = cfg.pool.secondary_limits;
  pool_options.secondary = credentials::secondary_policy{secondary.rest_points_per_minute,
                                                         secondary.graphql_points_per_minute,
                                                         secondary.content_per_minute, secondary.content_per_hour,
                                                         secondary.share_percent};
  pool_options.pacing_wait = std::chrono::duration_cast<std::chrono::milliseconds>(secondary.pacing_wait);
  pool_options.on_renewal = [log = loggers.main](const credentials::renewal_event& e) {
    if (e.error) {
      log->warn("credential {}: installation token renewal failed: {} (HTTP {})", e.credential,
                e.error.message(), e.status);
    } else {
      log->info("credential {}: installation token renewed", e.credential);
    }
  };
  pool_options.on_probe = [log = loggers.main](const credentials::probe_event& e) {
    if (e.accepted) {
      log->info("credential {}: GitHub accepts the token again", e.credential);
    } else {
      log->warn("credential {}: still refused by GitHub (HTTP {}{}{})", e.credential, e.status,
                e.error ? ", " : "", e.error ? e.error.message() : "");
    }
  };
  auto built = credentials::pool::from_config(
      cfg, credentials::system_clock_source(),
      proxy::make_app_token_issuer(shared.rest, &upstream_tls, cfg.upstream, shared.user_agent), pool_options);
  if (!built.value) {
    print_errors(built.errors);
    return 1;
  }
  auto& pool = *built.value;
  shared.credentials = &pool;
  export_pool_metrics(pool, metrics);

  // The status page (docs/contract.md §8): what the proxy saves, per client.
  metrics.one_token_limit.Add({}).Set(static_cast<double>(cfg.admin.one_token_limit));
  status::status_sources status_sources;
  status_sources.metrics = &metrics;
  status_sources.registry = &registry;
  if (!redis_budgets) status_sources.budgets = &budgets;
  status_sources.one_token_limit = cfg.admin.one_token_limit;
  status_sources.version = GITHUB_PROXY_VERSION;
  status::status_board status_board(std::move(status_sources), credentials::system_clock_source());
  shared.demand = &status_board.demand();

  server::server_options options;
  options.cfg = &cfg;
  options.status = &status_board;
  options.shared = &shared;
  options.log = loggers.main;
  // SIGHUP re-reads every secret through the watcher, once it exists (it
  // runs on the server's background thread; signals come only while the
  // server runs).
  credentials::secret_watcher* secret_reloads = nullptr;
  options.on_hangup = [&secret_reloads] {
    if (secret_reloads) secret_reloads->reload_all();
  };
  // Ready = the registry is loaded (and, in the server, not draining).
  // Never GitHub's state: every replica sees the same credentials, so a
  // revoked token would take every pod out of the Service at once and
  // clients would get connection refused instead of a GitHub-shaped 503.
  // Credential health is in github_proxy_credential_state (and its alerts).
  options.ready = [&registry] { return registry.current() != nullptr; };
  std::unique_ptr<server::server> srv;
  try {
    srv = std::make_unique<server::server>(options);
  } catch (const std::exception& e) {
    log.error("listen.tls: {}", e.what());
    return 1;
  }
  auto& connections = metrics.client_connections.Add({});
  metrics.on_scrape([&connections, &server = *srv] { connections.Set(static_cast<double>(server.open_connections())); });

  // The registry is loaded before any listener accepts a connection.
  auth::registry_reloader reloader(srv->background_context().get_executor(), registry, cfg.registry.file,
                                   cfg.registry.reload_interval, loggers.main,
                                   metrics.registry_reloads_total, registry_clients,
                                   metrics.registry_last_success.Add({}));
  const auto registry_loaded = reloader.load_initial();
  if (!registry_loaded.snapshot) {
    // Fail closed: no request can be authenticated without the registry.
    print_errors(registry_loaded.errors);
    std::cerr << "github-proxy: refusing to start without a valid client registry (registry.file "
              << cfg.registry.file << "; `github-proxy check-registry FILE` lists its problems)\n";
    return 1;
  }
  for (const auto& w : registry_loaded.warnings) log.warn("{}", w.to_string());

  if (auto error = srv->bind()) {
    log.error("cannot listen: {}", *error);
    return 1;
  }
  if (!ready_file.empty() && !write_ready_file(ready_file, srv->port(), srv->admin_port())) {
    log.error("cannot write --ready-file {}", ready_file);
    return 1;
  }

  // Rotated token files and App keys are picked up without a restart.
  credentials::secret_watcher secrets(srv->background_context().get_executor(), pool,
                                      cfg.pool.secret_reload_interval, loggers.main,
                                      metrics.secret_reloads_total);
  secret_reloads = &secrets;

  reloader.start();
  secrets.start();
  boost::asio::co_spawn(srv->background_context(), probe_broken_tokens(pool),
                        common::log_escaped("credential probes", loggers.main));
  boost::asio::co_spawn(srv->background_context(), tick_status(status_board),
                        common::log_escaped("status page", loggers.main));
  // Secondary limits shared by the replicas of one Redis (every second).
  std::optional<credentials::redis_ledger_settings> exchange_settings;
  std::optional<credentials::secondary_exchange> exchange;
  if (redis_budgets) {
    exchange_settings = *redis_budgets;
    auto& exchange_errors =
        metrics.cache_backend_errors_total.Add({{"backend", "redis"}, {"op", "secondary_exchange"}});
    exchange_settings->on_error = [&exchange_errors](std::string_view) { exchange_errors.Increment(); };
    exchange.emplace(srv->background_context().get_executor(), *exchange_settings, pool,
                     credentials::make_replica_id());
    boost::asio::co_spawn(srv->background_context(), exchange->run(std::chrono::seconds(1)),
                          common::log_escaped("secondary-limit exchange", loggers.main));
  }
  const int code = srv->run();
  secrets.stop();
  reloader.stop();
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // A client or upstream that closes mid-write must be an error code, not a
  // process-ending signal (a library may write with plain write(2)).
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  auto value_of = [&](const std::string& flag) -> std::string {
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == flag) return args[i + 1];
    }
    return {};
  };
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help();
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::cout << "github-proxy " << GITHUB_PROXY_VERSION << "\n";
    return 0;
  }
  const std::string& command = args[0];
  if (command == "serve" || command == "--config") {
    const auto file = value_of("--config");
    if (file.empty()) {
      std::cerr << "serve needs --config FILE\n";
      return 2;
    }
    return serve(file, value_of("--ready-file"));
  }
  if (command == "check-config" && args.size() == 2) return check_config(args[1]);
  if (command == "check-registry" && args.size() == 2) {
    return auth::check_registry_command(args[1], std::cout, std::cerr);
  }
  if (command == "healthcheck") {
    std::string file;
    bool ready = false;
    for (std::size_t i = 1; i < args.size(); ++i) {
      if (args[i] == "--config" && i + 1 < args.size()) {
        file = args[++i];
      } else if (args[i] == "--ready") {
        ready = true;
      } else {
        std::cerr << "healthcheck: unknown argument " << args[i] << "\n";
        return 2;
      }
    }
    if (file.empty()) {
      std::cerr << "healthcheck needs --config FILE (the daemon's)\n";
      return 2;
    }
    return server::healthcheck_command(file, ready, std::cout, std::cerr);
  }
  if (command == "status") {
    const auto url = value_of("--admin");
    if (url.empty()) {
      std::cerr << "status needs --admin URL (the daemon's admin listener, e.g. http://127.0.0.1:9090)\n";
      return 2;
    }
    return status::status_command(url, std::cout, std::cerr);
  }
  if (command == "new-token") {
    const auto name = value_of("--client");
    if (name.empty()) {
      std::cerr << "new-token needs --client NAME\n";
      return 2;
    }
    return auth::new_token_command(name, std::cout, std::cerr);
  }
  if (command == "hash-token") return auth::hash_token_command(std::cin, std::cout, std::cerr);
  std::cerr << "unknown command or arguments: " << command << "\n(see github-proxy --help)\n";
  return 2;
}
