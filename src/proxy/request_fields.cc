#include "proxy/request_fields.h"

#include <array>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/url/parse_query.hpp>

#include "common/http_fields.h"

namespace github_proxy::proxy {

namespace http = boost::beast::http;

namespace {

// End-to-end fields the cache key (cache::cache_key) or GitHub's ETag is
// built from: never allowed to become hop-by-hop.
constexpr std::array<std::string_view, 3> keyed_fields = {"accept", "accept-encoding", "x-github-api-version"};

// Fields some servers (Rails, GitHub's among them) read as the real method.
constexpr std::array<std::string_view, 3> method_override_fields = {"X-HTTP-Method-Override", "X-HTTP-Method",
                                                                    "X-Method-Override"};

// A `_method` parameter in the query (Rails' form override), in any case
// and any escaping of its name.
bool overrides_method_in_query(std::string_view target) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return false;
  const auto query = boost::urls::parse_query(target.substr(question + 1));
  if (!query) return false;  // unparseable: the path check refuses the target
  for (const auto param : *query) {
    if (boost::beast::iequals(param.key.decode(), "_method")) return true;
  }
  return false;
}

}  // namespace

std::string_view normalise_request_fields(request& req) {
  {
    const common::connection_options named(req.base());
    if (named.overflow()) return "Too many Connection options";
    for (const auto name : keyed_fields) {
      if (named.contains(name)) return "Connection must not name Accept, Accept-Encoding or X-GitHub-Api-Version";
    }
  }
  if (req.count("X-GitHub-Api-Version") > 1) return "X-GitHub-Api-Version must be sent once";
  if (overrides_method_in_query(req.target())) return "The _method query parameter is not allowed";
  // The scope was checked for the request's own method: a server that
  // honours an override would run another one.
  for (const auto name : method_override_fields) req.erase(name);
  if (req.count(http::field::accept) > 1) {
    std::string merged;
    for (auto [it, end] = req.equal_range(http::field::accept); it != end; ++it) {
      const auto value = common::trim(it->value());
      if (value.empty()) continue;
      if (!merged.empty()) merged.append(", ");
      merged.append(value);
    }
    req.set(http::field::accept, merged);
  }
  return {};
}

}  // namespace github_proxy::proxy
