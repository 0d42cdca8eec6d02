// Rate limits as the client sees them (docs/contract.md §5 "Rate limits as
// the client sees them"), read top to bottom: settle the client's view of
// the request's resource once per request (the pool's, capped by its budget:
// credentials/rate_view.h) → put it in the five X-RateLimit-* fields of
// whatever answer it gets → GET /rate_limit answered from the same numbers,
// without asking GitHub. With `pool.rate_limit_headers: github` none of this
// happens: GitHub's per-credential fields pass, /rate_limit is forwarded.
#include <charconv>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "proxy/request_pipeline.h"

namespace github_proxy::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view rate_limit_prefix = "x-ratelimit-";
// docs/github-api.md §3.2: the version GitHub selects without the header,
// and the one that dropped the top-level `rate` (a mirror of resources.core).
constexpr std::string_view default_api_version = "2022-11-28";
constexpr std::string_view rate_dropped_in = "2026-03-10";

// The order of GitHub's own body (docs/github-api.md §3.2), then the buckets
// it added later.
constexpr std::array<credentials::resource, credentials::resource_count> body_order{
    credentials::resource::core,
    credentials::resource::search,
    credentials::resource::graphql,
    credentials::resource::integration_manifest,
    credentials::resource::source_import,
    credentials::resource::code_scanning_upload,
    credentials::resource::actions_runner_registration,
    credentials::resource::scim,
    credentials::resource::dependency_snapshots,
    credentials::resource::code_search,
    credentials::resource::dependency_sbom,
    credentials::resource::audit_log,
};

struct number_text {
  char digits[24];
  std::size_t size = 0;
  explicit number_text(std::int64_t value) {
    size = static_cast<std::size_t>(std::to_chars(digits, digits + sizeof digits, value).ptr - digits);
  }
  std::string_view view() const { return {digits, size}; }
};

json::object bucket_json(const credentials::rate_view& v) {
  json::object o;
  o["limit"] = v.limit;
  o["used"] = v.used;
  o["remaining"] = v.remaining;
  o["reset"] = credentials::to_epoch_seconds(v.reset);
  return o;
}

}  // namespace

bool is_rate_limit_field(std::string_view name) {
  return name.size() > rate_limit_prefix.size() &&
         beast::iequals(name.substr(0, rate_limit_prefix.size()), rate_limit_prefix);
}

void set_rate_limit_fields(http::fields& fields, const credentials::rate_view& v) {
  for (auto it = fields.begin(); it != fields.end();) {
    it = is_rate_limit_field(it->name_string()) ? fields.erase(it) : std::next(it);
  }
  fields.insert("X-RateLimit-Limit", number_text(v.limit).view());
  fields.insert("X-RateLimit-Remaining", number_text(v.remaining).view());
  fields.insert("X-RateLimit-Reset", number_text(credentials::to_epoch_seconds(v.reset)).view());
  fields.insert("X-RateLimit-Used", number_text(v.used).view());
  fields.insert("X-RateLimit-Resource", credentials::to_string(v.r));
}

bool request_pipeline::client_view_on() const {
  return shared_.cfg->pool.rate_limit_headers == config::rate_limit_headers_mode::client;
}

asio::awaitable<std::optional<credentials::rate_view>> request_pipeline::client_rate_view(
    request_context& ctx, credentials::resource r) {
  if (!ctx.known_client || !client_view_on()) co_return std::nullopt;
  auto pool = shared_.credentials->view(r);
  if (!pool) co_return std::nullopt;
  if (!ctx.record.budget || !budgets_) co_return pool;
  if (!ctx.budget_seen) ctx.budget_seen = co_await budgets_->check(ctx.record.client, *ctx.record.budget);
  const auto now = credentials::system_clock_source().now();
  co_return credentials::client_view(*pool, credentials::budget_view(r, *ctx.budget_seen, *ctx.record.budget, now));
}

asio::awaitable<void> request_pipeline::settle_rate_view(request_context& ctx) {
  if (ctx.rate_view) co_return;
  ctx.rate_view = co_await client_rate_view(ctx, ctx.limit_resource);
}

std::optional<std::chrono::seconds> request_pipeline::view_of_refusal(request_context& ctx) {
  auto& view = ctx.rate_view;
  if (!view || view->remaining <= 0) return std::nullopt;
  // GitHub refused the credentials asked (at most two: docs/contract.md §7
  // "Rotation"), and others still have credits: nothing for this request
  // now, and a retry in a second finds them. Telling the pool's remaining
  // would contradict the refusal (clients read 403/429 with remaining 0 as
  // the primary limit); telling the refused credential's reset would make
  // the client wait for nothing.
  constexpr std::chrono::seconds again{1};
  view->remaining = 0;
  view->used = view->limit;
  view->reset = credentials::system_clock_source().now() + again;
  return again;
}

void request_pipeline::name_rate_limit_resource(request_context& ctx, const http::fields& answer) {
  if (ctx.rate_view) return;
  const auto named = answer.find("X-RateLimit-Resource");
  if (named == answer.end()) return;
  credentials::resource r;
  if (credentials::parse_resource(named->value(), r)) ctx.limit_resource = r;
}

bool request_pipeline::answers_rate_limit(const request_context& ctx, std::string_view normalised_path) const {
  if (!client_view_on() || !ctx.known_client || ctx.route.graphql) return false;
  if (normalised_path != "/rate_limit") return false;
  const auto method = ctx.req.method();
  if (method != http::verb::get && method != http::verb::head) return false;
  // A version GitHub would refuse (400, or 410 once retired) is GitHub's to
  // answer: the request goes there like any other.
  const auto version = ctx.req["X-GitHub-Api-Version"];
  return version.empty() || version == default_api_version || version == rate_dropped_in;
}

asio::awaitable<void> request_pipeline::answer_rate_limit(request_context& ctx) {
  // Nothing is sent upstream, nothing is charged to the budget, and GitHub's
  // secondary limits never see it (docs/github-api.md §3.2, §3.4).
  ctx.record.cache = metrics::cache_outcome::bypass;
  json::object resources;
  json::object body;
  for (const auto r : body_order) {
    // Named, not a temporary: GCC 12 and temporaries across co_await.
    auto view = co_await client_rate_view(ctx, r);
    if (!view) continue;
    resources[credentials::to_string(r)] = bucket_json(*view);
    if (r == credentials::resource::core) ctx.rate_view = view;
  }
  std::string_view version = ctx.req["X-GitHub-Api-Version"];
  if (version.empty()) version = default_api_version;
  body["resources"] = std::move(resources);
  if (version < rate_dropped_in && ctx.rate_view) body["rate"] = bucket_json(*ctx.rate_view);

  response res{http::status::ok, ctx.req.version()};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.set(http::field::cache_control, "no-cache");
  res.set(http::field::vary, "Accept-Encoding, Accept, X-Requested-With");
  res.set("X-GitHub-Media-Type", "github.v3; format=json");
  res.set("X-GitHub-Api-Version-Selected", version);
  if (ctx.rate_view) set_rate_limit_fields(res.base(), *ctx.rate_view);
  res.set("Cache-Status", "github-proxy; detail=rate-limit-view");
  res.body() = json::serialize(body);
  res.keep_alive(ctx.req.keep_alive());
  res.prepare_payload();
  if (ctx.req.method() == http::verb::head) res.body().clear();  // the length stays that of the GET
  ctx.record.status = 200;
  co_await ctx.out.write(res);
}

}  // namespace github_proxy::proxy
