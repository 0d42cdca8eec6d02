#include "common/http_fields.h"

#include <algorithm>
#include <array>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>

namespace github_proxy::common {

namespace http = boost::beast::http;
using boost::beast::iequals;

namespace {

constexpr std::array<std::string_view, 9> hop_by_hop_fields = {
    "connection", "keep-alive",  "proxy-connection", "proxy-authenticate", "proxy-authorization",
    "te",         "trailer",     "transfer-encoding", "upgrade"};

// A qvalue of zero ("0", "0.", "0.000"): RFC 9110 §12.4.2.
bool zero_qvalue(std::string_view q) {
  q = trim(q);
  return !q.empty() && q.front() == '0' && q.find_first_not_of("0.") == std::string_view::npos;
}

}  // namespace

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

bool is_hop_by_hop(std::string_view name) {
  return std::any_of(hop_by_hop_fields.begin(), hop_by_hop_fields.end(),
                     [&](std::string_view f) { return iequals(f, name); });
}

connection_options::connection_options(const http::fields& fields) {
  for (auto [it, end] = fields.equal_range(http::field::connection); it != end; ++it) {
    for (auto token : http::token_list(it->value())) {
      const std::string_view name(token.data(), token.size());
      if (contains(name)) continue;
      if (names_.size() == max_options) {
        overflow_ = true;
        return;
      }
      names_.push_back(name);
    }
  }
}

bool connection_options::contains(std::string_view name) const {
  // At most max_options names, almost always one or two ("close",
  // "keep-alive"): a linear scan beats any set at this size.
  return std::any_of(names_.begin(), names_.end(), [&](std::string_view n) { return iequals(n, name); });
}

bool media_type_is(std::string_view content_type, std::string_view type) {
  return iequals(trim(content_type.substr(0, content_type.find(';'))), type);
}

bool accepts_gzip(std::string_view accept_encoding) {
  for (const auto& coding : http::ext_list(accept_encoding)) {
    const std::string_view name(coding.first.data(), coding.first.size());
    if (!iequals(name, "gzip") && !iequals(name, "x-gzip")) continue;
    for (const auto& param : coding.second) {
      const std::string_view key(param.first.data(), param.first.size());
      if (iequals(key, "q")) return !zero_qvalue(std::string_view(param.second.data(), param.second.size()));
    }
    return true;
  }
  return false;
}

bool is_json_media_type(std::string_view content_type) {
  auto type = trim(content_type.substr(0, content_type.find(';')));
  const auto slash = type.find('/');
  if (slash == std::string_view::npos) return false;
  const auto subtype = type.substr(slash + 1);
  return iequals(type.substr(0, slash), "application") &&
         (iequals(subtype, "json") ||
          (subtype.size() > 5 && iequals(subtype.substr(subtype.size() - 5), "+json")));
}

}  // namespace github_proxy::common
