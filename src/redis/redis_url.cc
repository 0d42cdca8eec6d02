#include "redis/redis_url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <boost/url/parse.hpp>

namespace github_proxy::redis {

namespace {

template <typename Number>
bool parse_decimal(std::string_view digits, Number& out) {
  if (digits.empty()) return false;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  return ec == std::errc{} && end == digits.data() + digits.size();
}

}  // namespace

parsed_url parse_redis_url(std::string_view text) {
  parsed_url result;
  constexpr std::string_view form = "redis://[[user]:password@]host[:port][/db]";
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) {
    result.error = "expected a URL like " + std::string(form);
    return result;
  }
  const boost::urls::url_view& url = *parsed;
  std::string scheme(url.scheme());
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "redis") {
    result.error = "the scheme must be redis:// (" + std::string(form) + ")";
    return result;
  }
  if (!url.has_authority() || url.encoded_host().empty()) {
    result.error = "the Redis URL has no host";
    return result;
  }
  if (url.has_query() || url.has_fragment()) {
    result.error = "the Redis URL must not have a query or fragment";
    return result;
  }
  endpoint& target = result.value;
  target.host = url.host_address();  // decoded; IPv6 without brackets
  if (url.has_port()) {
    unsigned port = 0;
    if (!parse_decimal(url.port(), port) || port == 0 || port > 65535) {
      result.error = "the Redis URL's port must be 1-65535";
      return result;
    }
    target.port = static_cast<std::uint16_t>(port);
  }
  if (url.has_userinfo()) {
    target.user = url.user();
    if (url.has_password()) target.password = url.password();
    if (target.password.empty() && !target.user.empty()) {
      result.error = "the Redis URL names a user without a password (use redis://user:password@ or redis://:password@)";
      return result;
    }
  }
  std::string_view path = url.encoded_path();
  if (path.size() > 1 && !parse_decimal(path.substr(1), target.db)) {
    result.error = "the Redis URL's path must be a database number like /0";
    return result;
  }
  return result;
}

std::string describe(const endpoint& target) {
  const bool ipv6 = target.host.find(':') != std::string::npos;
  std::string text = ipv6 ? "[" + target.host + "]" : target.host;
  return text + ":" + std::to_string(target.port) + "/" + std::to_string(target.db);
}

}  // namespace github_proxy::redis
