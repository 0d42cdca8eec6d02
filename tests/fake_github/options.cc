#include "options.h"

#include <charconv>
#include <stdexcept>

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

}  // namespace

const char* usage() {
  return "usage: fake_github [--address 127.0.0.1] [--port 0] [--port-file PATH] [--threads N]\n"
         "                   [--tls-cert FILE --tls-key FILE] [--ghes] [--core-limit N]\n"
         "                   [--search-limit N] [--code-search-limit N] [--graphql-limit N] [--quiet]\n";
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
    else if (flag == "--core-limit") o.core_limit = parse_number(flag, value(), 0, 1'000'000'000);
    else if (flag == "--search-limit") o.search_limit = parse_number(flag, value(), 0, 1'000'000'000);
    else if (flag == "--code-search-limit") o.code_search_limit = parse_number(flag, value(), 0, 1'000'000'000);
    else if (flag == "--graphql-limit") o.graphql_limit = parse_number(flag, value(), 0, 1'000'000'000);
    else if (flag == "--quiet") o.quiet = true;
    else if (flag == "--help" || flag == "-h") o.help = true;
    else throw std::invalid_argument("unknown argument \"" + args[i] + "\"");
  }
  if (o.tls_cert.empty() != o.tls_key.empty())
    throw std::invalid_argument("--tls-cert and --tls-key go together");
  return o;
}

}  // namespace fake_github
