#include "routes.h"

#include <charconv>
#include <functional>

#include <boost/json.hpp>

#include "dataset_json.h"
#include "pagination.h"

namespace fake_github {
namespace json = boost::json;
namespace {

using segments_t = std::vector<std::string>;

route_result json_result(std::string body) {
  route_result r;
  r.body = std::move(body);
  return r;
}

// A request's path below the data-set node, re-encoded (redirect targets).
std::string tail_of(const segments_t& segs, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < segs.size(); ++i) {
    out += '/';
    out += segs[i];
  }
  return out;
}

route_result paginated(const route_request& req, int total, std::string_view canonical_path,
                       const std::function<dataset::document(int first, int count)>& page_of) {
  page_window w = paginate(req.url, total);
  dataset::document doc = page_of(w.first_index, w.count);
  route_result r = json_result(std::move(doc.body));
  r.last_modified = doc.updated_at;
  r.link = link_header(std::string(req.base) + std::string(canonical_path), req.url, w);
  return r;
}

// 301 for reads, 307 for writes, to the canonical /repositories/{id} URL (docs/github-api.md §7).
route_result renamed_repo(const route_request& req, const segments_t& segs) {
  std::string target(req.base);
  target += "/repositories/";
  target += std::to_string(data::first_repo_id);
  target += tail_of(segs, 3);
  if (req.url.has_query()) {
    target += '?';
    target += std::string_view(req.url.encoded_query());
  }
  route_result r = json_result(json::serialize(json::object{
      {"message", req.method == "GET" ? "Moved Permanently" : "Temporary Redirect"},
      {"url", target},
      {"documentation_url", "https://docs.github.com/v3/#http-redirects"}}));
  r.status = req.method == "GET" ? 301 : 307;
  r.location = std::move(target);
  r.validator = validator_kind::none;
  r.cache = cache_policy::none;
  r.vary = vary_policy::encoding_only;
  r.pretty_printable = false;
  return r;
}

route_result archive_redirect(int repo, std::string_view format,
                              const segments_t& segs, std::size_t ref_at) {
  std::string ref = tail_of(segs, ref_at);
  if (ref.empty()) ref = "/main";
  route_result r;
  r.status = 302;
  r.content_type = "text/html;charset=utf-8";
  r.media_type = {};
  r.pretty_printable = false;
  r.validator = validator_kind::none;
  r.cache = cache_policy::redirect_public;
  r.vary = vary_policy::encoding_only;
  r.location = "https://codeload.github.com/" + std::string(data::org_login) + "/" +
               data::repo_name(repo) + (format == "tarball" ? "/legacy.tar.gz" : "/legacy.zip") +
               "/refs/heads" + ref;
  return r;
}

bool wants(std::string_view accept, std::string_view param) {
  // application/vnd.github.PARAM, application/vnd.github.v3.PARAM, with or
  // without +json (docs/github-api.md §2.1 "X-GitHub-Media-Type").
  for (std::string_view prefix : {"application/vnd.github.", "application/vnd.github.v3."}) {
    const std::string type = std::string(prefix) + std::string(param);
    for (auto at = accept.find(type); at != std::string_view::npos; at = accept.find(type, at + 1)) {
      const auto end = at + type.size();
      if (end == accept.size() || accept[end] == '+' || accept[end] == ',' || accept[end] == ';' ||
          accept[end] == ' ')
        return true;
    }
  }
  return false;
}

bool wants_raw(std::string_view accept) { return wants(accept, "raw"); }

// A file as the markup media types render it (contents API): html, text.
route_result rendered(std::string_view media, std::string body) {
  route_result r;
  r.pretty_printable = false;
  if (media == "html") {
    r.body = "<div id=\"file\" class=\"md\"><pre>" + body + "</pre></div>";
    r.content_type = "application/vnd.github.v3.html; charset=utf-8";
    r.media_type = "github.v3; param=html";
  } else {
    r.body = std::move(body);
    r.content_type = "text/plain; charset=utf-8";
    r.media_type = "github.v3; param=text";
  }
  return r;
}

// GET /repos/{o}/{r}/commits/{sha}: JSON, or the commit as a diff or a
// patch (application/vnd.github.diff / .patch), each its own representation.
route_result commit(int repo, std::string_view sha, std::string_view accept) {
  const std::string name = data::repo_name(repo);
  const std::string diff = "diff --git a/README.md b/README.md\n--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-# " +
                           name + "\n+# " + name + " (" + std::string(sha) + ")\n";
  route_result r;
  r.pretty_printable = false;
  if (wants(accept, "diff")) {
    r.body = diff;
    r.content_type = "application/vnd.github.v3.diff; charset=utf-8";
    r.media_type = "github.v3; param=diff";
  } else if (wants(accept, "patch")) {
    r.body = "From " + std::string(sha) + " Mon Sep 17 00:00:00 2001\nSubject: [PATCH] Update README\n\n" + diff;
    r.content_type = "application/vnd.github.v3.patch; charset=utf-8";
    r.media_type = "github.v3; param=patch";
  } else {
    r = json_result(json::serialize(json::object{{"sha", sha}, {"commit", json::object{{"message", "Update README"}}}}));
  }
  return r;
}

// Pull requests: 150 open ones per repository, two pages at per_page=100,
// with GitHub's hypermedia (url, issue_url,
// _links.self.href …) on the fixed origin.
constexpr int pulls_in_repo = 150;

json::object pull_json(std::string_view base, int repo, int number) {
  const std::string full = std::string(data::org_login) + "/repo-" + std::to_string(repo);
  const std::string api = std::string(base) + "/repos/" + full;
  const std::string n = std::to_string(number);
  return json::object{
      {"url", api + "/pulls/" + n},
      {"id", data::repo_id(repo) * 1000 + number},
      {"number", number},
      {"state", "open"},
      {"title", "Fake pull request #" + n + " in repo-" + std::to_string(repo)},
      {"html_url", "https://github.com/" + full + "/pull/" + n},
      {"issue_url", api + "/issues/" + n},
      {"commits_url", api + "/pulls/" + n + "/commits"},
      {"head", json::object{{"ref", "feature-" + n}, {"sha", std::string(40, 'a')}}},
      {"base", json::object{{"ref", "main"}, {"sha", std::string(40, 'b')}}},
      {"_links", json::object{{"self", json::object{{"href", api + "/pulls/" + n}}},
                              {"html", json::object{{"href", "https://github.com/" + full + "/pull/" + n}}}}},
  };
}

route_result pulls(const route_request& req, int repo, const segments_t& segs, std::size_t at) {
  if (segs.size() - at == 2) {
    int number = 0;
    const std::string& s = segs[at + 1];
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), number);
    if (ec != std::errc{} || end != s.data() + s.size() || number < 1 || number > pulls_in_repo)
      return error_result(404, "Not Found");
    return json_result(json::serialize(pull_json(req.base, repo, number)));
  }
  return paginated(req, pulls_in_repo, "/repositories/" + std::to_string(data::repo_id(repo)) + "/pulls",
                   [&](int first, int count) {
                     json::array page;
                     for (int i = 0; i < count; ++i) page.push_back(pull_json(req.base, repo, pulls_in_repo - first - i));
                     dataset::document doc;
                     doc.body = json::serialize(page);
                     doc.updated_at = data::user_updated_at();
                     return doc;
                   });
}

