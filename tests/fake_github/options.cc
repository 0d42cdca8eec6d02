#include "options.h"

#include <charconv>
#include <stdexcept>
#include <string_view>

namespace fake_github {
namespace {

std::int64_t parse_number(const std::string& flag, const std::string& text, std::int64_t min,
                          std::int64_t max) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n < min || n > max)
    throw std::invalid_argument(flag + ": expected a number in [" + std::to_string(min) + ", " +
                                std::to_string(max) + "], got \"" + text + "\"");
  return n;
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// "PATH", or "ISSUERS=PATH" where ISSUERS is "APP_ID", "CLIENT_ID" or
// "APP_ID,CLIENT_ID" (an all-digit issuer is the App ID).
app_key_option parse_app_key(const std::string& text) {
  app_key_option key;
  std::string issuers;
  if (auto eq = text.find('='); eq != std::string::npos) {
    issuers = text.substr(0, eq);
    key.path = text.substr(eq + 1);
  } else {
    key.path = text;
  }
  std::size_t from = 0;
  while (!issuers.empty() && from <= issuers.size()) {
    std::size_t comma = issuers.find(',', from);
    std::string one = issuers.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
    std::string& slot = all_digits(one) ? key.app_id : key.client_id;
    if (one.empty() || !slot.empty())
      throw std::invalid_argument("--app-key: expected [APP_ID][,CLIENT_ID]=PATH, got \"" + text + "\"");
    slot = one;
    if (comma == std::string::npos) break;
    from = comma + 1;
  }
  if (key.path.empty()) throw std::invalid_argument("--app-key: missing PATH in \"" + text + "\"");
  return key;
}

}  // namespace

const char* usage() {
  return "usage: fake_github [--address 127.0.0.1] [--port 0] [--port-file PATH] [--threads N]\n"
         "                   [--tls-cert FILE --tls-key FILE] [--ghes] [--origin URL] [--core-limit N]\n"
         "                   [--search-limit N] [--code-search-limit N] [--graphql-limit N]\n"
         "                   [--secondary-rest-points N] [--secondary-graphql-points N]\n"
         "                   [--secondary-content-per-minute N] [--secondary-content-per-hour N]\n"
         "                   [--secondary-block-seconds SECONDS]\n"
         "                   [--app-key [APP_ID][,CLIENT_ID]=PEM_PATH]... [--installation-token-ttl SECONDS]\n"
         "                   [--quiet]\n";
}

options parse_options(const std::vector<std::string>& args) {
  options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> inline_value;
    if (auto eq = flag.find('='); flag.starts_with("--") && eq != std::string::npos) {
      inline_value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    auto value = [&]() -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) throw std::invalid_argument(flag + ": missing value");
      return args[++i];
    };
    if (flag == "--address") o.address = value();
    else if (flag == "--port") o.port = static_cast<unsigned short>(parse_number(flag, value(), 0, 65535));
    else if (flag == "--port-file") o.port_file = value();
    else if (flag == "--threads") o.threads = static_cast<std::size_t>(parse_number(flag, value(), 1, 64));
    else if (flag == "--tls-cert") o.tls_cert = value();
    else if (flag == "--tls-key") o.tls_key = value();
    else if (flag == "--ghes") o.ghes = true;
    else if (flag == "--origin") o.origin = value();
    else if (flag == "--core-limit") o.core_limit = parse_number(flag, value(), 0, 1'000'000'000);
    else if (flag == "--search-limit") o.search_limit = parse_number(flag, value(), 0, 1'000'000'000);
    else if (flag == "--code-search-limit") o.code_search_limit = parse_number(flag, value(), 0, 1'000'000'000);
    else if (flag == "--graphql-limit") o.graphql_limit = parse_number(flag, value(), 0, 1'000'000'000);
    else if (flag == "--secondary-rest-points")
      o.secondary_rest_points = parse_number(flag, value(), 0, 1'000'000'000);
    else if (flag == "--secondary-graphql-points")
      o.secondary_graphql_points = parse_number(flag, value(), 0, 1'000'000'000);
    else if (flag == "--secondary-content-per-minute")
      o.secondary_content_per_minute = parse_number(flag, value(), 0, 1'000'000'000);
    else if (flag == "--secondary-content-per-hour")
      o.secondary_content_per_hour = parse_number(flag, value(), 0, 1'000'000'000);
    else if (flag == "--secondary-block-seconds")
      o.secondary_block_seconds = parse_number(flag, value(), 0, 86400);
    else if (flag == "--app-key") o.app_keys.push_back(parse_app_key(value()));
    else if (flag == "--installation-token-ttl")
      o.installation_token_ttl = parse_number(flag, value(), 1, 366 * 24 * 3600);
    else if (flag == "--quiet") o.quiet = true;
    else if (flag == "--help" || flag == "-h") o.help = true;
    else throw std::invalid_argument("unknown argument \"" + args[i] + "\"");
  }
  if (!o.origin.empty() && !(o.origin.starts_with("http://") || o.origin.starts_with("https://")))
    throw std::invalid_argument("--origin must be an http:// or https:// URL");
  while (o.origin.ends_with('/')) o.origin.pop_back();
  if (o.tls_cert.empty() != o.tls_key.empty())
    throw std::invalid_argument("--tls-cert and --tls-key go together");
  return o;
}

}  // namespace fake_github
