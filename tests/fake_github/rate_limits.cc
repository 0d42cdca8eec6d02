#include "rate_limits.h"

#include <algorithm>

namespace fake_github {
namespace {

constexpr std::array<std::string_view, resource_count> names = {
    "core", "search", "code_search", "graphql", "integration_manifest", "source_import",
    "code_scanning_upload", "actions_runner_registration", "scim", "dependency_snapshots",
    "audit_log", "dependency_sbom",
};

}  // namespace

std::string_view resource_name(resource r) { return names[static_cast<std::size_t>(r)]; }

std::optional<resource> resource_from_name(std::string_view name) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<resource>(i);
  return std::nullopt;
}

std::int64_t window_seconds(resource r) {
  switch (r) {
    case resource::search:
    case resource::code_search:
    case resource::source_import:
    case resource::dependency_snapshots:
      return 60;
    default:
      return 3600;
  }
}

resource classify_request(std::string_view method, std::string_view path, bool is_graphql) {
  if (is_graphql) return resource::graphql;
  if (method == "GET" && path.starts_with("/search/code")) return resource::code_search;
  if (path.starts_with("/search/")) return resource::search;
  if (method == "POST" && path.starts_with("/app-manifests/") && path.ends_with("/conversions"))
    return resource::integration_manifest;
  if (method == "PUT" && path.starts_with("/repos/") && path.ends_with("/import"))
    return resource::source_import;
  if (path.ends_with("/code-scanning/sarifs")) return resource::code_scanning_upload;
  if (path.starts_with("/scim/")) return resource::scim;
  if (method == "POST" && path.ends_with("/dependency-graph/snapshots"))
    return resource::dependency_snapshots;
  if (path.ends_with("/audit-log")) return resource::audit_log;
  if (path.ends_with("/dependency-graph/sbom")) return resource::dependency_sbom;
  return resource::core;
}

// Values of the recorded /rate_limit body (docs/github-api.md §3.2) where GitHub shows them.
limit_table default_limits() {
  return {5000, 30, 10, 5000, 5000, 100, 1000, 10000, 15000, 100, 1750, 100};
}

limit_table anonymous_limits() { return {60, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}; }

rate_limits::rate_limits(limit_table authenticated_defaults)
    : initial_defaults_(authenticated_defaults), defaults_(authenticated_defaults) {}

rate_limits::bucket& rate_limits::bucket_for(std::string_view account, resource r, std::int64_t now) {
  auto it = accounts_.find(account);
  if (it == accounts_.end()) it = accounts_.emplace(std::string(account), account_buckets{}).first;
  auto& slot = it->second[static_cast<std::size_t>(r)];
  if (!slot) {
    const limit_table& table = account == anonymous_account ? anonymous_limits() : defaults_;
    slot = bucket{table[static_cast<std::size_t>(r)], 0, 0};
  }
  if (slot->reset != 0 && now >= slot->reset) {  // the window elapsed: a fresh one on next use
    slot->used = 0;
    slot->reset = 0;
  }
  return *slot;
}

rate_snapshot rate_limits::snapshot_of(const bucket& b, resource r, std::int64_t now) {
  // An unused bucket reports now + window, as GitHub does (docs/github-api.md §3.2).
  return {r, b.limit, std::max<std::int64_t>(0, b.limit - b.used), b.used,
          b.reset != 0 ? b.reset : now + window_seconds(r)};
}

admission rate_limits::admit(std::string_view account, resource r, int cost, bool spend,
                             std::int64_t now) {
  std::lock_guard lock(mutex_);
  bucket& b = bucket_for(account, r, now);
  if (b.limit - b.used < std::max(cost, 1)) return {false, snapshot_of(b, r, now)};
  if (spend) {
    if (b.reset == 0) b.reset = now + window_seconds(r);
    b.used += cost;
  }
  return {true, snapshot_of(b, r, now)};
}

rate_snapshot rate_limits::peek(std::string_view account, resource r, std::int64_t now) {
  std::lock_guard lock(mutex_);
  return snapshot_of(bucket_for(account, r, now), r, now);
}

boost::json::object rate_limits::status_json(std::string_view account, std::int64_t now) {
  std::lock_guard lock(mutex_);
  boost::json::object resources;
  auto entry = [](const rate_snapshot& s) {
    return boost::json::object{
        {"limit", s.limit}, {"used", s.used}, {"remaining", s.remaining}, {"reset", s.reset}};
  };
  for (std::size_t i = 0; i < resource_count; ++i) {
    auto r = static_cast<resource>(i);
    resources[resource_name(r)] = entry(snapshot_of(bucket_for(account, r, now), r, now));
  }
  boost::json::object body;
  body["resources"] = std::move(resources);
  // "rate" is the deprecated mirror of core (docs/github-api.md §3.2).
  body["rate"] = entry(snapshot_of(bucket_for(account, resource::core, now), resource::core, now));
  return body;
}

rate_snapshot rate_limits::set_bucket(std::string_view account, resource r,
                                      const bucket_update& update, std::int64_t now) {
  std::lock_guard lock(mutex_);
  bucket& b = bucket_for(account, r, now);
  if (update.limit) b.limit = std::max<std::int64_t>(0, *update.limit);
  if (update.remaining) b.used = std::max<std::int64_t>(0, b.limit - *update.remaining);
  if (update.reset_in)
    b.reset = now + std::max<std::int64_t>(1, *update.reset_in);
  else if (b.used > 0 && b.reset == 0)  // a spent bucket needs a running window to recover
    b.reset = now + window_seconds(r);
  return snapshot_of(b, r, now);
}

void rate_limits::set_default(resource r, std::int64_t limit) {
  std::lock_guard lock(mutex_);
  defaults_[static_cast<std::size_t>(r)] = std::max<std::int64_t>(0, limit);
}

void rate_limits::reset() {
  std::lock_guard lock(mutex_);
  accounts_.clear();
  defaults_ = initial_defaults_;
}

}  // namespace fake_github
