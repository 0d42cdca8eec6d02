// Where requests go: a parsed upstream base URL (docs/contract.md §3 `upstream.url`).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace github_proxy::upstream {

struct endpoint {
  bool tls = true;
  std::string host;         // "api.github.com" (no brackets for IPv6 literals)
  std::string port;         // "443"
  std::string host_header;  // "api.github.com" or "ghe.local:8443"
  std::string origin;       // "https://api.github.com" — scheme://authority
  std::string base_path;    // "" or "/api/v3", never with a trailing slash

  // origin + base_path: the prefix of every absolute URL GitHub emits for
  // this upstream (pagination links, redirects).
  std::string url_prefix() const { return origin + base_path; }
  bool same_origin(const endpoint& other) const { return origin == other.origin; }
};

// Parses an absolute http(s) URL; nullopt when it is not one.
std::optional<endpoint> parse_endpoint(std::string_view url);

}  // namespace github_proxy::upstream
