// request_pipeline::serve_cacheable — a GET or HEAD through the shared ETag
// cache (docs/contract.md §6), read top to bottom:
//   key → look the entry up → lead or follow the flight for the key →
//   the leader revalidates the entry (or fetches it) upstream →
//   cache::after_fetch decides → carry the action out (store, erase) →
//   publish to followers → answer (a 304 when the client's own validators
//   match the confirmed entry).
// Every decision is a pure function of cache/ (policy.h, after_fetch.h);
// this file only carries them out against the store and upstream.
#include <boost/beast/http.hpp>

#include "common/http_fields.h"
#include "github_proxy/cache/key.h"
#include "github_proxy/credentials/classify.h"
#include "proxy/request_pipeline.h"

namespace github_proxy::proxy {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using cache::fetch_action;
using metrics::cache_outcome;

namespace {

constexpr std::string_view status_not_stored = "github-proxy; fwd=miss";
constexpr std::string_view status_fresh_under_pressure = "github-proxy; hit; detail=fresh-under-pressure";
constexpr std::string_view status_confirm_window = "github-proxy; hit; detail=confirm-window";
// GitHub's max-age bounds an answer under pressure; this only bounds a
// max-age absurdly large (a day: git trees say 86400).
constexpr std::chrono::seconds max_fresh_under_pressure{86400};

// An answer that is not stored, shaped as an entry so that it is answered
// like any other.
std::shared_ptr<cache::entry> unstored_answer(unsigned status, const http::fields& head, std::string body) {
  auto e = std::make_shared<cache::entry>();
  e->status = status;
  for (const auto& field : head) e->headers.emplace_back(field.name_string(), field.value());
  e->body = std::move(body);
  return e;
}

// What a fetch produced, as cache::after_fetch reads it.
cache::fetch_result fetch_result_of(const auto& pooled, std::size_t max_object_bytes) {
  cache::fetch_result r;
  const auto& answer = pooled.answer;
  if (pooled.refused) {
    r.kind = cache::fetch_kind::refused;
    r.busy = pooled.outcome == credentials::selection_outcome::busy;
  } else if (answer.streamed) {
    r.kind = cache::fetch_kind::streamed;
    r.status = answer.status;
  } else if (!answer.answered || answer.failed) {
    r.kind = cache::fetch_kind::failed;
    r.timed_out = answer.timed_out;
  } else if (pooled.rate_limited) {
    r.kind = cache::fetch_kind::rate_limited;
    r.status = answer.status;
  } else {
    r.kind = cache::fetch_kind::answered;
    r.status = answer.status;
    r.storable = cache::response_storable(answer.status, answer.head, answer.body.size(), max_object_bytes);
  }
  return r;
}

}  // namespace

// The last write to the request's path this process relayed (write_marks.h).
std::chrono::system_clock::time_point request_pipeline::last_write(const request_context& ctx) const {
  if (!shared_.writes) return {};
  return shared_.writes->last(path_of(ctx.route.path_and_query));
}

// What one upstream exchange for the cache produced.
struct request_pipeline::cache_fetch {
  pooled_answer pooled;
  cache::fetch_result result;
  cache::revalidation plan;  // the validators sent (when revalidating)
  std::string accept_sent;   // the Accept sent upstream (empty: none)
  // Nothing was sent: no credential had room under GitHub's secondary
  // limits, and the entry is within GitHub's max-age (answer from it).
  bool fresh_under_pressure = false;
  // When the request was handed to the credentials: what GitHub answers
  // describes the resource as of then at the latest, so a confirmation or a
  // stored entry dates from here, not from the answer's arrival; a write
  // marked in between (cache/write_marks.h) then reads as after it.
  std::chrono::system_clock::time_point sent_at;
};

asio::awaitable<std::shared_ptr<const cache::entry>> request_pipeline::lookup(const std::string& key) {
  // An entry this process holds needs neither decoding nor, with Redis, a
  // round trip (cache/front_tier.h).
  cache::front_tier::found front;
  if (shared_.front) {
    front = shared_.front->find(key);
    if (front.held) co_return std::move(front.held);
  }
  auto got = co_await store_->get(key);
  if (!got.value) co_return nullptr;  // a miss, or the backend failed (counted by its hook)
  auto decoded = cache::decode(*got.value);
  if (!decoded) co_return nullptr;  // another format version: a miss, overwritten on store
  auto e = std::make_shared<const cache::entry>(std::move(*decoded));
  if (shared_.front) shared_.front->fill(key, e, front.ticket);
  co_return e;
}

asio::awaitable<bool> request_pipeline::store(const std::string& key, std::shared_ptr<const cache::entry> e) {
  if (!store_) co_return false;
  // Failures are counted by the backend's hook; the answer is served anyway.
  const auto error = co_await store_->put(key, cache::encode(*e), std::chrono::seconds(0));
  if (auto* front = shared_.front) {
    // A write the backend refused leaves nothing older behind either
    // ("stored" means stored, docs/contract.md §6).
    if (error) {
      front->erase(key);
    } else {
      front->put(key, std::move(e));
    }
  }
  co_return !error;
}

asio::awaitable<void> request_pipeline::erase(const std::string& key) {
  // The backend first, then the front tier (cache/front_tier.h "fill").
  if (store_) co_await store_->erase(key);
  if (shared_.front) shared_.front->erase(key);
}

asio::awaitable<request_pipeline::cache_fetch> request_pipeline::fetch_for_cache(
    request_context& ctx, const std::shared_ptr<const cache::entry>& cached, const store_target& target,
    const std::function<void()>* on_streaming, bool refuse_streaming) {
  cache_fetch fetch;

  auto up = upstream_request(ctx);
  // A HEAD with an entry revalidates it like a GET: the 304 is as cheap.
  if (cached) up.method(http::verb::get);
  up.set(http::field::accept_encoding, target.encoding == cache::body_encoding::gzip ? "gzip" : "identity");
  // The validators are the proxy's to choose: the client's are answered from
  // the confirmed entry afterwards.
  up.erase(http::field::if_none_match);
  up.erase(http::field::if_modified_since);
  if (cached) {
    // GitHub hashes the Accept bytes into the ETag: send the entry's.
    if (cached->accept.empty()) {
      up.erase(http::field::accept);
    } else {
      up.set(http::field::accept, cached->accept);
    }
  }
  fetch.accept_sent = std::string(up[http::field::accept]);
  // ETags are per credential: the validators depend on who sends it,
  // preferably the credential that fetched the entry (docs/contract.md §6).
  const credential_hook validators = [&](request& r, const credentials::lease& l) {
    if (!cached) return;
    fetch.plan = cache::revalidation_plan(*cached, l.name, l.authorization);
    r.erase(http::field::if_none_match);
    r.erase(http::field::if_modified_since);
    if (!fetch.plan.if_none_match.empty()) r.set(http::field::if_none_match, fetch.plan.if_none_match);
    if (!fetch.plan.if_modified_since.empty()) r.set(http::field::if_modified_since, fetch.plan.if_modified_since);
  };
  send_options options;
  options.preferred = cached ? std::string_view(cached->credential) : std::string_view{};
  options.prepare = &validators;
  options.free_revalidation = cached != nullptr;
  options.streamed_cache_status = status_not_stored;
  options.on_streaming = on_streaming;
  options.refuse_streaming = refuse_streaming;
  // Under secondary-limit pressure an entry GitHub's max-age still covers
  // is the answer (docs/contract.md §6 "Fresh under pressure"); whether it
  // does is read only then, off the hit path.
  options.answer_when_paced = cached && shared_.cfg->cache.fresh_under_pressure;
  fetch.sent_at = std::chrono::system_clock::now();
  fetch.pooled = co_await send_pooled(ctx, up, ctx.limit_resource, options);
  if (fetch.pooled.refused && fetch.pooled.paced && options.answer_when_paced) {
    if (cache::confirmed_within(*cached, max_fresh_under_pressure, std::chrono::system_clock::now(),
                                last_write(ctx))) {
      fetch.fresh_under_pressure = true;
    } else {
      options.answer_when_paced = false;  // wait for room like any request
      fetch.sent_at = std::chrono::system_clock::now();
      fetch.pooled = co_await send_pooled(ctx, up, ctx.limit_resource, options);
    }
  }
  fetch.result = fetch_result_of(fetch.pooled, shared_.cfg->cache.max_object_bytes);
  co_return fetch;
}

asio::awaitable<void> request_pipeline::serve_cacheable(request_context& ctx, bool may_store) {
  auto& req = ctx.req;
  auto& record = ctx.record;
  const auto path = path_of(ctx.route.path_and_query);
  const auto query = ctx.route.path_and_query.size() > path.size()
                         ? ctx.route.path_and_query.substr(path.size() + 1)
                         : std::string_view{};
  store_target target;
  target.encoding = common::accepts_gzip(req[http::field::accept_encoding]) ? cache::body_encoding::gzip
                                                                            : cache::body_encoding::identity;
  target.key = cache::cache_key(cache::method_class::get, path, query, req[http::field::accept],
                                req["X-GitHub-Api-Version"], target.encoding);
  const cache::after_fetch_options decide{shared_.cfg->cache.serve_stale ==
                                          config::serve_stale_mode::on_upstream_error};

  auto cached = co_await lookup(target.key);
  // The key holds a normalised Accept; GitHub answers (and hashes into its
  // ETag) the exact bytes. An entry fetched with other bytes is not this
  // request's representation: a miss, replaced by what this one fetches.
  if (cached && cached->accept != req[http::field::accept]) cached = nullptr;
  const bool client_conditional = req.find(http::field::if_none_match) != req.end() ||
                                  req.find(http::field::if_modified_since) != req.end();
  const bool head = req.method() == http::verb::head;
  if (!cached && (client_conditional || head)) {
    // Nothing to answer from: the client's own conditional request (or HEAD)
    // goes through as sent. Its 304 is never stored; a full GET 200 is.
    record.cache = cache_outcome::miss;
    co_await pass_through(ctx, head || !may_store ? nullptr : &target);
    co_return;
  }

  // The operator's confirm window: an entry GitHub confirmed this recently
  // (and within its max-age) is answered without asking again.
  if (cached && shared_.cfg->cache.confirm_window.count() > 0 &&
      cache::confirmed_within(*cached, std::chrono::duration_cast<std::chrono::seconds>(shared_.cfg->cache.confirm_window),
                              std::chrono::system_clock::now(), last_write(ctx))) {
    record.cache = cache_outcome::fresh;
    counters_.credits_saved(record.client).Increment();
    co_await respond_from_entry(ctx, *cached, status_confirm_window);
    co_return;
  }

  // Over budget with nothing to revalidate: refused before joining a flight,
  // so that a refusal never leaves followers to fetch on their own.
  if (!cached && co_await refuse_over_budget(ctx)) co_return;

  // Coalescing: one upstream exchange per key at a time.
  auto joined = shared_.flights->join(target.key);
  if (joined.follow) {
    const auto deadline = std::chrono::steady_clock::now() + shared_.cfg->upstream.request_timeout;
    const auto shared = co_await flight_table::wait(joined.follow, executor_, deadline);
    if (shared && shared->entry && shared->entry->accept == req[http::field::accept]) {
      record.cache = cache_outcome::coalesced;
      counters_.credits_saved(record.client).Increment();
      co_await respond_from_entry(ctx, *shared->entry, cache::cache_status_coalesced);
      co_return;
    }
    // Nothing safe to share: what the leader's fetch means for this
    // request's own entry. Its stale entry may serve; otherwise fetch alone.
    if (shared && shared->fetched && cached) {
      const auto verdict = cache::after_fetch(cached.get(), *shared->fetched, may_store, decide);
      if (verdict.action == fetch_action::serve_stale) {
        record.cache = verdict.outcome;
        const cache::cache_status_text status(verdict, false);
        co_await respond_from_entry(ctx, *cached, status.view());
        co_return;
      }
    }
  }

  // Over budget with an entry, the revalidation goes ahead, since GitHub may
  // confirm it for free; whether it did is known only from the answer (a
  // changed body is refused below, and never streamed to this client).
  std::optional<std::chrono::seconds> over_budget;
  if (cached) over_budget = co_await budget_exceeded(ctx);
  // A large answer is relayed for as long as this client reads: followers
  // are released as soon as that is known, to fetch for themselves, rather
  // than wait on this client's speed.
  const std::function<void()> release_followers = [&] {
    if (joined.lead) joined.lead->publish(shared_answer{nullptr, cache::fetch_result{cache::fetch_kind::streamed}});
  };
  auto fetch = co_await fetch_for_cache(ctx, cached, target, &release_followers, over_budget.has_value());
  if (fetch.fresh_under_pressure) {
    // Followers get the same entry (shared as coalesced).
    if (joined.lead) joined.lead->publish(shared_answer{cached, fetch.result});
    record.cache = cache_outcome::fresh;
    counters_.credits_saved(record.client).Increment();
    co_await respond_from_entry(ctx, *cached, status_fresh_under_pressure);
    co_return;
  }
  const auto verdict = cache::after_fetch(cached.get(), fetch.result, may_store, decide);
  auto& pooled = fetch.pooled;
  auto& answer = pooled.answer;
  if (cached && fetch.plan.derived && fetch.result.kind == cache::fetch_kind::answered) {
    (answer.status == 304 ? shared_.metrics->derivation_not_modified : shared_.metrics->derivation_modified)
        ->Increment();
  }

  // Carry the action out against the store; `served` is what this client
  // (and, when shareable, every follower) is answered from.
  std::shared_ptr<const cache::entry> served;
  // A confirmed entry whose owner stays and that nobody follows is answered
  // with the 304 merged in as views: the entry is neither copied nor changed.
  std::optional<cache::header_lines> confirmed_lines;
  bool stored = false;
  switch (verdict.action) {
    case fetch_action::confirm: {
      cached->confirmed.note(fetch.sent_at);
      // The stored body with the fresh end-to-end fields of the 304. Only a
      // new owner or validator is worth writing back: the fields a 304
      // refreshes are merged again on every use.
      const bool new_owner =
          cache::not_modified_changes_owner(*cached, answer.head, pooled.credential, pooled.authorization);
      // (A new owner is written back below with the flight still open:
      // requests arriving meanwhile follow it rather than fetch again.)
      if (!new_owner && !(joined.lead && joined.lead->stop_joining())) {
        cache::merged_not_modified_lines(*cached, answer.head, confirmed_lines.emplace());
        served = cached;
        break;
      }
      auto confirmed = std::make_shared<cache::entry>(*cached);
      cache::merge_not_modified(*confirmed, answer.head, pooled.credential, pooled.authorization);
      if (verdict.may_store && new_owner) stored = co_await store(target.key, confirmed);
      served = std::move(confirmed);
      break;
    }
    case fetch_action::replace: {
      auto fresh = std::make_shared<cache::entry>(cache::make_entry(answer.status, answer.head, std::move(answer.body),
                                                                    pooled.credential, pooled.authorization,
                                                                    fetch.accept_sent, fetch.sent_at));
      // Rewritten for each client on the way out: kept inflated, not
      // inflated on every hit.
      cache::keep_json_inflated(*fresh, shared_.cfg->cache.max_object_bytes);
      stored = co_await store(target.key, fresh);
      served = std::move(fresh);
      break;
    }
    case fetch_action::erase_and_share:
      co_await erase(target.key);
      [[fallthrough]];
    case fetch_action::share_unstored:
      served = unstored_answer(answer.status, answer.head, std::move(answer.body));
      break;
    case fetch_action::refuse:
    case fetch_action::serve_stale:
    case fetch_action::fail:
    case fetch_action::relayed:
      break;
  }
  // (Answered as views, `served` lacks the 304's fields; nobody follows then.)
  const bool shareable = verdict.shareable && !confirmed_lines;
  if (joined.lead) joined.lead->publish(shared_answer{shareable ? served : nullptr, fetch.result});

  record.cache = verdict.outcome;
  if (verdict.credit_saved) counters_.credits_saved(record.client).Increment();
  // The resource changed, and that answer cost a credit this client no
  // longer had: the entry is updated for everyone, but this client gets its
  // 429 (or, under serve_stale, the entry it already had).
  const bool changed_answer = (fetch.result.kind == cache::fetch_kind::answered && answer.status != 304 &&
                               credentials::spends_upstream_credit(answer.status)) ||
                              answer.stream_refused;
  if (over_budget && changed_answer) {
    if (decide.serve_stale_on_error) {
      record.cache = cache_outcome::stale;
      co_await respond_from_entry(ctx, *cached, "github-proxy; fwd=stale; detail=over-budget");
    } else {
      co_await respond_over_budget(ctx, *over_budget);
    }
    co_return;
  }
  const cache::cache_status_text cache_status(verdict, stored);
  switch (verdict.action) {
    case fetch_action::relayed:
      co_return;
    case fetch_action::serve_stale:
      co_await respond_from_entry(ctx, *cached, cache_status.view());
      co_return;
    case fetch_action::fail:
      co_await answer_failure(ctx, answer);
      co_return;
    case fetch_action::refuse:
      if (fetch.result.kind == cache::fetch_kind::rate_limited && pooled.secondary_limited) {
        // GitHub's own secondary limit for every credential asked: the
        // entry GitHub's max-age still covers is the answer, as when the
        // proxy's accounting finds no room; otherwise GitHub's wait, in its
        // shape (not the hourly reset of a primary limit).
        if (cached && shared_.cfg->cache.fresh_under_pressure &&
            cache::confirmed_within(*cached, max_fresh_under_pressure, std::chrono::system_clock::now(),
                                    last_write(ctx))) {
          record.cache = cache_outcome::fresh;
          counters_.credits_saved(record.client).Increment();
          co_await respond_from_entry(ctx, *cached, status_fresh_under_pressure);
          co_return;
        }
        const auto limits = credentials::classify_response(answer.status, answer.head, {}, ctx.limit_resource);
        co_await respond_secondary_limited(ctx, limits.retry_after.value_or(std::chrono::seconds(60)));
        co_return;
      }
      if (fetch.result.kind == cache::fetch_kind::rate_limited) {
        // GitHub refused it for every credential asked: like no credential
        // at all, and the entry stays for when the credits are back.
        pooled.refused = true;
        pooled.outcome = credentials::selection_outcome::exhausted;
        if (!pooled.retry_after) {
          const auto limits = credentials::parse_rate_limit_headers(answer.head);
          if (limits.reset) {
            pooled.retry_after = std::max(
                std::chrono::seconds(1),
                std::chrono::duration_cast<std::chrono::seconds>(
                    *limits.reset - std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now())));
          }
        }
      }
      co_await answer_refusal(ctx, pooled);
      co_return;
    default:
      if (confirmed_lines) {
        co_await respond_from_entry(ctx, *served, *confirmed_lines, cache_status.view());
      } else {
        co_await respond_from_entry(ctx, *served, cache_status.view());
      }
  }
}

}  // namespace github_proxy::proxy