route_result repo_subresource(const route_request& req, dataset& data, int repo,
                              const segments_t& segs, std::size_t at) {
  std::string_view base = req.base;
  const std::size_t rest = segs.size() - at;
  if (rest == 0) {
    dataset::document doc = data.repo(repo, base);
    if (req.api_version == newer_api_version) {
      // The newer version drops a deprecated field: another body, another ETag.
      auto repo_json = json::parse(doc.body).as_object();
      repo_json.erase("use_squash_pr_title_as_default");
      repo_json["api_version"] = newer_api_version;
      doc.body = json::serialize(repo_json);
    }
    route_result r = json_result(std::move(doc.body));
    r.last_modified = doc.updated_at;
    return r;
  }
  const std::string& what = segs[at];
  if (what == "pulls" && (rest == 1 || rest == 2)) return pulls(req, repo, segs, at);
  if (what == "issues" && rest == 1) {
    return paginated(req, data::issues_in_repo(repo),
                     "/repositories/" + std::to_string(data::repo_id(repo)) + "/issues",
                     [&](int first, int count) { return data.issue_page(repo, first, count, base); });
  }
  if (what == "issues" && rest == 2) {
    const std::string& n = segs[at + 1];
    int number = 0;
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), number);
    if (ec != std::errc{} || end != n.data() + n.size() || number < 1 || number > data::issues_in_repo(repo))
      return error_result(404, "Not Found");
    dataset::document doc = data.issue(repo, number, base);
    route_result r = json_result(std::move(doc.body));
    r.last_modified = doc.updated_at;
    return r;
  }
  if (what == "contents") {
    if (rest == 1) return json_result(data.root_listing(repo, base));
    std::string path = tail_of(segs, at + 1).substr(1);
    dataset::file f = data.content(repo, path, base);
    route_result r;
    if (wants_raw(req.accept)) {
      r.body = std::move(f.raw);
      r.content_type = "application/vnd.github.v3.raw; charset=utf-8";
      r.media_type = "github.v3; param=raw";
      r.pretty_printable = false;
    } else if (wants(req.accept, "html") || wants(req.accept, "text")) {
      r = rendered(wants(req.accept, "html") ? "html" : "text", std::move(f.raw));
    } else {
      r.body = std::move(f.json);
    }
    r.validator = validator_kind::blob_sha;
    r.blob_sha = std::move(f.sha);
    r.last_modified = f.updated_at;
    return r;
  }
  if (what == "commits" && rest == 2) return commit(repo, segs[at + 1], req.accept);
  if ((what == "tarball" || what == "zipball")) return archive_redirect(repo, what, segs, at + 1);
  return error_result(404, "Not Found");
}

