#include "github_proxy/upstream/endpoint.h"

#include <boost/url/parse.hpp>

namespace github_proxy::upstream {

std::optional<endpoint> parse_endpoint(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return std::nullopt;
  const auto& u = *parsed;
  endpoint e;
  if (u.scheme_id() == boost::urls::scheme::https) {
    e.tls = true;
  } else if (u.scheme_id() == boost::urls::scheme::http) {
    e.tls = false;
  } else {
    return std::nullopt;
  }
  if (!u.has_authority() || u.host().empty() || u.has_userinfo()) return std::nullopt;
  e.host = u.host_name().empty() ? std::string(u.encoded_host_address()) : std::string(u.host_name());
  if (u.host_type() == boost::urls::host_type::ipv6) e.host = std::string(u.host_address());
  e.port = u.has_port() ? std::string(u.port()) : (e.tls ? "443" : "80");
  e.host_header = std::string(u.encoded_host_and_port());
  e.origin = std::string(u.scheme()) + "://" + e.host_header;
  std::string path(u.encoded_path());
  while (!path.empty() && path.back() == '/') path.pop_back();
  e.base_path = std::move(path);
  return e;
}

}  // namespace github_proxy::upstream
