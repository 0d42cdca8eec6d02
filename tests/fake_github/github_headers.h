// The response header set of a real api.github.com answer (docs/github-api.md
// §2.2 A/B, §1.5 for 304s), written in the recorded order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rate_limits.h"

namespace fake_github {

enum class cache_policy {
  standard,         // private (authenticated) or public, max-age=60, s-maxage=60
  no_cache,         // /rate_limit, /search/*
  redirect_public,  // 302 archive redirects: public, must-revalidate, max-age=0
  none,             // GraphQL, 301/307, errors
};

enum class vary_policy {
  full,           // the two Vary lines (authenticated) or the public line
  encoding_only,  // "Accept-Encoding, Accept, X-Requested-With"
};

inline constexpr std::string_view oauth_scopes = "gist, read:org, repo, workflow";
inline constexpr std::string_view rest_media_type = "github.v3; format=json";
inline constexpr std::string_view json_content_type = "application/json; charset=utf-8";

struct header_plan {
  std::int64_t now = 0;
  std::string_view request_id;
  bool authenticated = false;
  bool not_modified = false;  // a 304: entity and scope headers are left out
  bool ghes = false;
  std::string_view api_version = "2022-11-28";  // x-github-api-version-selected
  std::string_view content_type;              // empty: no Content-Type
  std::optional<std::size_t> content_length;  // identity responses
  bool chunked = false;                       // gzip responses
  bool gzip = false;
  cache_policy cache = cache_policy::standard;
  vary_policy vary = vary_policy::full;
  std::string etag;                  // full header value; empty: none
  std::optional<std::int64_t> last_modified;
  std::string_view media_type;       // X-GitHub-Media-Type; empty: none
  std::string_view accepted_scopes;  // X-Accepted-OAuth-Scopes
  std::string link;
  std::string location;
  std::optional<rate_snapshot> rate;
  std::vector<std::pair<std::string, std::string>> extra;  // e.g. Retry-After, expires
};

// Appends "Name: value\r\n" lines to `out`.
void write_headers(std::string& out, const header_plan& plan);

// Five colon-separated upper-case hex groups, the last one the Unix time:
// "0687:0D5B:29F123D:4E0B9D8:62D6351D" (docs/github-api.md §2.1).
std::string make_request_id(std::int64_t now);

// The Date value for `now`, cached per thread for the current second.
const std::string& cached_http_date(std::int64_t now);

}  // namespace fake_github
