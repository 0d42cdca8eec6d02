#include "app.h"

#include <chrono>
#include <cstdio>

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>

#include "body_codec.h"
#include "conditional.h"
#include "control_api.h"
#include "routes.h"
#include "time_format.h"

namespace fake_github {
namespace {

constexpr std::string_view no_user_agent_body =
    "Request forbidden by administrative rules. Please make sure your request has a User-Agent "
    "header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). "
    "Check https://developer.github.com for other possible causes.\n";
constexpr std::string_view secondary_limit_message =
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";
// docs/github-api.md §3.4, the content-creation wording.
constexpr std::string_view content_limit_message =
    "You have exceeded a secondary rate limit and have been temporarily blocked from content creation. "
    "Please retry your request again later.";
constexpr std::string_view secondary_limit_doc =
    "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";
constexpr std::size_t gzip_threshold = 1024;

struct layout_view {
  bool in_layout = true;  // REST or GraphQL of the configured layout
  bool graphql = false;
  std::string api_path;   // encoded, /api/v3 removed
  std::vector<std::string> segments;
};

layout_view split_layout(const boost::urls::url_view& url, bool ghes) {
  layout_view v;
  std::string_view path = url.encoded_path();
  if (path == (ghes ? "/api/graphql" : "/graphql")) {
    v.graphql = true;
    v.api_path = "/graphql";
    return v;
  }
  for (auto s : url.segments()) v.segments.push_back(s);
  v.api_path = path;
  if (!ghes) return v;
  if (v.segments.size() >= 2 && v.segments[0] == "api" && v.segments[1] == "v3") {
    v.segments.erase(v.segments.begin(), v.segments.begin() + 2);
    v.api_path = path.size() > 7 ? std::string(path.substr(7)) : "/";
  } else {
    v.in_layout = false;
  }
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 §12.5.3: gzip (or *) listed without q=0.
bool accepts_gzip(std::string_view header) {
  while (!header.empty()) {
    std::size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    std::size_t semi = item.find(';');
    std::string_view coding = trim(item.substr(0, semi));
    if (!boost::beast::iequals(coding, "gzip") && !boost::beast::iequals(coding, "x-gzip") && coding != "*")
      continue;
    if (semi == std::string_view::npos) return true;
    std::string_view param = trim(item.substr(semi + 1));
    bool zero = param.starts_with("q=0") && param.find_first_not_of("0.", 2) == std::string_view::npos;
    return !zero;
  }
  return false;
}

// GitHub pretty-prints for these user agents (docs/github-api.md §2.1).
bool wants_pretty(std::string_view user_agent) {
  for (std::string_view marker : {"curl", "Wget", "Safari", "Firefox"})
    if (user_agent.find(marker) != std::string_view::npos) return true;
  return false;
}

std::int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct app::exchange {
  const request_t& req;
  const connection_info& conn;
  std::int64_t now;
  std::string request_id;
  account who;
  std::string bucket;        // rate-limit account: the token, or "installation:<id>" for issued tokens
  std::string installation;  // set when the token is an installation token this fake issued
  bool token_expired = false;
  std::string base;
  bool url_ok = false;
  boost::urls::url_view url;
  layout_view layout;
  resource res = resource::core;
  bool head = false;
  std::string_view method;  // HEAD answered as GET
  std::int64_t credits = 0;
  bool secondary_limited = false;  // answered with a secondary-limit refusal (counters)
};

struct app::route_verdict {
  route_result r;
  std::optional<rate_snapshot> rate;
  bool not_modified = false;
  std::string etag_hex;
};

app::app(app_config config, clock_fn clock)
    : config_(std::move(config)),
      clock_(clock ? std::move(clock) : clock_fn(system_now)),
      state_(config_.limits, config_.secondary, config_.request_log_capacity, config_.installation_token_ttl) {
  for (auto& registration : config_.apps) {
    registration.from_command_line = true;
    state_.apps.add(registration);
  }
}

fault_decision app::plan(const request_t& req) {
  std::string_view target = req.target();
  if (is_control_target(target)) return {};
  std::string api_path(target.substr(0, target.find('?')));
  if (config_.ghes && api_path.starts_with("/api/v3")) api_path.erase(0, 7);
  return state_.faults.take(req.method_string(), target, api_path);
}

outgoing_response app::handle(const request_t& req, const connection_info& conn,
                              const fault_decision& fault) {
  const std::int64_t now = clock_() + state_.clock_offset.load(std::memory_order_relaxed);
  if (is_control_target(req.target())) return handle_control(req, state_, now);

  exchange x{req, conn, now};
  x.request_id = make_request_id(now);
  x.who = identify(req[http::field::authorization]);
  x.bucket = x.who.key;
  if (x.who.authenticated) {
    // All tokens of one installation share its rate limit (docs/github-api.md §3.1).
    if (auto issued = state_.apps.find_token(x.who.key)) {
      x.installation = issued->installation;
      x.bucket = "installation:" + issued->installation;
      x.token_expired = now >= issued->expires_at;
    }
  }
  // A fixed origin, as api.github.com writes its own whatever Host says: a
  // test can tell the proxy's rewriting from an echoed Host.
  // Default: the listening URL; with TLS under the name test certificates
  // carry (localhost).
  if (!config_.origin.empty()) {
    x.base = config_.origin;
  } else if (conn.tls) {
    x.base = "https://localhost" + conn.local_authority.substr(std::min(conn.local_authority.rfind(':'),
                                                                        conn.local_authority.size()));
  } else {
    x.base = "http://" + conn.local_authority;
  }
  if (config_.ghes) x.base += "/api/v3";
  x.head = req.method() == http::verb::head;
  x.method = x.head ? std::string_view("GET") : std::string_view(req.method_string());
  if (auto parsed = boost::urls::parse_origin_form(req.target())) {
    x.url_ok = true;
    x.url = *parsed;
    x.layout = split_layout(x.url, config_.ghes);
    x.res = classify_request(x.method, x.layout.api_path, x.layout.graphql);
  }

  outgoing_response out = serve_api(x, fault);
  unsigned status = out.action == response_action::respond ? out.status : 0;
  record(x, status, x.credits);
  if (config_.log_requests) {
    std::string line = std::string(req.method_string()) + " " + std::string(req.target()) + " -> " +
                       (status ? std::to_string(status) : std::string("no answer")) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  return out;
}

outgoing_response app::serve_api(exchange& x, const fault_decision& fault) {
  route_verdict v;
  if (!x.url_ok) {
    v.r = error_result(400, "Bad Request");
    return finish(x, v);
  }
  switch (fault.kind) {
    case fault_kind::reset: {
      outgoing_response out;
      out.action = response_action::reset;
      return out;
    }
    case fault_kind::hang: {
      outgoing_response out;
      out.action = response_action::hang;
      return out;
    }
    case fault_kind::secondary_limit:
      x.secondary_limited = true;
      v.r = error_result(fault.status == 429 ? 429 : 403, secondary_limit_message, secondary_limit_doc);
      if (fault.retry_after > 0) v.r.extra_headers.emplace_back("Retry-After", std::to_string(fault.retry_after));
      v.rate = state_.limits.peek(x.bucket, x.res, x.now);
      return finish(x, v);
    case fault_kind::status:
      v.r = error_result(fault.status,
                         fault.message.empty()
                             ? std::string_view(http::obsolete_reason(static_cast<http::status>(fault.status)))
                             : std::string_view(fault.message));
      v.rate = state_.limits.peek(x.bucket, x.res, x.now);
      return finish(x, v);
    case fault_kind::none: break;
  }
  if (x.req[http::field::user_agent].empty()) {
    // Answered by GitHub's front end, before the API: no API headers.
    v.r.status = 403;
    v.r.body = no_user_agent_body;
    v.r.content_type = "text/html; charset=utf-8";
    v.r.media_type = {};
    v.r.validator = validator_kind::none;
    v.r.cache = cache_policy::none;
    v.r.vary = vary_policy::encoding_only;
    v.r.pretty_printable = false;
    return finish(x, v);
  }
  if (x.who.malformed || x.token_expired || (x.who.authenticated && state_.revoked.is_revoked(x.who.key))) {
    v.r = error_result(401, "Bad credentials", x.layout.graphql ? "https://docs.github.com/graphql"
                                                                 : "https://docs.github.com/rest");
    v.rate = state_.limits.peek(anonymous_account, resource::core, x.now);
    return finish(x, v);
  }
  // Where GitHub applies them: after authentication, before routing and the primary limit.
  if (auto refused = refuse_secondary(x)) return std::move(*refused);
  if (!x.layout.in_layout) {
    v.r = error_result(404, "Not Found");
    v.rate = state_.limits.peek(x.bucket, x.res, x.now);
    return finish(x, v);
  }
  if (!x.layout.graphql && x.layout.api_path == "/rate_limit" && x.method == "GET") return serve_rate_limit(x);
  return serve_route(x);
}

// Secondary limits (docs/github-api.md §3.4), per token (an installation token on its
// own, not its installation's primary bucket). Not counted: anonymous requests,
// GET /rate_limit (free, like for the primary limit), and the App's own JWT
// endpoints (`/app/…`, `…/installation`: the App, not a user or installation,
// is calling). A 304 costs its point: only the primary limit forgives it.
std::optional<outgoing_response> app::refuse_secondary(exchange& x) {
  if (!x.who.authenticated) return std::nullopt;
  if (!x.layout.graphql) {
    if (x.layout.in_layout && x.layout.api_path == "/rate_limit" && x.method == "GET") return std::nullopt;
    if (is_app_jwt_path(x.layout.segments)) return std::nullopt;
  }
  const secondary_cost cost =
      x.layout.graphql
          ? graphql_secondary_cost(x.method == "POST" && graphql_request_is_mutation(x.req.body()))
          : rest_secondary_cost(x.req.method_string());
  const secondary_admission a = state_.secondary.admit(x.who.key, cost, x.now);
  if (a.allowed()) return std::nullopt;
  // GraphQL too answers 403 with Retry-After (docs/github-api.md §3.4); the
  // rate-limit headers are the bucket's, unchanged, as with the fault.
  x.secondary_limited = true;
  route_verdict v;
  v.r = error_result(403,
                     a.refusal == secondary_refusal::content ? content_limit_message : secondary_limit_message,
                     secondary_limit_doc);
  v.r.extra_headers.emplace_back("Retry-After", std::to_string(a.retry_after));
  v.rate = state_.limits.peek(x.bucket, x.res, x.now);
  return finish(x, v);
}

outgoing_response app::serve_rate_limit(exchange& x) {
  // Not counted against the primary limit (docs/github-api.md §3.2).
  route_verdict v;
  v.r.body = boost::json::serialize(state_.limits.status_json(x.bucket, x.now));
  v.r.validator = validator_kind::none;
  v.r.cache = cache_policy::no_cache;
  v.r.vary = vary_policy::encoding_only;
  v.r.accepted_scopes = "";
  v.rate = state_.limits.peek(x.bucket, resource::core, x.now);
  return finish(x, v);
}

outgoing_response app::serve_route(exchange& x) {
  const request_t& req = x.req;
  route_request rr{x.method, x.url, x.layout.segments, x.layout.graphql, x.base,
                   req[http::field::accept], req.body(), x.who, x.now,
                   req[http::field::authorization], state_.graphql.query.load(),
                   state_.graphql.mutation.load(), req["X-GitHub-Api-Version"]};
  route_verdict v;
  if (is_installation_token_request(rr)) {
    v.r = route_installation_token(rr, state_.apps);
  } else if (auto jwt_only = route_app_jwt_only(rr, state_.apps)) {
    v.r = std::move(*jwt_only);
  } else {
    v.r = route(rr, state_.data);
  }

  const bool success = v.r.status >= 200 && v.r.status < 300;
  if (success && v.r.validator == validator_kind::body_sha256) {
    // Computed on the compact body, before any pretty-printing (docs/github-api.md §8).
    etag_inputs in{req[http::field::accept], req[http::field::authorization], req[http::field::cookie],
                   x.who.authenticated};
    v.etag_hex = compute_etag(in, v.r.body);
  } else if (success && v.r.validator == validator_kind::blob_sha) {
    v.etag_hex = v.r.blob_sha;
  }
  if (x.method == "GET" && v.r.status == 200 && (!v.etag_hex.empty() || v.r.last_modified)) {
    v.not_modified = evaluate_conditional(req[http::field::if_none_match],
                                          req[http::field::if_modified_since], v.etag_hex,
                                          v.r.last_modified) == conditional_verdict::not_modified;
  }

  if (v.r.status == 401 || v.r.free) {  // authentication precedes rate limiting
    v.rate = state_.limits.peek(v.r.status == 401 ? anonymous_account : std::string_view(x.bucket),
                                v.r.status == 401 ? resource::core : x.res, x.now);
    return finish(x, v);
  }
  // A 304 is free only with a valid Authorization (docs/github-api.md §1.2); other
  // successes and redirects spend.
  const bool spend = v.not_modified ? !x.who.authenticated : (v.r.status >= 200 && v.r.status < 400);
  admission a = state_.limits.admit(x.bucket, x.res, v.r.cost, spend, x.now);
  if (!a.allowed) return rate_limited(x, a.snapshot, x.layout.graphql);
  if (spend) x.credits = v.r.cost;
  // DELETE /installation/token revokes the token it is sent with (GitHub's
  // "Revoke an installation access token").
  if (x.method == "DELETE" && v.r.status == 204 && x.who.authenticated && !x.layout.graphql &&
      x.layout.api_path == "/installation/token")
    state_.revoked.revoke(x.who.key);
  v.rate = a.snapshot;
  return finish(x, v);
}

outgoing_response app::rate_limited(exchange& x, const rate_snapshot& snapshot, bool graphql) {
  route_verdict v;
  v.rate = snapshot;
  v.rate->remaining = 0;
  // docs/github-api.md §3.3: "API rate limit exceeded for installation ID 12770951."
  const std::string subject = x.installation.empty() ? "user ID " + std::to_string(x.who.user_id)
                                                     : "installation ID " + x.installation;
  if (graphql) {
    // GraphQL reports exhaustion in a 200 body (docs/github-api.md §4).
    v.r.body = boost::json::serialize(boost::json::object{
        {"errors", boost::json::array{boost::json::object{
                       {"type", "RATE_LIMITED"}, {"message", "API rate limit exceeded for " + subject + "."}}}}});
    v.r.media_type = "github.v4; format=json";
    v.r.validator = validator_kind::none;
    v.r.cache = cache_policy::none;
    v.r.vary = vary_policy::encoding_only;
    return finish(x, v);
  }
  std::string message =
      !x.installation.empty() ? "API rate limit exceeded for " + subject + "."
      : x.who.authenticated
          ? "API rate limit exceeded for " + subject +
                ". If you reach out to GitHub Support for help, please include the request ID " +
                x.request_id + " and timestamp " + utc_timestamp(x.now) + "."
          : "API rate limit exceeded for " + x.conn.client_address +
                ". (But here's the good news: Authenticated requests get a higher rate limit. Check out "
                "the documentation for more details.)";
  v.r = error_result(403, message,
                     x.who.authenticated
                         ? "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                         : "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting");
  return finish(x, v);
}

outgoing_response app::finish(exchange& x, route_verdict& v) {
  outgoing_response out;
  out.version = x.req.version() == 10 ? 10 : 11;
  out.keep_alive = x.req.keep_alive();
  const unsigned status = v.not_modified ? 304 : v.r.status;
  out.status = status;

  header_plan p;
  p.now = x.now;
  p.request_id = x.request_id;
  p.authenticated = x.who.authenticated;
  p.ghes = config_.ghes;
  p.api_version = x.req["X-GitHub-Api-Version"] == newer_api_version ? newer_api_version : default_api_version;
  p.cache = v.r.cache;
  p.vary = v.r.vary;
  p.accepted_scopes = v.r.accepted_scopes;
  p.media_type = v.r.media_type;
  p.last_modified = v.r.last_modified;
  p.link = std::move(v.r.link);
  p.location = std::move(v.r.location);
  p.extra = std::move(v.r.extra_headers);
  // For bench/run.sh's nginx: echoed as X-Accel-Expires (nginx's own cache
  // validity header; "@1" stores every answer already expired, so nginx
  // revalidates each request). Not a GitHub header; only sent when asked.
  if (const auto accel = x.req["X-Fake-Accel-Expires"]; !accel.empty())
    p.extra.emplace_back("X-Accel-Expires", std::string(accel));
  p.rate = v.rate;
  if (v.not_modified) {
    p.not_modified = true;
    p.etag = etag_header(v.etag_hex, false);  // GitHub echoes the strong form (docs/github-api.md §1.3)
  } else {
    std::string body = std::move(v.r.body);
    if (v.r.pretty_printable && !body.empty() && wants_pretty(x.req[http::field::user_agent]))
      if (auto pretty = pretty_print_json(body)) body = std::move(*pretty);
    const bool gzip = body.size() > gzip_threshold && accepts_gzip(x.req[http::field::accept_encoding]);
    if (!v.etag_hex.empty()) p.etag = etag_header(v.etag_hex, gzip);
    p.content_type = v.r.content_type;
    if (gzip) {
      p.gzip = p.chunked = true;
      body = x.head ? std::string() : gzip_compress(body);
    } else if (status != 204) {
      p.content_length = body.size();
    }
    if (x.head) body.clear();
    out.body = std::move(body);
    out.chunked = gzip;
  }
  out.headers.reserve(1400);
  write_headers(out.headers, p);
  return out;
}

void app::record(const exchange& x, unsigned status, std::int64_t credits) {
  static const std::string empty_sha256 = sha256_hex("");
  request_record rec;
  rec.method = x.req.method_string();
  rec.target = x.req.target();
  rec.headers.reserve(8);
  for (const auto& field : x.req) rec.headers.emplace_back(field.name_string(), field.value());
  rec.body_length = x.req.body().size();
  rec.body_sha256 = x.req.body().empty() ? empty_sha256 : sha256_hex(x.req.body());
  rec.status = status;
  state_.observed.record(std::move(rec), x.who.key, x.res, credits, x.secondary_limited);
}

}  // namespace fake_github
