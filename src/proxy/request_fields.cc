#include "proxy/request_fields.h"

#include <array>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/url/pct_string_view.hpp>

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

// A `_method` parameter (Rails' form override) in a query or a form body,
// in any case and any escaping of its name, with '&' or ';' between
// parameters (some servers split on both).
bool names_method_override(std::string_view params) {
  while (!params.empty()) {
    const auto end = params.find_first_of("&;");
    const auto param = params.substr(0, end);
    const auto key = param.substr(0, param.find('='));
    std::string decoded;
    if (auto escaped = boost::urls::make_pct_string_view(key)) {
      escaped->decode({}, boost::urls::string_token::assign_to(decoded));
    } else {
      decoded.assign(key);
    }
    if (boost::beast::iequals(common::trim(decoded), "_method")) return true;
    if (end == std::string_view::npos) break;
    params.remove_prefix(end + 1);
  }
  return false;
}

bool overrides_method(const request& req) {
  const auto target = req.target();
  const auto question = target.find('?');
  if (question != std::string_view::npos && names_method_override(target.substr(question + 1))) return true;
  return common::media_type_is(req[boost::beast::http::field::content_type], "application/x-www-form-urlencoded") &&
         names_method_override(req.body());
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
  if (overrides_method(req)) return "The _method parameter (a method override) is not allowed";
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
