#include "github_proxy/cache/etag.h"

#include <algorithm>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include "common/sha256.h"
#include "common/http_fields.h"

namespace github_proxy::cache {

using common::sha256_hasher;
using common::sha256_hex;

namespace http = boost::beast::http;
using boost::beast::iequals;

namespace {


using common::trim;

void add_vary(vary_inputs& out, std::string_view list) {
  for (auto token : http::token_list(list)) {
    if (token == "*") out.any = true;
    else if (iequals(token, "accept")) out.accept = true;
    else if (iequals(token, "authorization")) out.authorization = true;
    else if (iequals(token, "cookie")) out.cookie = true;
    else if (!iequals(token, "accept-encoding") && !iequals(token, "x-github-otp") &&
             !iequals(token, "x-requested-with") && !iequals(token, "x-github-api-version"))
      out.other = true;
  }
}

}  // namespace

vary_inputs parse_vary(std::string_view vary_list) {
  vary_inputs out;
  add_vary(out, vary_list);
  return out;
}

vary_inputs parse_vary(const http::fields& response) {
  vary_inputs out;
  for (auto [it, end] = response.equal_range(http::field::vary); it != end; ++it) add_vary(out, it->value());
  return out;
}

std::string derive_etag(std::string_view accept, std::string_view authorization, std::string_view cookie,
                        std::string_view vary_list, std::string_view uncompressed_body) {
  return derive_etag(accept, authorization, cookie, parse_vary(vary_list), uncompressed_body);
}

std::string derive_etag(std::string_view accept, std::string_view authorization, std::string_view cookie,
                        const vary_inputs& vary, std::string_view uncompressed_body) {
  return *derive_etag(accept, authorization, cookie, vary, [&](const body_sink& sink) {
    sink(uncompressed_body);
    return true;
  });
}

std::optional<std::string> derive_etag(std::string_view accept, std::string_view authorization,
                                       std::string_view cookie, const vary_inputs& vary,
                                       const std::function<bool(const body_sink&)>& produce) {
  sha256_hasher hash;
  // The order is GitHub's: Accept, Authorization, Cookie (docs/github-api.md §8).
  if (!accept.empty() && (vary.accept || vary.any)) hash.update(accept).update(":");
  if (!authorization.empty() && (vary.authorization || vary.any)) hash.update(authorization).update(":");
  if (!cookie.empty() && (vary.cookie || vary.any)) hash.update(cookie).update(":");
  if (!produce([&](std::string_view piece) { hash.update(piece); })) return std::nullopt;
  std::string out = "\"";
  out += hash.hex();
  out += '"';
  return out;
}

std::string authorization_fingerprint(std::string_view authorization_value) {
  if (authorization_value.empty()) return {};
  return sha256_hasher().update("github-proxy authorization:").update(authorization_value).hex().substr(0, 16);
}

std::string_view etag_opaque(std::string_view etag) {
  etag = trim(etag);
  if (etag.starts_with("W/")) etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

bool etag_is_weak(std::string_view etag) { return trim(etag).starts_with("W/"); }

bool etags_match_weak(std::string_view a, std::string_view b) {
  const auto x = etag_opaque(a);
  return !x.empty() && x == etag_opaque(b);
}

bool if_none_match_matches(std::string_view header_value, std::string_view etag) {
  const auto current = etag_opaque(etag);
  if (current.empty()) return false;
  std::string_view rest = header_value;
  while (true) {
    // Skip list separators and optional whitespace (RFC 9110 §5.6.1).
    const auto start = rest.find_first_not_of(" \t,");
    if (start == std::string_view::npos) return false;
    rest.remove_prefix(start);
    if (rest.front() == '*') return true;
    std::size_t length = 0;
    const std::size_t quote = rest.starts_with("W/") ? 2 : 0;
    if (rest.size() > quote && rest[quote] == '"') {
      // entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE: commas may sit inside.
      const auto close = rest.find('"', quote + 1);
      length = close == std::string_view::npos ? rest.size() : close + 1;
    } else {
      length = std::min(rest.find(','), rest.size());  // an unquoted tag, tolerated
    }
    if (etags_match_weak(rest.substr(0, length), etag)) return true;
    rest.remove_prefix(length);
  }
}

}  // namespace github_proxy::cache
