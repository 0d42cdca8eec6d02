// Client registry (docs/contract.md §4): who may use the proxy, with which proxy token,
// on which methods and paths, and with which upstream budget.
//
// Threading: a `registry_snapshot` is immutable once built and may be read by
// any number of threads. `registry_store` hands out the current snapshot
// without a global lock on the request path; `replace` is called by the
// reloader only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "github_proxy/config/config.h"  // config_error

namespace github_proxy::auth {

// `upstream_budget: 2000/h` — at most `credits` upstream credits per `window`.
struct budget {
  std::uint64_t credits = 0;
  std::chrono::seconds window{3600};
};

enum class graphql_policy { any, query_only };

struct client {
  std::string name;                 // [a-z0-9_-]+, the metrics label
  std::size_t index = 0;            // dense 0..N-1 within its snapshot
  std::optional<budget> upstream_budget;
  // End of that day, UTC: the first instant at which the client is refused,
  // i.e. midnight UTC after an `expires: YYYY-MM-DD` day, or the instant of
  // an RFC 3339 timestamp. Refused when `now >= *expires`.
  std::optional<std::chrono::system_clock::time_point> expires;
  bool plaintext_token = false;     // registered with `token:` (warned)
  int source_line = 0;              // line of the entry in its file (1-based)
};

class registry_snapshot;  // defined in src/auth; opaque to the pipeline

enum class verdict_kind {
  allowed,          // forward it
  unauthenticated,  // 401 Bad credentials (missing, unknown, expired token)
  forbidden,        // 403: outside the client's scopes
  bad_request,      // 400: path cannot be normalised safely
};

enum class graphql_operation_cost { query, mutation, unknown };

struct verdict {
  verdict_kind kind = verdict_kind::unauthenticated;
  // Keeps `who` alive for as long as the request holds the verdict.
  std::shared_ptr<const registry_snapshot> snapshot;
  const client* who = nullptr;  // set when the token identified a client
  std::string message;          // GitHub-shaped message for errors; no secret
  // The normalised path that scopes were matched against: percent-decoded,
  // no query, no /api/v3 prefix, /api/graphql as /graphql. Set once the
  // client is known and the path could be normalised (allowed, forbidden).
  // For logs and resource inference.
  std::string path;
  // Allowed GraphQL: the operation that would run, for GitHub's secondary
  // limits (a mutation costs 5 points and creates content). `unknown`: a
  // subscription or a document that cannot be classified, charged a
  // mutation's points but no content creation (nothing proves it creates any).
  graphql_operation_cost graphql_cost = graphql_operation_cost::query;
};

// What authorisation needs to see of a request.
struct request_view {
  std::string_view method;
  std::string_view target;         // as received: path + optional ?query
  std::string_view authorization;  // the raw Authorization header value
  std::string_view body;           // for GraphQL mutation detection: the whole
                                   // body, read only when is_graphql_request(target)
  // The Content-Type: a `graphql: query` scope reads a body as GraphQL's
  // JSON only when it says application/json (what GitHub parses).
  std::string_view content_type;
  // The head alone, before the body is read: a `graphql: query` scope that
  // matches method and path allows for now (the body decides later).
  bool body_pending = false;
};

struct registry_load_result {
  std::shared_ptr<const registry_snapshot> snapshot;  // set when errors is empty
  std::vector<config::config_error> errors;
  std::vector<config::config_error> warnings;  // e.g. plaintext tokens
};

registry_load_result load_registry(const std::string& file);
registry_load_result load_registry_from_string(const std::string& yaml,
                                               const std::string& file_name);

// Decides one request. Pure apart from reading the snapshot; `now` is injected.
verdict authorize(std::shared_ptr<const registry_snapshot> snapshot,
                  const request_view& request,
                  std::chrono::system_clock::time_point now);

// Whether `authorize` reads `request.body` for this target, i.e. its
// normalised path is the GraphQL endpoint (`/graphql`, `/api/graphql`).
// Other requests may be authorised before their body is read.
bool is_graphql_request(std::string_view target);

std::size_t client_count(const registry_snapshot& snapshot);
// All clients of a snapshot, in file order (for metrics and budgets).
const std::vector<client>& clients(const registry_snapshot& snapshot);

// Holds the current snapshot. `current()` is wait-free for readers on the
// hot path after the first call on a thread.
//
// How: `replace` publishes the snapshot under a mutex together with a new
// generation number (an atomic, unique across all stores of the process).
// Each thread caches the last (generation, shared_ptr) pair it saw; `current`
// compares one acquire-load of the generation with that cache and takes the
// mutex only when it changed, i.e. once per thread per reload. The cost on
// the hot path is that load plus the shared_ptr copy the caller asks for.
// (libstdc++ 12's std::atomic<std::shared_ptr> is not lock-free: it guards
// every load with a lock bit, which is what this avoids.) A thread's cache
// keeps the snapshot it last saw alive until that thread reads again.
//
// `replace` may be called from any thread; `current` returns nullptr until
// the first `replace`.
class registry_store {
 public:
  registry_store();
  ~registry_store();
  registry_store(const registry_store&) = delete;
  registry_store& operator=(const registry_store&) = delete;

  std::shared_ptr<const registry_snapshot> current() const;
  void replace(std::shared_ptr<const registry_snapshot> next);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace github_proxy::auth
