// Re-reads the registry file when it changes (docs/contract.md §4): a valid new file
// replaces the store's snapshot atomically; an invalid one is logged with
// every error, counted in github_proxy_registry_reloads_total{result="error"},
// and the previous snapshot stays.
//
// Change detection, once per interval: the file is opened through its path
// (following symlinks, so a Kubernetes ConfigMap swapping its `..data` link
// is seen as a new target) and fstat'ed; (device, inode, size, mtime) of that
// target and the SHA-256 of its content together are the file's fingerprint.
// An unchanged fingerprint does nothing; a changed one with the content that
// is already installed (a `touch`, an identical ConfigMap) only records the
// new fingerprint; anything else is parsed. A failure is reported once per
// distinct fingerprint, not on every poll. A file being written while read
// (size or mtime moved under the read) is left for the next poll.
//
// Threading and lifetime: the timer loop runs on a strand of the executor
// given; `start` and `stop` may be called from any thread. File I/O is
// blocking but small (the file is capped at 16 MiB). The store, the metric
// family and the gauge must outlive the executor's io_context run; the
// reloader may be destroyed at any time before its io_context is (it stops
// itself, and the loop holds its own state).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <spdlog/logger.h>

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "github_proxy/auth/registry.h"

namespace github_proxy::auth {

class registry_reloader {
 public:
  enum class poll_outcome {
    unchanged,  // same fingerprint, same content as installed, or mid-write
    reloaded,   // a new snapshot was installed
    failed,     // unreadable or invalid: logged, counted, old snapshot kept
  };

  using wall_clock = std::function<std::chrono::system_clock::time_point()>;

  // `reloads_total`: the family from metrics::families (label `result`,
  // children `success` and `error` are created here, once). `clients`: the
  // github_proxy_registry_clients gauge, set on every install.
  // `last_success`: github_proxy_registry_last_success_timestamp_seconds,
  // set to `now()` as Unix seconds on every install (the initial load
  // included), so an alert can tell how long the registry has not loaded.
  registry_reloader(boost::asio::any_io_executor executor, registry_store& store, std::string file,
                    std::chrono::milliseconds interval, std::shared_ptr<spdlog::logger> logger,
                    prometheus::Family<prometheus::Counter>& reloads_total, prometheus::Gauge& clients,
                    prometheus::Gauge& last_success, wall_clock now = &std::chrono::system_clock::now);
  ~registry_reloader();  // calls stop()

  registry_reloader(const registry_reloader&) = delete;
  registry_reloader& operator=(const registry_reloader&) = delete;

  // Start-up load: reads and validates the file; when valid, installs it,
  // sets the gauge and records it as the baseline for later polls. Returns
  // the load result so `serve` can print its errors and refuse to start. Not
  // counted in reloads_total.
  registry_load_result load_initial();

  // One change check now, on the calling thread (tests call it directly;
  // the timer loop calls it every interval). Serialised with the loop.
  // Without load_initial(), the first valid read installs the file as the
  // baseline (logged, not counted as a reload).
  poll_outcome poll_once();

  // Polls every interval until stop(). Idempotent.
  void start();
  // Cancels the timer; the loop ends without another poll. Idempotent.
  void stop();

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace github_proxy::auth
