#include "proxy/forwarding.h"

#include <array>
#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace github_proxy::proxy {

namespace http = boost::beast::http;
using boost::beast::iequals;

namespace {

constexpr std::string_view ghes_rest_prefix = "/api/v3";
constexpr std::string_view ghes_graphql = "/api/graphql";
constexpr std::string_view graphql_path = "/graphql";

bool starts_with_segment(std::string_view target, std::string_view prefix) {
  if (!target.starts_with(prefix)) return false;
  if (target.size() == prefix.size()) return true;
  const char next = target[prefix.size()];
  return next == '/' || next == '?';
}

// RFC 9110 §7.6.1 connection-specific fields, plus the legacy ones.
constexpr std::array<std::string_view, 9> hop_by_hop_fields = {
    "connection", "keep-alive",  "proxy-connection", "proxy-authenticate", "proxy-authorization",
    "te",         "trailer",     "transfer-encoding", "upgrade"};

// Fields named in `Connection` are hop-by-hop too.
std::vector<std::string> connection_options(const http::fields& fields) {
  std::vector<std::string> names;
  for (auto [it, end] = fields.equal_range(http::field::connection); it != end; ++it) {
    for (auto token : http::token_list(it->value())) names.emplace_back(token);
  }
  return names;
}

bool named_in(const std::vector<std::string>& names, std::string_view name) {
  for (const auto& n : names) {
    if (iequals(n, name)) return true;
  }
  return false;
}

std::string rewrite_url(std::string_view url, std::string_view upstream_prefix,
                        std::string_view public_prefix, bool& changed) {
  changed = false;
  if (upstream_prefix.empty() || !url.starts_with(upstream_prefix)) return std::string(url);
  auto rest = url.substr(upstream_prefix.size());
  if (!rest.empty() && rest.front() != '/' && rest.front() != '?') return std::string(url);
  changed = true;
  std::string out;
  out.reserve(public_prefix.size() + rest.size());
  out.append(public_prefix).append(rest);
  return out;
}

}  // namespace

bool route_target(std::string_view target, routed_path& out) {
  if (target.empty() || target.front() != '/') return false;
  out = {};
  if (starts_with_segment(target, ghes_graphql)) {
    out.client_prefix = target.substr(0, 4);  // "/api"
    out.path_and_query = target.substr(4);    // "/graphql…"
    out.graphql = true;
    return true;
  }
  if (starts_with_segment(target, ghes_rest_prefix)) {
    out.client_prefix = target.substr(0, ghes_rest_prefix.size());
    out.path_and_query = target.substr(ghes_rest_prefix.size());  // may be "" or "?…"
  } else {
    out.path_and_query = target;
  }
  out.graphql = starts_with_segment(out.path_and_query, graphql_path);
  return true;
}

std::string upstream_target(std::string_view base_path, std::string_view path_and_query) {
  std::string out;
  out.reserve(base_path.size() + path_and_query.size() + 1);
  out.append(base_path);
  // "/api/v3" alone (or "/api/v3?x") is the API root.
  if (path_and_query.empty() || path_and_query.front() == '?') out.push_back('/');
  out.append(path_and_query);
  return out;
}

std::string graphql_upstream_target(std::string_view graphql_base_path,
                                    std::string_view path_and_query) {
  std::string out(graphql_base_path.empty() ? graphql_path : graphql_base_path);
  out.append(path_and_query.substr(std::min(graphql_path.size(), path_and_query.size())));
  return out;
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

bool is_hop_by_hop(std::string_view name) {
  for (auto f : hop_by_hop_fields) {
    if (iequals(f, name)) return true;
  }
  return false;
}

void copy_request_fields(const http::fields& in, http::fields& out) {
  const auto named = connection_options(in);
  for (const auto& field : in) {
    switch (field.name()) {
      case http::field::host:
      case http::field::authorization:
      case http::field::user_agent:
      case http::field::expect:
      case http::field::content_length:
        continue;
      default:
        break;
    }
    const auto name = field.name_string();
    if (is_hop_by_hop(name) || (!named.empty() && named_in(named, name))) continue;
    out.insert(field.name(), name, field.value());
  }
}

void strip_response_hop_by_hop(http::fields& fields) {
  const auto named = connection_options(fields);
  for (auto it = fields.begin(); it != fields.end();) {
    const auto name = it->name_string();
    if (is_hop_by_hop(name) || (!named.empty() && named_in(named, name))) {
      it = fields.erase(it);
    } else {
      ++it;
    }
  }
}

std::string rewrite_link(std::string_view link, std::string_view upstream_prefix,
                         std::string_view public_prefix) {
  // Link = #link-value; link-value = "<" URI-Reference ">" *( ";" link-param )
  // (RFC 8288 §3). Only the URI between angle brackets is rewritten.
  std::string out;
  out.reserve(link.size() + 64);
  std::size_t pos = 0;
  while (pos < link.size()) {
    const auto open = link.find('<', pos);
    if (open == std::string_view::npos) break;
    const auto close = link.find('>', open + 1);
    if (close == std::string_view::npos) break;
    out.append(link.substr(pos, open + 1 - pos));
    bool changed = false;
    out.append(rewrite_url(link.substr(open + 1, close - open - 1), upstream_prefix, public_prefix,
                           changed));
    out.push_back('>');
    pos = close + 1;
    // Skip the parameters up to the next link-value (quoted strings may hold ',' or '<').
    bool quoted = false;
    while (pos < link.size()) {
      const char c = link[pos];
      if (quoted) {
        if (c == '\\' && pos + 1 < link.size()) {
          out.push_back(c);
          ++pos;
        } else if (c == '"') {
          quoted = false;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        break;
      }
      out.push_back(c);
      ++pos;
    }
  }
  out.append(link.substr(std::min(pos, link.size())));
  return out;
}

std::string rewrite_location(std::string_view location, std::string_view upstream_prefix,
                             std::string_view public_prefix) {
  bool changed = false;
  return rewrite_url(location, upstream_prefix, public_prefix, changed);
}

std::string public_base(std::string_view configured, bool tls, std::string_view host_header) {
  if (!configured.empty()) {
    while (configured.ends_with('/')) configured.remove_suffix(1);
    return std::string(configured);
  }
  if (host_header.empty()) return {};
  for (char c : host_header) {
    // Host = uri-host [ ":" port ]; refuse anything that could break a URL.
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                    c == ':' || c == '[' || c == ']' || c == '_';
    if (!ok) return {};
  }
  std::string out = tls ? "https://" : "http://";
  out.append(host_header);
  return out;
}

std::string error_body(http::status status, std::string_view message) {
  boost::json::object body;
  body["message"] = message;
  body["documentation_url"] = "https://docs.github.com/rest";
  body["status"] = std::to_string(static_cast<unsigned>(status));
  return boost::json::serialize(body);
}

std::string loggable_target(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, q + 1));
  auto query = target.substr(q + 1);
  bool in_value = false;
  for (char c : query) {
    if (c == '&') {
      in_value = false;
      out.push_back(c);
    } else if (c == '=') {
      if (!in_value) out.push_back(c);
      in_value = true;
    } else if (!in_value) {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace github_proxy::proxy
