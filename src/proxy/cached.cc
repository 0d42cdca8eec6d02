// request_pipeline::serve_cacheable — a GET or HEAD through the shared ETag
// cache (SPEC §6), read top to bottom:
//   key → look the entry up → lead or follow the flight for the key →
//   the leader revalidates the entry (or fetches it) upstream → store →
//   answer from the confirmed entry (a 304 when the client's own validators
//   match it).
// The decisions are the pure functions of cache/policy.h; this file only
// carries them out against the store and upstream.
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include "github_proxy/cache/key.h"
#include "github_proxy/credentials/classify.h"
#include "proxy/request_pipeline.h"

namespace github_proxy::proxy {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::beast::iequals;
using metrics::cache_outcome;

namespace {

// RFC 9211 Cache-Status values (the tests and the README name them).
constexpr std::string_view status_revalidated = "github-proxy; hit; detail=revalidated";
constexpr std::string_view status_coalesced = "github-proxy; hit; detail=coalesced";
constexpr std::string_view status_stored = "github-proxy; fwd=miss; stored";
constexpr std::string_view status_not_stored = "github-proxy; fwd=miss";
constexpr std::string_view status_changed_stored = "github-proxy; fwd=stale; fwd-status=200; stored";

// Does the client take gzip? (RFC 9110 §12.5.3; q=0 refuses.)
bool accepts_gzip(std::string_view accept_encoding) {
  while (!accept_encoding.empty()) {
    const auto comma = accept_encoding.find(',');
    auto item = accept_encoding.substr(0, comma);
    const auto semi = item.find(';');
    auto coding = item.substr(0, semi);
    while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) coding.remove_prefix(1);
    while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) coding.remove_suffix(1);
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      if (semi == std::string_view::npos) return true;
      auto params = item.substr(semi + 1);
      const auto q = params.find("q=");
      if (q == std::string_view::npos) return true;
      auto value = params.substr(q + 2);
      return !(value.starts_with("0") && value.find_first_not_of("0. \t") == std::string_view::npos);
    }
    if (comma == std::string_view::npos) break;
    accept_encoding.remove_prefix(comma + 1);
  }
  return false;
}

// An answer that was not stored, shaped as an entry so that followers can
// be served from it like from any other.
std::shared_ptr<cache::entry> unstored_answer(unsigned status, const http::fields& head, std::string body) {
  auto e = std::make_shared<cache::entry>();
  e->status = status;
  for (const auto& field : head) e->headers.emplace_back(field.name_string(), field.value());
  e->body = std::move(body);
  return e;
}

bool same_owner(const cache::entry& a, const cache::entry& b) {
  return a.etag == b.etag && a.credential == b.credential &&
         a.authorization_fingerprint == b.authorization_fingerprint && a.last_modified == b.last_modified;
}

}  // namespace

// What one upstream exchange for the cache produced.
struct request_pipeline::cache_fetch {
  std::shared_ptr<const cache::entry> answer;  // to serve; null when streamed or failed
  bool stored = false;                         // `answer` is the stored or confirmed entry
  bool streamed = false;                       // already relayed to this client
  upstream_answer failure;                     // when nothing usable came back
  std::optional<pooled_answer> refusal;        // when no credential could send it
  cache_outcome outcome = cache_outcome::miss;
  std::string cache_status{status_not_stored};
};

asio::awaitable<std::shared_ptr<const cache::entry>> request_pipeline::lookup(const std::string& key) {
  auto got = co_await store_->get(key);
  if (!got.value) co_return nullptr;  // a miss, or the backend failed (counted by its hook)
  auto decoded = cache::decode(*got.value);
  if (!decoded) co_return nullptr;  // another format version: a miss, overwritten on store
  co_return std::make_shared<const cache::entry>(std::move(*decoded));
}

asio::awaitable<void> request_pipeline::store(const std::string& key, const cache::entry& e) {
  if (!store_) co_return;
  // Failures are counted by the backend's hook; the answer was served anyway.
  co_await store_->put(key, cache::encode(e), std::chrono::seconds(0));
}

