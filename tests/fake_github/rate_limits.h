// Primary rate limits per account (token, or "anonymous") and resource, with
// windows that start at first use (docs/github-api.md §3).
//
// Thread-safety: every member takes the internal mutex; callers pass `now`
// (Unix seconds) so time is injected rather than read here.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/json/object.hpp>

namespace fake_github {

enum class resource : std::uint8_t {
  core, search, code_search, graphql, integration_manifest, source_import,
  code_scanning_upload, actions_runner_registration, scim, dependency_snapshots,
  audit_log, dependency_sbom,
};
inline constexpr std::size_t resource_count = 12;

std::string_view resource_name(resource r);
std::optional<resource> resource_from_name(std::string_view name);
std::int64_t window_seconds(resource r);  // 60 for the per-minute buckets, else 3600

// go-github's GetRateLimitCategory (docs/github-api.md §3.2). `api_path` has the /api/v3
// prefix and the query removed.
resource classify_request(std::string_view method, std::string_view api_path, bool is_graphql);

using limit_table = std::array<std::int64_t, resource_count>;
limit_table default_limits();    // core 5000/h, search 30/min, code_search 10/min, graphql 5000/h, …
limit_table anonymous_limits();  // core 60/h, search 10/min, others 0

inline constexpr std::string_view anonymous_account = "anonymous";

struct rate_snapshot {
  resource res = resource::core;
  std::int64_t limit = 0, remaining = 0, used = 0, reset = 0;
};

struct admission {
  bool allowed;
  rate_snapshot snapshot;  // after spending, when it spent
};

struct bucket_update {
  std::optional<std::int64_t> limit, remaining, reset_in;
};

class rate_limits {
 public:
  explicit rate_limits(limit_table authenticated_defaults);

  // Allowed when at least max(cost, 1) points remain; spends `cost` when
  // `spend` (non-304 successes and redirects). Atomic check-and-spend.
  admission admit(std::string_view account, resource r, int cost, bool spend, std::int64_t now);
  rate_snapshot peek(std::string_view account, resource r, std::int64_t now);

  // The body of GET /rate_limit.
  boost::json::object status_json(std::string_view account, std::int64_t now);

  rate_snapshot set_bucket(std::string_view account, resource r, const bucket_update& update,
                           std::int64_t now);
  void set_default(resource r, std::int64_t limit);  // for buckets created from now on
  void reset();                                      // forget buckets, restore CLI defaults

 private:
  struct bucket {
    std::int64_t limit = 0;
    std::int64_t used = 0;
    std::int64_t reset = 0;  // 0 = window not started
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using account_buckets = std::array<std::optional<bucket>, resource_count>;

  bucket& bucket_for(std::string_view account, resource r, std::int64_t now);  // lock held
  static rate_snapshot snapshot_of(const bucket& b, resource r, std::int64_t now);

  std::mutex mutex_;
  const limit_table initial_defaults_;
  limit_table defaults_;
  std::unordered_map<std::string, account_buckets, string_hash, std::equal_to<>> accounts_;
};

}  // namespace fake_github
