#include "github_proxy/credentials/classify.h"

#include <array>
#include <optional>
#include <string>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "cache/gzip.h"
#include "common/http_fields.h"
#include "credentials/time_text.h"

namespace github_proxy::credentials {

namespace {

namespace http = boost::beast::http;

std::string_view header(const http::fields& headers, std::string_view name) {
  const auto it = headers.find(name);
  if (it == headers.end()) return {};
  return std::string_view(it->value().data(), it->value().size());
}

std::optional<std::int64_t> header_integer(const http::fields& headers, std::string_view name) {
  const auto value = header(headers, name);
  if (value.empty()) return std::nullopt;
  return detail::parse_integer(value);
}

// The texts GitHub uses for secondary limits (docs/github-api.md §3.4): the current and
// the legacy "abuse" wording, the documentation anchors go-github matches,
// and the temporary block after failed logins.
constexpr std::array<std::string_view, 5> secondary_texts = {
    "secondary rate limit", "abuse detection", "secondary-rate-limits", "abuse-rate-limits",
    "login attempts exceeded"};

bool names_secondary_limit(std::string_view text) {
  for (const auto needle : secondary_texts) {
    if (boost::algorithm::icontains(text, needle)) return true;
  }
  return false;
}

// GitHub's 401 for a token it does not accept (docs/github-api.md §5).
constexpr std::string_view bad_credentials_text = "bad credentials";

// The text of `body` to search, at most `limit` bytes: as it is, or
// inflated when gzip (GitHub compresses its answers when the client sends
// Accept-Encoding: gzip, and the proxy relays that field). nullopt when it
// cannot be read: another coding, or not valid gzip.
std::optional<std::string_view> readable_text(const http::fields& headers, std::string_view body,
                                              std::size_t limit, std::string& inflated) {
  const auto encoding = common::trim(header(headers, "Content-Encoding"));
  if (encoding.empty() || boost::algorithm::iequals(encoding, "identity")) return body.substr(0, limit);
  if (!boost::algorithm::iequals(encoding, "gzip") && !boost::algorithm::iequals(encoding, "x-gzip")) {
    return std::nullopt;
  }
  auto text = cache::gunzip_prefix(body, limit);
  if (!text) return std::nullopt;
  inflated = std::move(*text);
  return std::string_view(inflated);
}

std::optional<std::chrono::seconds> parse_retry_after(const http::fields& headers) {
  const auto value = header(headers, "Retry-After");
  if (value.empty()) return std::nullopt;
  if (const auto seconds = detail::parse_integer(value)) {
    if (*seconds < 0) return std::nullopt;
    return std::chrono::seconds(*seconds);
  }
  // RFC 9110 §10.2.3 also allows an HTTP-date; measure it against the
  // response's own Date so that both instants are GitHub's.
  const auto at = detail::parse_http_date(value);
  const auto date = detail::parse_http_date(header(headers, "Date"));
  if (!at || !date) return std::nullopt;
  return *at > *date ? *at - *date : std::chrono::seconds(0);
}

enum class graphql_limit { none, primary, secondary };

// GraphQL reports its primary limit in a 200 body (docs/github-api.md §4):
// {"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded …"}]}
graphql_limit graphql_rate_limit(std::string_view body) {
  if (body.size() > graphql_body_scan_limit || body.find("RATE_LIMIT") == std::string_view::npos) {
    return graphql_limit::none;
  }
  boost::system::error_code ec;
  const auto document = boost::json::parse(body, ec);
  if (ec || !document.is_object()) return graphql_limit::none;
  const auto* errors = document.get_object().if_contains("errors");
  if (!errors || !errors->is_array()) return graphql_limit::none;
  for (const auto& error : errors->get_array()) {
    if (!error.is_object()) continue;
    const auto* type = error.get_object().if_contains("type");
    if (!type || !type->is_string()) continue;
    const std::string_view name = type->get_string();
    if (name != "RATE_LIMITED" && name != "RATE_LIMIT") continue;
    const auto* message = error.get_object().if_contains("message");
    if (message && message->is_string() && names_secondary_limit(message->get_string())) {
      return graphql_limit::secondary;
    }
    return graphql_limit::primary;
  }
  return graphql_limit::none;
}

}  // namespace

rate_limit_headers parse_rate_limit_headers(const http::fields& headers) {
  rate_limit_headers out;
  out.limit = header_integer(headers, "X-RateLimit-Limit");
  out.remaining = header_integer(headers, "X-RateLimit-Remaining");
  out.used = header_integer(headers, "X-RateLimit-Used");
  if (const auto reset = header_integer(headers, "X-RateLimit-Reset")) {
    out.reset = from_epoch_seconds(*reset);
  }
  if (const auto name = header(headers, "X-RateLimit-Resource"); !name.empty()) {
    resource r{};
    if (parse_resource(name, r)) {
      out.named = r;
    } else {
      out.unknown_resource = true;
    }
  }
  return out;
}

std::string_view to_string(verdict_kind kind) {
  switch (kind) {
    case verdict_kind::ok: return "ok";
    case verdict_kind::primary_limit: return "primary_limit";
    case verdict_kind::secondary_limit: return "secondary_limit";
    case verdict_kind::bad_credential: return "bad_credential";
  }
  return "ok";
}

verdict classify_response(unsigned status, const http::fields& headers, std::string_view body,
                          resource r) {
  verdict out;
  if (const auto reset = header_integer(headers, "X-RateLimit-Reset")) {
    out.reset = from_epoch_seconds(*reset);
  }
  const auto remaining = header_integer(headers, "X-RateLimit-Remaining");
  out.remaining_zero = remaining && *remaining <= 0;
  // Only these answers' text matters, and only its first bytes: a
  // compressed body is inflated that far and no further.
  std::string inflated;
  const bool graphql_ok = status == 200 && r == resource::graphql;
  if (status == 401 || status == 403 || status == 429 || graphql_ok) {
    // One byte over GraphQL's scan limit tells a body that is too long.
    const auto limit = graphql_ok ? graphql_body_scan_limit + 1 : error_body_scan_limit;
    body = readable_text(headers, body, limit, inflated).value_or(std::string_view{});
  }

  if (status == 401) {
    // An unreadable body cannot clear the credential: take GitHub's word
    // that it is bad, as before any body was read.
    if (body.empty() || boost::algorithm::icontains(body, bad_credentials_text)) {
      out.kind = verdict_kind::bad_credential;
    }
    return out;
  }
  if (status == 403 || status == 429) {
    out.retry_after = parse_retry_after(headers);
    if (out.retry_after || names_secondary_limit(body)) {
      out.kind = verdict_kind::secondary_limit;
    } else if (out.remaining_zero) {
      out.kind = verdict_kind::primary_limit;
    } else if (status == 429) {
      out.kind = verdict_kind::secondary_limit;
    }
    return out;
  }
  if (status == 200 && r == resource::graphql) {
    switch (graphql_rate_limit(body)) {
      case graphql_limit::primary: out.kind = verdict_kind::primary_limit; break;
      case graphql_limit::secondary: out.kind = verdict_kind::secondary_limit; break;
      case graphql_limit::none: break;
    }
  }
  return out;
}

bool requires_app_jwt(std::string_view path) {
  path = path.substr(0, path.find('?'));
  // The non-empty segments, up to the four of /repos/{o}/{r}/installation.
  std::array<std::string_view, 4> segments{};
  std::size_t count = 0;
  while (!path.empty()) {
    const auto slash = path.find('/');
    const auto segment = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
    if (segment.empty()) continue;
    if (count == 0 && boost::algorithm::iequals(segment, "app")) return true;  // /app and all below
    if (count == segments.size()) return false;  // deeper than every other JWT-only path
    segments[count++] = segment;
  }
  const auto is = [&](std::size_t i, std::string_view name) { return boost::algorithm::iequals(segments[i], name); };
  if (count == 3 && is(2, "installation")) return is(0, "orgs") || is(0, "users") || is(0, "enterprises");
  return count == 4 && is(0, "repos") && is(3, "installation");
}

}  // namespace github_proxy::credentials