asio::awaitable<unsigned> request_pipeline::respond_from_entry(const cache::entry& e, const request& req,
                                                           const routed_path& route, response_writer& out,
                                                           const client_endpoint_info& client,
                                                           std::string_view cache_status) {
  response res{static_cast<http::status>(e.status), req.version()};
  for (const auto& [name, value] : e.headers) res.insert(name, value);
  prepare_for_client(res.base(), req, route, client, cache_status);
  res.keep_alive(req.keep_alive());
  const bool conditional_match =
      e.status == 200 && cache::client_conditional_matches(req[http::field::if_none_match],
                                                           req[http::field::if_modified_since], e);
  if (conditional_match) {
    // RFC 9110 §15.4.5: the validators and caching fields, no content.
    res.result(http::status::not_modified);
    res.erase(http::field::content_length);
    res.erase(http::field::content_type);
    res.erase(http::field::content_encoding);
  } else if (req.method() == http::verb::head) {
    res.content_length(e.body.size());
  } else {
    res.content_length(e.body.size());
    res.body() = e.body;
  }
  co_await out.write(res);
  co_return res.result_int();
}

asio::awaitable<request_pipeline::cache_fetch> request_pipeline::fetch_for_cache(
    request& req, const routed_path& route, response_writer& out, const client_endpoint_info& client,
    std::shared_ptr<const cache::entry> cached, const store_target& target, exchange_record& record) {
  cache_fetch fetch;
  const auto resource = credentials::infer_resource("GET", path_of(route.path_and_query));

  auto up = upstream_request(req, route);
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
  // ETags are per credential: the validators depend on who sends it,
  // preferably the credential that fetched the entry (SPEC §6).
  cache::revalidation plan;
  const credential_hook validators = [&](request& r, const credentials::lease& l) {
    if (!cached) return;
    plan = cache::revalidation_plan(*cached, l.name, l.authorization);
    r.erase(http::field::if_none_match);
    r.erase(http::field::if_modified_since);
    if (!plan.if_none_match.empty()) r.set(http::field::if_none_match, plan.if_none_match);
    if (!plan.if_modified_since.empty()) r.set(http::field::if_modified_since, plan.if_modified_since);
  };

  // Named, not temporaries: GCC 12 mishandles temporaries in co_await
  // arguments (PR 100611 and relatives).
  const relay_context relay{out, req, route, client, status_not_stored};
  const std::string_view preferred = cached ? std::string_view(cached->credential) : std::string_view{};
  const bool revalidating = cached != nullptr;
  auto pooled = co_await send_pooled(up, false, resource, preferred, validators, relay, record, revalidating);
  if (pooled.refused) {
    fetch.refusal = std::move(pooled);
    co_return fetch;
  }
  auto& answer = pooled.answer;
  const std::string_view credential_name = pooled.credential;
  const std::string& credential_authorization = pooled.authorization;
  if (answer.streamed) {
    fetch.streamed = true;
    co_return fetch;
  }
  if (!answer.answered || answer.failed) {
    fetch.failure = std::move(answer);
    co_return fetch;
  }
  if (pooled.rate_limited && cached) {
    // Every credential GitHub was asked refused the revalidation for its
    // rate limit: like no credential at all (429, or the stale entry), and
    // the entry stays for when the credits are back.
    pooled.refused = true;
    pooled.outcome = credentials::selection_outcome::exhausted;
    if (!pooled.retry_after) {
      const auto limits = credentials::parse_rate_limit_headers(answer.head);
      if (limits.reset) {
        pooled.retry_after = std::max(std::chrono::seconds(1),
                                      std::chrono::duration_cast<std::chrono::seconds>(
                                          *limits.reset - std::chrono::time_point_cast<std::chrono::seconds>(
                                                              std::chrono::system_clock::now())));
      }
    }
    fetch.refusal = std::move(pooled);
    co_return fetch;
  }

  const auto now = std::chrono::system_clock::now();
  if (answer.status == 304 && cached) {
    // Confirmed: the stored body with the fresh end-to-end fields.
    auto confirmed = std::make_shared<cache::entry>(*cached);
    cache::merge_not_modified(*confirmed, answer.head, credential_name, credential_authorization);
    if (plan.derived) shared_.metrics->derivation_not_modified->Increment();
    // Only a new owner or validator is worth writing back: the fields a 304
    // refreshes are merged again on every use.
    if (!same_owner(*confirmed, *cached)) co_await store(target.key, *confirmed);
    fetch.answer = std::move(confirmed);
    fetch.stored = true;
    fetch.outcome = cache_outcome::hit;
    fetch.cache_status = status_revalidated;
    co_return fetch;
  }
  if (cached && plan.derived) shared_.metrics->derivation_modified->Increment();
  fetch.outcome = cached ? cache_outcome::changed : cache_outcome::miss;

  if (cache::response_storable(answer.status, answer.head, answer.body.size(),
                               shared_.cfg->cache.max_object_bytes)) {
    auto fresh = std::make_shared<cache::entry>(cache::make_entry(answer.status, answer.head,
                                                                  std::move(answer.body), credential_name,
                                                                  credential_authorization,
                                                                  up[http::field::accept], now));
    co_await store(target.key, *fresh);
    fetch.answer = std::move(fresh);
    fetch.stored = true;
    fetch.cache_status = cached ? status_changed_stored : status_stored;
    co_return fetch;
  }
  // Not storable (a 404, a redirect, no validator, no-store): served as it
  // came; an entry it replaces is gone upstream.
  if (cached && store_ && (answer.status == 404 || answer.status == 410)) co_await store_->erase(target.key);
  fetch.answer = unstored_answer(answer.status, answer.head, std::move(answer.body));
  fetch.cache_status = cached ? fmt::format("github-proxy; fwd=stale; fwd-status={}", answer.status)
                              : std::string(status_not_stored);
  co_return fetch;
}

