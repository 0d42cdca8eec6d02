#include "proxy/rewriting.h"

#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "common/http_fields.h"

namespace github_proxy::proxy {

namespace http = boost::beast::http;


void copy_request_fields(const http::fields& in, http::fields& out) {
  const common::connection_options named(in);
  for (const auto& field : in) {
    switch (field.name()) {
      case http::field::host:
      case http::field::authorization:
      case http::field::user_agent:
      case http::field::expect:
      case http::field::content_length:
        continue;
      default:
        break;
    }
    const auto name = field.name_string();
    if (named.hop_by_hop(name)) continue;
    out.insert(field.name(), name, field.value());
  }
}

void strip_response_hop_by_hop(http::fields& fields) {
  const common::connection_options named(fields);
  // Erasing invalidates the views `named` holds into the Connection line:
  // collect first, erase after.
  std::vector<http::fields::const_iterator> doomed;
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if (named.hop_by_hop(it->name_string())) doomed.push_back(it);
  }
  for (auto it : doomed) fields.erase(it);
}

std::string error_body(http::status status, std::string_view message, std::string_view documentation_url) {
  boost::json::object body;
  body["message"] = message;
  body["documentation_url"] = documentation_url;
  body["status"] = std::to_string(static_cast<unsigned>(status));
  return boost::json::serialize(body);
}

std::string loggable_target(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, q + 1));
  auto query = target.substr(q + 1);
  bool in_value = false;
  for (char c : query) {
    if (c == '&') {
      in_value = false;
      out.push_back(c);
    } else if (c == '=') {
      if (!in_value) out.push_back(c);
      in_value = true;
    } else if (!in_value) {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace github_proxy::proxy