route_result search(const route_request& req, dataset& data, const std::string& kind) {
  auto params = req.url.params();
  if (params.find("q") == params.end())
    return error_result(422, "Validation Failed", "https://docs.github.com/v3/search");
  if (kind == "code" && !req.who.authenticated)
    return error_result(401, "Requires authentication", "https://docs.github.com/rest/search/search#search-code");
  const int total = kind == "issues" ? data::issues_in_repo(0) : 0;
  page_window w = paginate(req.url, total);
  std::string body = R"({"total_count":)" + std::to_string(total) + R"(,"incomplete_results":false,"items":)";
  body += data.issue_page(0, w.first_index, w.count, req.base).body;
  body += '}';
  route_result r = json_result(std::move(body));
  r.validator = validator_kind::none;
  r.cache = cache_policy::no_cache;
  r.accepted_scopes = "";
  r.link = link_header(std::string(req.base) + "/search/" + kind, req.url, w);
  return r;
}

route_result api_root(std::string_view base) {
  std::string b(base);
  return json_result(json::serialize(json::object{
      {"current_user_url", b + "/user"},
      {"organization_url", b + "/orgs/{org}"},
      {"organization_repositories_url", b + "/orgs/{org}/repos{?type,page,per_page,sort}"},
      {"rate_limit_url", b + "/rate_limit"},
      {"repository_url", b + "/repos/{owner}/{repo}"},
      {"issue_search_url", b + "/search/issues?q={query}{&page,per_page,sort,order}"},
  }));
}

route_result route_get(const route_request& req, dataset& data) {
  const segments_t& segs = req.segments;
  const std::size_t n = segs.size();
  if (n == 0 || (n == 1 && segs[0].empty())) {
    route_result r = api_root(req.base);
    r.accepted_scopes = "";
    return r;
  }
  if (n == 1 && segs[0] == "user") {
    if (!req.who.authenticated)
      return error_result(401, "Requires authentication",
                          "https://docs.github.com/rest/users/users#get-the-authenticated-user");
    route_result r = json_result(data.user(req.who.user_id, req.base));
    r.last_modified = data::user_updated_at();
    r.accepted_scopes = "";
    return r;
  }
  const bool is_org = n >= 2 && segs[0] == "orgs" && segs[1] == data::org_login;
  const bool is_org_id = n >= 2 && segs[0] == "organizations" && segs[1] == std::to_string(data::org_id);
  if (is_org && n == 2) return json_result(data.org(req.base));
  if ((is_org || is_org_id) && n == 3 && segs[2] == "repos") {
    return paginated(req, data::repo_count, "/organizations/" + std::to_string(data::org_id) + "/repos",
                     [&](int first, int count) { return data.repo_page(first, count, req.base); });
  }
  if (n >= 3 && segs[0] == "repos") {
    if (segs[1] == data::org_login && segs[2] == "old-name") return renamed_repo(req, segs);
    if (auto repo = data.find_repo(segs[1], segs[2])) return repo_subresource(req, data, *repo, segs, 3);
    return error_result(404, "Not Found");
  }
  if (n >= 2 && segs[0] == "repositories") {
    if (auto repo = data.find_repo_by_id(segs[1])) return repo_subresource(req, data, *repo, segs, 2);
    return error_result(404, "Not Found");
  }
  if (n == 2 && segs[0] == "search") return search(req, data, segs[1]);
  return error_result(404, "Not Found");
}

}  // namespace

std::string error_json(unsigned status, std::string_view message, std::string_view documentation_url) {
  return json::serialize(json::object{{"message", message},
                                      {"documentation_url", documentation_url},
                                      {"status", std::to_string(status)}});
}

route_result error_result(unsigned status, std::string_view message, std::string_view documentation_url) {
  route_result r;
  r.status = status;
  r.body = error_json(status, message, documentation_url);
  r.validator = validator_kind::none;
  r.cache = cache_policy::none;
  r.vary = vary_policy::encoding_only;
  r.accepted_scopes = "";
  return r;
}

route_result route(const route_request& req, dataset& data) {
  if (req.is_graphql) return route_graphql(req);
  if (req.method == "GET") return route_get(req, data);
  if (req.method == "OPTIONS") {
    // CORS preflight (docs/github-api.md §9).
    route_result r;
    r.status = 204;
    r.content_type = {};
    r.media_type = {};
    r.validator = validator_kind::none;
    r.cache = cache_policy::none;
    r.vary = vary_policy::encoding_only;
    r.pretty_printable = false;
    r.free = true;
    r.extra_headers = {{"Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE"},
                       {"Access-Control-Max-Age", "86400"}};
    return r;
  }
  const segments_t& segs = req.segments;
  if (segs.size() >= 3 && segs[0] == "repos" && segs[1] == data::org_login && segs[2] == "old-name")
    return renamed_repo(req, segs);
  return route_write(req, data);
}

}  // namespace fake_github
