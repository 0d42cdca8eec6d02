// Writes (POST/PUT/PATCH/DELETE) and GraphQL. Every write answer echoes the
// received body's length and SHA-256 so tests can check bodies are forwarded
// byte for byte.
#include <boost/json.hpp>

#include "body_codec.h"
#include "dataset_json.h"
#include "routes.h"

namespace fake_github {
namespace json = boost::json;
namespace {

void add_echo(json::object& obj, const route_request& req) {
  obj["fake_body_length"] = req.body.size();
  obj["fake_body_sha256"] = sha256_hex(req.body);
}

std::string path_of(const route_request& req) {
  std::string out;
  for (const auto& s : req.segments) {
    out += '/';
    out += s;
  }
  return out.empty() ? "/" : out;
}

route_result created_issue(const route_request& req, dataset& data, int repo) {
  int number = data.create_issue_number(repo);
  json::value issue = json::parse(data::issue_json(repo, number, 0));
  boost::system::error_code ec;
  json::value sent = json::parse(req.body, ec);
  if (!ec && sent.is_object()) {
    if (auto* title = sent.as_object().if_contains("title"); title && title->is_string())
      issue.as_object()["title"] = *title;
    if (auto* body = sent.as_object().if_contains("body"); body && body->is_string())
      issue.as_object()["body"] = *body;
  }
  add_echo(issue.as_object(), req);
  route_result r;
  r.status = 201;
  r.body = json::serialize(issue);
  r.location = std::string(req.base) + "/repos/" + std::string(data::org_login) + "/" +
               data::repo_name(repo) + "/issues/" + std::to_string(number);
  return r;
}

}  // namespace

route_result route_write(const route_request& req, dataset& data) {
  const auto& segs = req.segments;
  if (req.method == "POST" && segs.size() == 4 && segs[0] == "repos" && segs[3] == "issues") {
    if (auto repo = data.find_repo(segs[1], segs[2])) return created_issue(req, data, *repo);
    return error_result(404, "Not Found");
  }
  if (req.method == "DELETE") {
    route_result r;
    r.status = 204;
    r.content_type = {};
    r.media_type = {};
    r.validator = validator_kind::none;
    r.vary = vary_policy::encoding_only;
    r.pretty_printable = false;
    return r;
  }
  if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    json::object echo{{"method", req.method}, {"path", path_of(req)}};
    add_echo(echo, req);
    route_result r;
    r.body = json::serialize(echo);
    return r;
  }
  return error_result(404, "Not Found");
}

route_result route_graphql(const route_request& req) {
  constexpr std::string_view doc = "https://docs.github.com/graphql";
  if (!req.who.authenticated)
    return error_result(401, "This endpoint requires you to be authenticated.",
                        "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql");
  route_result r;
  r.media_type = "github.v4; format=json";
  r.validator = validator_kind::none;
  r.cache = cache_policy::none;
  r.vary = vary_policy::encoding_only;
  if (req.method == "GET") {  // introspection is the one GET (docs/github-api.md §4)
    r.body = R"({"data":{"__schema":{"queryType":{"name":"Query"}}}})";
    return r;
  }
  if (req.method != "POST") return error_result(404, "Not Found", doc);
  boost::system::error_code ec;
  json::value sent = json::parse(req.body, ec);
  if (ec || !sent.is_object()) {
    route_result bad = error_result(400, "Problems parsing JSON", doc);
    bad.media_type = r.media_type;
    return bad;
  }
  const json::value* query = sent.as_object().if_contains("query");
  if (query == nullptr || !query->is_string()) {
    r.body = R"({"errors":[{"message":"A query attribute must be specified and must be a string."}]})";
    return r;
  }
  // Queries cost 1 point, mutations 5 (docs/github-api.md §3.4), unless the control API
  // set other costs.
  r.cost = graphql_document_is_mutation(query->get_string()) ? req.graphql_mutation_cost
                                                             : req.graphql_query_cost;
  r.body = R"({"data":{"viewer":{"login":"octocat"}}})";
  return r;
}

bool graphql_document_is_mutation(std::string_view document) {
  return document.find("mutation") != std::string_view::npos;
}

bool graphql_request_is_mutation(std::string_view body) {
  boost::system::error_code ec;
  json::value sent = json::parse(body, ec);
  if (ec || !sent.is_object()) return false;
  const json::value* query = sent.as_object().if_contains("query");
  return query != nullptr && query->is_string() && graphql_document_is_mutation(query->get_string());
}

}  // namespace fake_github
