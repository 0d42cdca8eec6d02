// The endpoints of a GitHub App's own JWT (docs/github-api.md §5):
// POST /app/installations/{installation_id}/access_tokens, where the JWT buys
// an installation token, and the JWT-only reads (`/app[/…]`,
// `…/installation`). With no App registered the JWT is only shape-checked
// (three dot-separated parts), as before App support; once one is
// registered it is verified like GitHub does.
#include <algorithm>

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>

#include "app_jwt.h"
#include "dataset_json.h"
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

// Who the JWT of a request is, once accepted: the App (none while no App is
// registered: then any three-part token passes).
struct jwt_check {
  std::optional<route_result> refusal;   // GitHub's 401 when not acceptable
  std::optional<app_registration> app;
};

jwt_check check_app_jwt(const route_request& req, github_apps& apps) {
  const std::string& jwt = req.who.key;
  const auto refuse = [](std::string_view message) { return jwt_check{error_result(401, message), std::nullopt}; };
  if (!apps.any()) {
    if (!req.who.authenticated || std::count(jwt.begin(), jwt.end(), '.') != 2) return refuse(jwt_undecodable);
    return {};
  }
  if (!req.who.authenticated) return refuse(jwt_undecodable);
  // D-gs: "if you are passing a JSON web token (JWT), you must use
  // Authorization: Bearer". GitHub would look a `token …` up as an OAuth
  // token, hence Bad credentials [INFER].
  if (!bearer_scheme(req.authorization)) return refuse("Bad credentials");
  auto decoded = decode_app_jwt(jwt);
  if (!decoded) return refuse(jwt_undecodable);
  auto app = apps.find(decoded->issuer);
  if (!app || !signature_valid(*decoded, app->key.get())) return refuse(jwt_undecodable);
  if (auto message = claims_error(*decoded, req.now)) return refuse(*message);
  return {std::nullopt, std::move(app)};
}

// Empty when the JWT may have a token for `installation`, else GitHub's refusal.
std::optional<route_result> refusal(const route_request& req, const std::string& installation,
                                    github_apps& apps) {
  auto checked = check_app_jwt(req, apps);
  if (checked.refusal) {
    apps.note_rejected();
    return std::move(checked.refusal);
  }
  if (checked.app && !checked.app->owns(installation)) return rejected(apps, 404, "Not Found");
  return std::nullopt;
}

// The path's segments without a trailing empty one (`/app/`).
std::vector<std::string_view> trimmed_segments(const std::vector<std::string>& segments) {
  std::vector<std::string_view> segs(segments.begin(), segments.end());
  while (!segs.empty() && segs.back().empty()) segs.pop_back();
  return segs;
}

std::vector<std::string_view> path_segments(const route_request& req) { return trimmed_segments(req.segments); }

bool jwt_only_path(const std::vector<std::string_view>& segs) {
  if (!segs.empty() && segs[0] == "app") return true;
  if (segs.size() == 3 && segs[2] == "installation")
    return segs[0] == "orgs" || segs[0] == "users" || segs[0] == "enterprises";
  return segs.size() == 4 && segs[0] == "repos" && segs[3] == "installation";
}

std::int64_t number_or(std::string_view digits, std::int64_t fallback) {
  if (!all_digits(digits) || digits.size() > 15) return fallback;
  return std::stoll(std::string(digits));
}

json::object installation_json(const route_request& req, std::string_view id, std::int64_t app_id,
                               std::string_view account) {
  const std::int64_t number = number_or(id, 1);
  const std::string base(req.base);
  return {{"id", number},
          {"account", {{"login", account}, {"id", data::org_id}, {"type", "Organization"}}},
          {"repository_selection", "all"},
          {"access_tokens_url", base + "/app/installations/" + std::to_string(number) + "/access_tokens"},
          {"repositories_url", base + "/installation/repositories"},
          {"app_id", app_id},
          {"app_slug", "fake-app"},
          {"target_id", data::org_id},
          {"target_type", "Organization"},
          {"permissions", {{"contents", "read"}, {"issues", "write"}, {"metadata", "read"}}},
          {"events", json::array{}},
          {"created_at", "2024-05-01T12:00:00Z"},
          {"updated_at", "2024-05-01T12:00:00Z"}};
}

route_result json_answer(json::value body) {
  route_result r;
  r.body = json::serialize(body);
  r.accepted_scopes = "";
  return r;
}

}  // namespace

std::optional<route_result> route_app_jwt_only(const route_request& req, github_apps& apps) {
  if (req.is_graphql) return std::nullopt;
  const auto segs = path_segments(req);
  if (!jwt_only_path(segs)) return std::nullopt;
  auto checked = check_app_jwt(req, apps);
  if (checked.refusal) return std::move(checked.refusal);
  if (req.method != "GET") return std::nullopt;

  const std::int64_t app_id = checked.app ? number_or(checked.app->app_id, 1) : 1;
  std::vector<std::string> installations;
  if (checked.app) installations = checked.app->installations;
  if (installations.empty()) installations.push_back("1");
  if (segs.size() == 1) {
    return json_answer(json::object{{"id", app_id},
                                    {"slug", "fake-app"},
                                    {"name", "Fake App"},
                                    {"owner", {{"login", data::org_login}, {"id", data::org_id}, {"type", "Organization"}}},
                                    {"permissions", {{"contents", "read"}, {"issues", "write"}, {"metadata", "read"}}},
                                    {"events", json::array{}},
                                    {"installations_count", installations.size()}});
  }
  if (segs[0] == "app") {
    if (segs.size() == 2 && segs[1] == "installations") {
      json::array list;
      for (const auto& id : installations) list.push_back(installation_json(req, id, app_id, data::org_login));
      return json_answer(std::move(list));
    }
    if (segs.size() == 3 && segs[1] == "installations") {
      const std::string id(segs[2]);
      if (!all_digits(id) || (checked.app && !checked.app->owns(id))) return error_result(404, "Not Found");
      return json_answer(installation_json(req, id, app_id, data::org_login));
    }
    return error_result(404, "Not Found");
  }
  // …/installation of an account or repository: the App's first installation.
  return json_answer(installation_json(req, installations.front(), app_id, segs[1]));
}

bool is_app_jwt_path(const std::vector<std::string>& segments) {
  return jwt_only_path(trimmed_segments(segments));  // …/access_tokens is under /app too
}

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
