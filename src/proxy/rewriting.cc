#include "proxy/rewriting.h"

#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "common/http_fields.h"

namespace github_proxy::proxy {

namespace http = boost::beast::http;

namespace {

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

void copy_request_fields(const http::fields& in, http::fields& out) {
  const common::connection_options named(in);
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
    if (named.hop_by_hop(name)) continue;
    out.insert(field.name(), name, field.value());
  }
}

void strip_response_hop_by_hop(http::fields& fields) {
  const common::connection_options named(fields);
  // Erasing invalidates the views `named` holds into the Connection line:
  // collect first, erase after.
  std::vector<http::fields::const_iterator> doomed;
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if (named.hop_by_hop(it->name_string())) doomed.push_back(it);
  }
  for (auto it : doomed) fields.erase(it);
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
