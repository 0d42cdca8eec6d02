// Picks up rotated credential secrets without a restart (docs/contract.md §7
// "Secrets"). Every interval, pool::reload_changed_secrets re-reads each
// token_file and private_key_file and reloads only the credentials whose
// content changed (followed through symlinks, so a Kubernetes Secret volume
// swapping its `..data` link is seen). SIGHUP goes through here too
// (reload_all: every credential, pool::reload_secrets' semantics), so that
// both are logged and counted in one place.
//
// Logs name the credential and its file, never the content or its digest.
// github_proxy_secret_reloads_total{result}:
//   ok     a changed file's new content is in use, or one credential re-read
//          at SIGHUP;
//   error  a changed file that cannot be read or holds no valid secret (the
//          previous secret is kept), or one credential SIGHUP could not
//          re-read.
// A failing file is re-read at every poll, so its fix is picked up at the
// next one, but counted and logged once per distinct failure (another
// errno, another invalid content), not once per poll: the counter counts
// failures, not the minutes a failure lasted.
//
// Threading: the timer loop and reload_all run on a strand of the executor
// given (the server's background thread: file I/O is blocking, though
// bounded); poll_once runs on the calling thread, serialised with them by
// the pool. Every method may be called from any thread. Lifetime: the pool,
// the counter family and the logger must outlive the executor's io_context
// run; the watcher may be destroyed at any time before its io_context (it
// stops itself, and the loop holds its own state).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <spdlog/logger.h>

#include "github_proxy/credentials/pool.h"

namespace github_proxy::credentials {

class secret_watcher {
 public:
  struct poll_result {
    std::size_t reloaded = 0;  // changed files now in use (counted ok)
    std::size_t failed = 0;    // new failures (counted error)
  };

  // `interval` 0 turns the polling off (start does nothing); reload_all
  // still serves SIGHUP. `reloads_total`: the family from metrics::families;
  // its children ok and error are created here, so both series exist from
  // the start.
  secret_watcher(boost::asio::any_io_executor executor, pool& credentials, std::chrono::milliseconds interval,
                 std::shared_ptr<spdlog::logger> logger, prometheus::Family<prometheus::Counter>& reloads_total);
  ~secret_watcher();  // calls stop()

  secret_watcher(const secret_watcher&) = delete;
  secret_watcher& operator=(const secret_watcher&) = delete;

  // One poll now, on the calling thread (tests call it directly; the
  // timer loop calls it every interval).
  poll_result poll_once();

  // SIGHUP: re-reads every credential's secret on the strand (returns at
  // once). Logs each failure; counts one ok or error per credential.
  void reload_all();

  // Polls every interval until stop(). Idempotent; nothing when the
  // interval is 0.
  void start();
  // Cancels the timer; the loop ends without another poll. Idempotent.
  void stop();

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace github_proxy::credentials
