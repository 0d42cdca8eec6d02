#include "github_proxy/cache/after_fetch.h"

#include <charconv>

namespace github_proxy::cache {

using metrics::cache_outcome;

std::string_view to_string(fetch_action action) {
  switch (action) {
    case fetch_action::confirm: return "confirm";
    case fetch_action::replace: return "replace";
    case fetch_action::share_unstored: return "share_unstored";
    case fetch_action::erase_and_share: return "erase_and_share";
    case fetch_action::refuse: return "refuse";
    case fetch_action::serve_stale: return "serve_stale";
    case fetch_action::fail: return "fail";
    case fetch_action::relayed: return "relayed";
  }
  return "unknown";
}

namespace {

fetch_verdict make(fetch_action action, cache_outcome outcome, unsigned fwd_status = 0) {
  fetch_verdict v;
  v.action = action;
  v.outcome = outcome;
  v.fwd_status = fwd_status;
  return v;
}

// The status a refusal or failure stands for, as the client would see it.
unsigned standing_status(const fetch_result& fetched) {
  switch (fetched.kind) {
    case fetch_kind::refused: return fetched.busy ? 503 : 429;
    case fetch_kind::rate_limited: return 429;
    case fetch_kind::failed: return fetched.timed_out ? 504 : 502;
    default: return fetched.status;
  }
}

}  // namespace

fetch_verdict after_fetch(const entry* cached, const fetch_result& fetched, bool may_store,
                          const after_fetch_options& options) {
  const auto fresh_outcome = cached ? cache_outcome::changed : cache_outcome::miss;
  // docs/contract.md §6 "Stale on outage": an entry is better than an error
  // when GitHub cannot answer (5xx, no answer, no credential to ask with).
  const bool stale_allowed = cached && options.serve_stale_on_error;
  switch (fetched.kind) {
    case fetch_kind::streamed:
      return make(fetch_action::relayed, fresh_outcome);
    case fetch_kind::refused:
      if (stale_allowed) return make(fetch_action::serve_stale, cache_outcome::stale, standing_status(fetched));
      return make(fetch_action::refuse, cache_outcome::miss, standing_status(fetched));
    case fetch_kind::rate_limited:
      // Every credential GitHub was asked refused it for its rate limit.
      // With an entry: like no credential at all (429, or the entry), and
      // the entry stays for when the credits are back. Without one, the
      // client gets GitHub's own refusal, as it would without the proxy.
      if (stale_allowed) return make(fetch_action::serve_stale, cache_outcome::stale, 429);
      if (cached) return make(fetch_action::refuse, cache_outcome::miss, 429);
      return make(fetch_action::share_unstored, cache_outcome::miss);
    case fetch_kind::failed:
      if (stale_allowed) return make(fetch_action::serve_stale, cache_outcome::stale, standing_status(fetched));
      return make(fetch_action::fail, cache_outcome::miss, standing_status(fetched));
    case fetch_kind::answered:
      break;
  }

  const unsigned status = fetched.status;
  if (status == 304 && cached) {
    auto v = make(fetch_action::confirm, cache_outcome::hit);
    v.may_store = may_store;
    v.shareable = true;
    v.credit_saved = true;
    return v;
  }
  if (status >= 500 && stale_allowed) return make(fetch_action::serve_stale, cache_outcome::stale, status);
  if (fetched.storable && may_store) {
    auto v = make(fetch_action::replace, fresh_outcome, cached ? status : 0);
    v.may_store = true;
    v.shareable = true;
    return v;
  }
  // Gone upstream: the entry would only be revalidated into 404s.
  if (cached && (status == 404 || status == 410)) {
    return make(fetch_action::erase_and_share, cache_outcome::changed, status);
  }
  return make(fetch_action::share_unstored, fresh_outcome, cached ? status : 0);
}

cache_status_text::cache_status_text(const fetch_verdict& verdict, bool stored) {
  append("github-proxy; ");
  switch (verdict.action) {
    case fetch_action::confirm:
      append("hit; detail=revalidated");
      return;
    case fetch_action::refuse:
      append("fwd=bypass");
      return;
    default:
      break;
  }
  if (verdict.action == fetch_action::serve_stale || verdict.outcome == cache_outcome::changed) {
    append("fwd=stale");
  } else {
    append("fwd=miss");
  }
  if (verdict.fwd_status != 0 && verdict.action != fetch_action::fail) {
    char digits[8];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, verdict.fwd_status);
    append("; fwd-status=");
    if (ec == std::errc()) append(std::string_view(digits, end - digits));
  }
  if (verdict.action == fetch_action::replace && stored) append("; stored");
  if (verdict.action == fetch_action::serve_stale) append("; detail=stale");
}

void cache_status_text::append(std::string_view s) {
  const auto n = std::min(s.size(), data_.size() - size_);
  std::copy_n(s.data(), n, data_.data() + size_);
  size_ += n;
}

}  // namespace github_proxy::cache
