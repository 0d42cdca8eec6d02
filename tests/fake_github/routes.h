// GitHub's API surface over the data set: maps one request to the answer's
// status, body and metadata. No I/O, no rate limits, no conditionals: the
// app applies those to the verdict afterwards.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/url/url_view.hpp>

#include "accounts.h"
#include "dataset.h"
#include "github_apps.h"
#include "github_headers.h"

namespace fake_github {

struct route_request {
  std::string_view method;                   // HEAD already turned into GET
  const boost::urls::url_view& url;
  const std::vector<std::string>& segments;  // decoded, /api/v3 removed
  bool is_graphql = false;
  std::string_view base;                     // "http://host[/api/v3]"
  std::string_view accept;
  std::string_view body;
  const account& who;
  std::int64_t now = 0;  // Unix seconds
  std::string_view authorization;  // the raw header (App JWTs must come as Bearer)
  int graphql_query_cost = 1;      // POST /_fake/graphql_cost
  int graphql_mutation_cost = 5;
  // X-GitHub-Api-Version as sent (empty: none, i.e. 2022-11-28).
  std::string_view api_version;
};

// The REST API versions the fake serves (docs/github-api.md §2.1): the
// default, and a newer one whose repository body differs, so that a test
// can see an entry of one version served for another.
inline constexpr std::string_view default_api_version = "2022-11-28";
inline constexpr std::string_view newer_api_version = "2026-03-10";

enum class validator_kind { body_sha256, blob_sha, none };

struct route_result {
  unsigned status = 200;
  std::string body;
  std::string_view content_type = json_content_type;
  std::string_view media_type = rest_media_type;
  bool pretty_printable = true;
  validator_kind validator = validator_kind::body_sha256;
  std::string blob_sha;
  std::optional<std::int64_t> last_modified;
  cache_policy cache = cache_policy::standard;
  vary_policy vary = vary_policy::full;
  std::string_view accepted_scopes = "repo";
  std::string link;
  std::string location;
  std::vector<std::pair<std::string, std::string>> extra_headers;
  int cost = 1;
  bool free = false;  // never spends (CORS preflight)
};

// {"message":…,"documentation_url":…,"status":"<code>"}: newer GitHub error
// bodies carry the status as a string (docs/github-api.md §5).
std::string error_json(unsigned status, std::string_view message,
                       std::string_view documentation_url = "https://docs.github.com/rest");
route_result error_result(unsigned status, std::string_view message,
                          std::string_view documentation_url = "https://docs.github.com/rest");

route_result route(const route_request& request, dataset& data);

// Declared here, defined in routes_write.cc.
route_result route_graphql(const route_request& request);

// Whether a GraphQL document is a mutation: it contains `mutation` (the
// fake's approximation). Decides the primary cost (route_graphql) and the
// secondary cost (app.cc). The request form reads the body's "query"
// string; a body that is not such JSON is no mutation. Defined in
// routes_write.cc.
bool graphql_document_is_mutation(std::string_view document);
bool graphql_request_is_mutation(std::string_view body);
route_result route_write(const route_request& request, dataset& data);

// POST /app/installations/{id}/access_tokens; defined in routes_app.cc.
bool is_installation_token_request(const route_request& request);
route_result route_installation_token(const route_request& request, github_apps& apps);

// The paths only a GitHub App's own JWT may call (docs/github-api.md §5):
// `/app[/…]`, `/repos/{o}/{r}/installation`, `/orgs/{o}/installation`,
// `/users/{u}/installation`, `/enterprises/{e}/installation`. Any other
// credential gets GitHub's 401 "A JSON web token could not be decoded"; a
// JWT is checked like the installation-token endpoint's (without counting
// its rejections). Empty when the request is not one of these (or is an
// accepted JWT on a method the fake does not model: the generic routes
// answer it). Defined in routes_app.cc.
std::optional<route_result> route_app_jwt_only(const route_request& request, github_apps& apps);

// The paths above plus POST /app/installations/{id}/access_tokens, i.e. the
// App's own JWT endpoints, from the decoded segments (/api/v3 removed).
bool is_app_jwt_path(const std::vector<std::string>& segments);

}  // namespace fake_github
