// The command line of fake_github (a fixed contract; see README.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fake_github {

// --app-key [APP_ID][,CLIENT_ID]=PATH, or --app-key PATH (any issuer).
struct app_key_option {
  std::string app_id;
  std::string client_id;
  std::string path;
};

struct options {
  std::string address = "127.0.0.1";
  unsigned short port = 0;
  std::string port_file;
  std::size_t threads = 2;
  std::string tls_cert;
  std::string tls_key;
  bool ghes = false;
  // The origin of the absolute URLs in bodies and Link headers (as
  // api.github.com writes its own, whatever Host a request carries).
  // Empty: this server's own URL, http(s)://ADDRESS:PORT.
  std::string origin;
  std::int64_t core_limit = 5000;
  std::int64_t search_limit = 30;
  std::int64_t code_search_limit = 10;
  std::int64_t graphql_limit = 5000;
  // Secondary limits per token (docs/github-api.md §3.4); 0 = off.
  std::int64_t secondary_rest_points = 900;       // per minute
  std::int64_t secondary_graphql_points = 2000;   // per minute
  std::int64_t secondary_content_per_minute = 80;
  std::int64_t secondary_content_per_hour = 500;
  std::int64_t secondary_block_seconds = 60;      // a refused token's block; 0 = none
  std::vector<app_key_option> app_keys;
  std::int64_t installation_token_ttl = 3600;  // docs/github-api.md §5: "will expire after 1 hour"
  bool quiet = false;
  bool help = false;
};

// Accepts "--flag value" and "--flag=value". Throws std::invalid_argument
// with a message naming the offending argument.
options parse_options(const std::vector<std::string>& args);

const char* usage();

}  // namespace fake_github
