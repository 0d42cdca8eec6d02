#include "proxy/routing.h"

#include <algorithm>

namespace github_proxy::proxy {

namespace {

constexpr std::string_view ghes_rest_prefix = "/api/v3";
constexpr std::string_view ghes_graphql = "/api/graphql";
constexpr std::string_view graphql_path = "/graphql";
constexpr std::string_view ghes_uploads = "/api/uploads";

bool starts_with_segment(std::string_view target, std::string_view prefix) {
  if (!target.starts_with(prefix)) return false;
  if (target.size() == prefix.size()) return true;
  const char next = target[prefix.size()];
  return next == '/' || next == '?';
}

}  // namespace

bool route_target(std::string_view target, routed_path& out) {
  if (target.empty() || target.front() != '/') return false;
  out = {};
  if (starts_with_segment(target, ghes_uploads)) {
    out.client_prefix = target.substr(0, ghes_uploads.size());
    out.path_and_query = target.substr(ghes_uploads.size());
    out.uploads = true;
    return true;
  }
  if (starts_with_segment(target, ghes_graphql)) {
    out.client_prefix = target.substr(0, 4);  // "/api"
    out.path_and_query = target.substr(4);    // "/graphql…"
    out.graphql = true;
    return true;
  }
  if (starts_with_segment(target, ghes_rest_prefix)) {
    out.client_prefix = target.substr(0, ghes_rest_prefix.size());
    out.path_and_query = target.substr(ghes_rest_prefix.size());  // may be "" or "?…"
  } else {
    out.path_and_query = target;
  }
  out.graphql = starts_with_segment(out.path_and_query, graphql_path);
  return true;
}

std::string upstream_target(std::string_view base_path, std::string_view path_and_query) {
  std::string out;
  out.reserve(base_path.size() + path_and_query.size() + 1);
  out.append(base_path);
  // "/api/v3" alone (or "/api/v3?x") is the API root.
  if (path_and_query.empty() || path_and_query.front() == '?') out.push_back('/');
  out.append(path_and_query);
  return out;
}

std::string graphql_upstream_target(std::string_view graphql_base_path,
                                    std::string_view path_and_query) {
  std::string out(graphql_base_path.empty() ? graphql_path : graphql_base_path);
  out.append(path_and_query.substr(std::min(graphql_path.size(), path_and_query.size())));
  return out;
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

}  // namespace github_proxy::proxy