asio::awaitable<void> request_pipeline::serve_cacheable(request& req, const routed_path& route,
                                                        response_writer& out,
                                                        const client_endpoint_info& client,
                                                        exchange_record& record) {
  const auto path = path_of(route.path_and_query);
  const auto query = route.path_and_query.size() > path.size() ? route.path_and_query.substr(path.size() + 1)
                                                                : std::string_view{};
  store_target target;
  target.encoding = accepts_gzip(req[http::field::accept_encoding]) ? cache::body_encoding::gzip
                                                                    : cache::body_encoding::identity;
  target.key = cache::cache_key(cache::method_class::get, path, query, req[http::field::accept],
                                req["X-GitHub-Api-Version"], target.encoding);

  auto cached = co_await lookup(target.key);
  const bool client_conditional = req.find(http::field::if_none_match) != req.end() ||
                                  req.find(http::field::if_modified_since) != req.end();
  const bool head = req.method() == http::verb::head;
  if (!cached && (client_conditional || head)) {
    // Nothing to answer from: the client's own conditional request (or HEAD)
    // goes through as sent. Its 304 is never stored; a full GET 200 is.
    record.cache = cache_outcome::miss;
    co_await forward(req, route, out, client, record, head ? nullptr : &target);
    co_return;
  }

  // Coalescing: one upstream exchange per key at a time.
  auto joined = shared_.flights->join(target.key);
  if (joined.follow) {
    const auto deadline = std::chrono::steady_clock::now() + shared_.cfg->upstream.request_timeout;
    auto shared = co_await flight_table::wait(joined.follow, executor_, deadline);
    if (shared && *shared) {
      const auto& e = **shared;
      record.cache = cache_outcome::coalesced;
      counters_.credits_saved(record.client).Increment();
      record.status = co_await respond_from_entry(e, req, route, out, client, status_coalesced);
      co_return;
    }
    // The leader had nothing to share (or took too long): fetch alone.
  }

  // Over budget, only what the cache can revalidate for free is served (a
  // refusing leader releases its followers, who decide for themselves).
  if (!cached && co_await refuse_over_budget(req, out, record)) co_return;
  auto fetch = co_await fetch_for_cache(req, route, out, client, cached, target, record);
  if (joined.lead) joined.lead->publish(fetch.answer);
  record.cache = fetch.outcome;
  if (fetch.streamed) co_return;
  if (!fetch.answer) {
    const auto& failure = fetch.failure;
    if (cached && shared_.cfg->cache.serve_stale == config::serve_stale_mode::on_upstream_error) {
      const unsigned code = fetch.refusal ? 429 : failure.answered ? failure.status : (failure.timed_out ? 504 : 502);
      const std::string status = fmt::format("github-proxy; fwd=stale; fwd-status={}; detail=stale", code);
      record.cache = cache_outcome::stale;
      record.status = co_await respond_from_entry(*cached, req, route, out, client, status);
      co_return;
    }
    if (fetch.refusal) {
      co_await answer_refusal(*fetch.refusal, req, out, record);
    } else {
      co_await answer_failure(failure, req, out, record);
    }
    co_return;
  }
  const auto& e = *fetch.answer;
  if (fetch.outcome == cache_outcome::hit) counters_.credits_saved(record.client).Increment();
  // GitHub answered 5xx: the stale entry instead, when configured.
  if (e.status >= 500 && cached &&
      shared_.cfg->cache.serve_stale == config::serve_stale_mode::on_upstream_error) {
    const std::string status = fmt::format("github-proxy; fwd=stale; fwd-status={}; detail=stale", e.status);
    record.cache = cache_outcome::stale;
    record.status = co_await respond_from_entry(*cached, req, route, out, client, status);
    co_return;
  }
  record.status = co_await respond_from_entry(e, req, route, out, client, fetch.cache_status);
}

}  // namespace github_proxy::proxy
