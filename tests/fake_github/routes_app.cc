// POST /app/installations/{installation_id}/access_tokens (docs/github-api.md
// §5): an App JWT buys an installation token. With no App registered the JWT
// is only shape-checked (three dot-separated parts), as before App support;
// once one is registered it is verified like GitHub does.
#include <algorithm>

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>

#include "app_jwt.h"
#include "routes.h"
#include "time_format.h"

namespace fake_github {
namespace json = boost::json;
namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

bool bearer_scheme(std::string_view authorization) {
  while (!authorization.empty() && authorization.front() == ' ') authorization.remove_prefix(1);
  return authorization.size() > 7 && boost::beast::iequals(authorization.substr(0, 7), "bearer ");
}

route_result rejected(github_apps& apps, unsigned status, std::string_view message) {
  apps.note_rejected();
  return error_result(status, message);
}

// Empty when the JWT is acceptable, else GitHub's refusal.
std::optional<route_result> refusal(const route_request& req, const std::string& installation,
                                    github_apps& apps) {
  const std::string& jwt = req.who.key;
  if (!apps.any()) {
    if (!req.who.authenticated || std::count(jwt.begin(), jwt.end(), '.') != 2)
      return rejected(apps, 401, jwt_undecodable);
    return std::nullopt;
  }
  if (!req.who.authenticated) return rejected(apps, 401, jwt_undecodable);
  // D-gs: "if you are passing a JSON web token (JWT), you must use
  // Authorization: Bearer". GitHub would look a `token …` up as an OAuth
  // token, hence Bad credentials [INFER].
  if (!bearer_scheme(req.authorization)) return rejected(apps, 401, "Bad credentials");
  auto decoded = decode_app_jwt(jwt);
  if (!decoded) return rejected(apps, 401, jwt_undecodable);
  auto app = apps.find(decoded->issuer);
  if (!app || !signature_valid(*decoded, app->key.get())) return rejected(apps, 401, jwt_undecodable);
  if (auto message = claims_error(*decoded, req.now)) return rejected(apps, 401, *message);
  if (!app->owns(installation)) return rejected(apps, 404, "Not Found");
  return std::nullopt;
}

}  // namespace

bool is_installation_token_request(const route_request& req) {
  const auto& segs = req.segments;
  return !req.is_graphql && req.method == "POST" && segs.size() == 4 && segs[0] == "app" &&
         segs[1] == "installations" && segs[3] == "access_tokens";
}

route_result route_installation_token(const route_request& req, github_apps& apps) {
  const std::string& installation = req.segments[2];
  if (auto refused = refusal(req, installation, apps)) return std::move(*refused);
  if (!all_digits(installation)) return rejected(apps, 404, "Not Found");

  issued_token t = apps.issue(installation, req.now);
  json::object body{{"token", t.token},
                    {"expires_at", iso8601(t.expires_at)},
                    {"permissions", {{"contents", "read"}, {"issues", "write"}, {"metadata", "read"}}},
                    {"repository_selection", "all"}};
  route_result r;
  r.status = 201;
  r.body = json::serialize(body);
  r.accepted_scopes = "";
  return r;
}

}  // namespace fake_github
