// cache::after_fetch: one row per (entry, fetch result, request, options)
// and the action, metric outcome, Cache-Status and sharing it must give.
#include "github_proxy/cache/after_fetch.h"

#include <gtest/gtest.h>

namespace github_proxy::cache {
namespace {

using metrics::cache_outcome;

fetch_result answered(unsigned status, bool storable = false) {
  return {fetch_kind::answered, status, storable, false, false};
}
fetch_result failed(bool timed_out) { return {fetch_kind::failed, 0, false, timed_out, false}; }
fetch_result refused(bool busy) { return {fetch_kind::refused, 0, false, false, busy}; }
fetch_result rate_limited(unsigned status) { return {fetch_kind::rate_limited, status, false, false, false}; }
fetch_result streamed() { return {fetch_kind::streamed, 200, false, false, false}; }

struct row {
  const char* name;
  bool cached;
  fetch_result fetched;
  bool may_store;
  bool serve_stale;
  fetch_action action;
  cache_outcome outcome;
  std::string_view cache_status;  // with `stored` true for replace rows
  bool shareable;
  bool credit_saved;
};

const row rows[] = {
    // A 304 confirms the entry: a hit, shared, a credit saved.
    {"304 confirms", true, answered(304), true, false, fetch_action::confirm, cache_outcome::hit,
     "github-proxy; hit; detail=revalidated", true, true},
    {"304 confirms under no-store", true, answered(304), false, false, fetch_action::confirm, cache_outcome::hit,
     "github-proxy; hit; detail=revalidated", true, true},
    // A storable 200 replaces (or first stores) the entry.
    {"cold 200 stored", false, answered(200, true), true, false, fetch_action::replace, cache_outcome::miss,
     "github-proxy; fwd=miss; stored", true, false},
    {"changed 200 replaces", true, answered(200, true), true, false, fetch_action::replace, cache_outcome::changed,
     "github-proxy; fwd=stale; fwd-status=200; stored", true, false},
    // RFC 9111 §5.2.1.5: a request's no-store forbids storing its answer.
    {"no-store: cold 200 not stored", false, answered(200, true), false, false, fetch_action::share_unstored,
     cache_outcome::miss, "github-proxy; fwd=miss", false, false},
    {"no-store: changed 200 not stored", true, answered(200, true), false, false, fetch_action::share_unstored,
     cache_outcome::changed, "github-proxy; fwd=stale; fwd-status=200", false, false},
    // What cannot be stored is served as it came, to this client only.
    {"cold 404", false, answered(404), true, false, fetch_action::share_unstored, cache_outcome::miss,
     "github-proxy; fwd=miss", false, false},
    {"200 without validator", false, answered(200, false), true, false, fetch_action::share_unstored,
     cache_outcome::miss, "github-proxy; fwd=miss", false, false},
    {"cached then 301", true, answered(301), true, false, fetch_action::share_unstored, cache_outcome::changed,
     "github-proxy; fwd=stale; fwd-status=301", false, false},
    // Gone upstream: the entry is erased.
    {"cached then 404", true, answered(404), true, false, fetch_action::erase_and_share, cache_outcome::changed,
     "github-proxy; fwd=stale; fwd-status=404", false, false},
    {"cached then 410", true, answered(410), true, true, fetch_action::erase_and_share, cache_outcome::changed,
     "github-proxy; fwd=stale; fwd-status=410", false, false},
    // 5xx: the stale entry when configured, GitHub's answer otherwise.
    {"cached then 502, stale on", true, answered(502), true, true, fetch_action::serve_stale, cache_outcome::stale,
     "github-proxy; fwd=stale; fwd-status=502; detail=stale", false, false},
    {"cached then 503, stale off", true, answered(503), true, false, fetch_action::share_unstored,
     cache_outcome::changed, "github-proxy; fwd=stale; fwd-status=503", false, false},
    {"cold 500, stale on", false, answered(500), true, true, fetch_action::share_unstored, cache_outcome::miss,
     "github-proxy; fwd=miss", false, false},
    // No answer at all.
    {"timeout, stale on", true, failed(true), true, true, fetch_action::serve_stale, cache_outcome::stale,
     "github-proxy; fwd=stale; fwd-status=504; detail=stale", false, false},
    {"unreachable, stale on", true, failed(false), true, true, fetch_action::serve_stale, cache_outcome::stale,
     "github-proxy; fwd=stale; fwd-status=502; detail=stale", false, false},
    {"timeout, stale off", true, failed(true), true, false, fetch_action::fail, cache_outcome::miss,
     "github-proxy; fwd=miss", false, false},
    {"cold unreachable", false, failed(false), true, true, fetch_action::fail, cache_outcome::miss,
     "github-proxy; fwd=miss", false, false},
    // No credential to send it with.
    {"exhausted, stale on", true, refused(false), true, true, fetch_action::serve_stale, cache_outcome::stale,
     "github-proxy; fwd=stale; fwd-status=429; detail=stale", false, false},
    {"busy, stale on", true, refused(true), true, true, fetch_action::serve_stale, cache_outcome::stale,
     "github-proxy; fwd=stale; fwd-status=503; detail=stale", false, false},
    {"exhausted, stale off", true, refused(false), true, false, fetch_action::refuse, cache_outcome::miss,
     "github-proxy; fwd=bypass", false, false},
    {"cold busy", false, refused(true), true, false, fetch_action::refuse, cache_outcome::miss,
     "github-proxy; fwd=bypass", false, false},
    // GitHub refused every credential for its rate limit.
    {"rate limited with entry, stale on", true, rate_limited(403), true, true, fetch_action::serve_stale,
     cache_outcome::stale, "github-proxy; fwd=stale; fwd-status=429; detail=stale", false, false},
    {"rate limited with entry, stale off", true, rate_limited(403), true, false, fetch_action::refuse,
     cache_outcome::miss, "github-proxy; fwd=bypass", false, false},
    {"rate limited cold: GitHub's own answer", false, rate_limited(429), true, false, fetch_action::share_unstored,
     cache_outcome::miss, "github-proxy; fwd=miss", false, false},
    // Too large to hold: already relayed, nothing to share.
    {"streamed", false, streamed(), true, true, fetch_action::relayed, cache_outcome::miss, "github-proxy; fwd=miss",
     false, false},
};

TEST(CacheAfterFetch, EveryRow) {
  const entry stored_entry;
  for (const auto& r : rows) {
    const auto v = after_fetch(r.cached ? &stored_entry : nullptr, r.fetched, r.may_store,
                               after_fetch_options{r.serve_stale});
    EXPECT_EQ(v.action, r.action) << r.name << ": " << to_string(v.action);
    EXPECT_EQ(v.outcome, r.outcome) << r.name;
    EXPECT_EQ(cache_status_text(v, true).view(), r.cache_status) << r.name;
    EXPECT_EQ(v.shareable, r.shareable) << r.name;
    EXPECT_EQ(v.credit_saved, r.credit_saved) << r.name;
  }
}

TEST(CacheAfterFetch, StoredIsSaidOnlyWhenTheStoreSucceeded) {
  const entry stored_entry;
  const auto cold = after_fetch(nullptr, answered(200, true), true, {});
  EXPECT_EQ(cache_status_text(cold, false).view(), "github-proxy; fwd=miss");
  const auto changed = after_fetch(&stored_entry, answered(200, true), true, {});
  EXPECT_EQ(cache_status_text(changed, false).view(), "github-proxy; fwd=stale; fwd-status=200");
}

TEST(CacheAfterFetch, WritesOnlyWhatTheRequestAllows) {
  const entry stored_entry;
  EXPECT_TRUE(after_fetch(&stored_entry, answered(304), true, {}).may_store);
  EXPECT_FALSE(after_fetch(&stored_entry, answered(304), false, {}).may_store);
  EXPECT_TRUE(after_fetch(nullptr, answered(200, true), true, {}).may_store);
}

// A follower is asked with its own entry what the leader's unshared result
// means for it: its stale entry serves on failure; without one it fetches.
TEST(CacheAfterFetch, FollowersDecideWithTheirOwnEntry) {
  const entry stored_entry;
  const after_fetch_options stale_on{true};
  EXPECT_EQ(after_fetch(&stored_entry, answered(502), true, stale_on).action, fetch_action::serve_stale);
  EXPECT_EQ(after_fetch(nullptr, answered(502), true, stale_on).action, fetch_action::share_unstored);
  EXPECT_FALSE(after_fetch(&stored_entry, answered(502), true, stale_on).shareable);
}

}  // namespace
}  // namespace github_proxy::cache
