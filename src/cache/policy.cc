#include "github_proxy/cache/policy.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>
#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include "cache/gzip.h"
#include "common/http_date.h"
#include "common/http_fields.h"

namespace github_proxy::cache {

namespace http = boost::beast::http;
using boost::beast::iequals;

namespace {

// Inflating a stored body to derive an ETag is bounded like any buffer.
constexpr std::size_t max_uncompressed_body = 256ull * 1024 * 1024;

// Describe the stored body or the credential that fetched it: a 304 never
// replaces them (docs/github-api.md §1.5: GitHub's 304s do not carry them anyway).
constexpr std::array<std::string_view, 7> kept_from_entry = {
    "content-type",        "content-length", "content-encoding",       "content-range",
    "x-github-media-type", "x-oauth-scopes", "x-accepted-oauth-scopes"};

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::any_of(names.begin(), names.end(), [&](std::string_view n) { return iequals(n, name); });
}

using common::trim;

// Hop-by-hop fields, including those named in Connection (RFC 9110 §7.6.1).
class hop_by_hop {
 public:
  explicit hop_by_hop(const http::fields& fields) : named_(fields) {}
  bool operator()(std::string_view name) const { return named_.hop_by_hop(name); }

 private:
  common::connection_options named_;
};

// A Cache-Control directive by name (RFC 9111 §5.2), on any of the lines.
bool has_directive(const http::fields& fields, std::string_view directive) {
  for (auto [it, end] = fields.equal_range(http::field::cache_control); it != end; ++it) {
    std::string_view rest = it->value();
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const auto item = trim(rest.substr(0, comma));
      if (iequals(trim(item.substr(0, item.find('='))), directive)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

bool has_segment_prefix(std::string_view path, std::string_view prefix) {
  return path.size() >= prefix.size() && iequals(path.substr(0, prefix.size()), prefix) &&
         (path.size() == prefix.size() || path[prefix.size()] == '/');
}

bool sha256_etag(std::string_view etag) {
  const auto opaque = etag_opaque(etag);
  return opaque.size() == 64 && std::all_of(opaque.begin(), opaque.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

std::string_view to_string(bypass_reason reason) {
  switch (reason) {
    case bypass_reason::none: return "none";
    case bypass_reason::method: return "method";
    case bypass_reason::graphql: return "graphql";
    case bypass_reason::rate_limit: return "rate_limit";
    case bypass_reason::search: return "search";
    case bypass_reason::range: return "range";
    case bypass_reason::request_varies: return "request_varies";
    case bypass_reason::request_no_store: return "request_no_store";
    case bypass_reason::head: return "head";
  }
  return "unknown";
}

request_verdict request_cacheability(std::string_view method, std::string_view path_without_prefix,
                                     const http::fields& request) {
  const auto uncacheable = [](bypass_reason reason) { return request_verdict{false, false, reason}; };
  if (method != "GET" && method != "HEAD") return uncacheable(bypass_reason::method);

  const std::string path = canonical_path(path_without_prefix.substr(0, path_without_prefix.find('?')));
  if (has_segment_prefix(path, "/graphql")) return uncacheable(bypass_reason::graphql);
  if (has_segment_prefix(path, "/rate_limit")) return uncacheable(bypass_reason::rate_limit);
  if (has_segment_prefix(path, "/search")) return uncacheable(bypass_reason::search);
  if (request.count(http::field::range) != 0) return uncacheable(bypass_reason::range);
  if (request.count(http::field::cookie) != 0 || request.count("X-GitHub-OTP") != 0 ||
      request.count("X-Requested-With") != 0)
    return uncacheable(bypass_reason::request_varies);

  if (method == "HEAD") return {true, false, bypass_reason::head};
  if (has_directive(request, "no-store")) return {true, false, bypass_reason::request_no_store};
  return {true, true, bypass_reason::none};
}

bool response_storable(unsigned status, const http::fields& response, std::size_t body_size,
                       std::size_t max_object_bytes) {
  if (status != 200) return false;
  if (body_size > max_object_bytes || body_size > max_entry_body_bytes) return false;
  if (trim(response[http::field::etag]).empty() && trim(response[http::field::last_modified]).empty())
    return false;
  if (has_directive(response, "no-store")) return false;
  // A Vary the key does not cover would serve one client's variant to another.
  if (response.count(http::field::set_cookie) != 0) return false;
  if (const auto vary = parse_vary(response); vary.any || vary.other) return false;

  std::size_t codings = 0;
  for (auto [it, end] = response.equal_range(http::field::content_encoding); it != end; ++it) {
    for (auto coding : http::token_list(it->value())) {
      if (!iequals(coding, "gzip") && !iequals(coding, "identity")) return false;
      if (iequals(coding, "gzip")) ++codings;
    }
  }
  if (codings > 1) return false;  // gzip applied twice: not worth decoding

  std::size_t fields = 0;
  for (const auto& field : response) {
    if (field.name_string().size() > max_entry_field_bytes || field.value().size() > max_entry_field_bytes)
      return false;
    ++fields;
  }
  return fields <= max_entry_headers;
}

entry make_entry(unsigned status, const http::fields& response, std::string body,
                 std::string_view credential_name, std::string_view credential_authorization,
                 std::string_view accept_sent, std::chrono::system_clock::time_point now) {
  entry e;
  e.status = status;
  const hop_by_hop connection_specific(response);
  for (const auto& field : response) {
    const auto name = field.name_string();
    if (connection_specific(name) || field.name() == http::field::set_cookie) continue;
    e.headers.emplace_back(name, field.value());
  }
  e.body = std::move(body);
  for (auto [it, end] = response.equal_range(http::field::content_encoding); it != end; ++it)
    for (auto coding : http::token_list(it->value()))
      if (iequals(coding, "gzip")) e.encoding = body_encoding::gzip;
  e.etag = trim(response[http::field::etag]);
  e.last_modified = trim(response[http::field::last_modified]);
  e.credential = credential_name;
  e.authorization_fingerprint = authorization_fingerprint(credential_authorization);
  e.accept = accept_sent;
  const auto vary = parse_vary(response);
  e.vary_accept = vary.accept || vary.any;
  e.vary_authorization = vary.authorization || vary.any;
  e.stored_at = now;
  return e;
}

bool keep_json_inflated(entry& e, std::size_t max_body_bytes) {
  if (e.encoding != body_encoding::gzip) return false;
  const auto content_type = std::find_if(e.headers.begin(), e.headers.end(),
                                         [](const auto& h) { return iequals(h.first, "content-type"); });
  if (content_type == e.headers.end()) return false;
  if (!common::is_json_media_type(content_type->second)) return false;
  std::string inflated;
  const bool ok = gunzip_to(e.body, max_body_bytes, [&](std::string_view piece) { inflated.append(piece); });
  if (!ok) return false;
  e.body = std::move(inflated);
  e.encoding = body_encoding::identity;
  std::erase_if(e.headers, [](const auto& h) {
    return iequals(h.first, "content-encoding") || iequals(h.first, "content-length");
  });
  return true;
}

revalidation revalidation_plan(const entry& e, std::string_view credential_name,
                               std::string_view credential_authorization_header) {
  revalidation plan;
  const bool same_token =
      e.credential == credential_name &&
      (e.authorization_fingerprint.empty() ||
       e.authorization_fingerprint == authorization_fingerprint(credential_authorization_header));
  if (!e.etag.empty()) {
    if (same_token || !sha256_etag(e.etag)) {
      plan.if_none_match = e.etag;
    } else {
      vary_inputs vary;
      vary.accept = e.vary_accept;
      vary.authorization = e.vary_authorization;
      // A gzip body is inflated piece by piece into the hash: a revalidation
      // never holds the inflated body.
      auto derived = derive_etag(e.accept, credential_authorization_header, {}, vary, [&](const body_sink& sink) {
        if (e.encoding == body_encoding::identity) {
          sink(e.body);
          return true;
        }
        return gunzip_to(e.body, max_uncompressed_body, sink);
      });
      if (derived) {
        plan.if_none_match = std::move(*derived);
        plan.derived = true;
      }
    }
  }
  if (!e.last_modified.empty() && (!same_token || plan.if_none_match.empty()))
    plan.if_modified_since = e.last_modified;
  return plan;
}

namespace {

// Header names as small integers: every line of one name, in any case, gets
// the same id, so that the merge below compares integers. The cheap
// signature (length, first and last letter) spares most case-insensitive
// compares.
class name_ids {
 public:
  std::size_t id(std::string_view name) {
    const auto sig = signature(name);
    for (std::size_t i = 0; i < names_.size(); ++i)
      if (signatures_[i] == sig && iequals(names_[i], name)) return i;
    names_.push_back(name);
    signatures_.push_back(sig);
    return names_.size() - 1;
  }
  std::size_t size() const { return names_.size(); }

 private:
  static std::uint32_t signature(std::string_view name) {
    if (name.empty()) return 0;
    const auto lower = [](char c) { return static_cast<std::uint32_t>(std::tolower(static_cast<unsigned char>(c))); };
    return static_cast<std::uint32_t>(name.size()) << 16 | lower(name.front()) << 8 | lower(name.back());
  }
  boost::container::small_vector<std::string_view, 64> names_;
  boost::container::small_vector<std::uint32_t, 64> signatures_;
};

}  // namespace

void merged_not_modified_lines(const entry& e, const http::fields& not_modified, header_lines& out) {
  // The 304's lines that replace stored ones, in its order. Header sets are
  // ~30 lines: views and integer ids, nothing copied.
  const hop_by_hop connection_specific(not_modified);
  header_lines fresh;
  for (const auto& field : not_modified) {
    const auto name = field.name_string();
    if (connection_specific(name) || field.name() == http::field::set_cookie || one_of(kept_from_entry, name))
      continue;
    fresh.emplace_back(name, field.value());
  }
  using counts = boost::container::small_vector<std::size_t, 64>;
  name_ids ids;
  counts stored_id, fresh_id, fresh_nth;  // per line: its name's id; a fresh line's ordinal within its name
  for (const auto& [name, value] : e.headers) stored_id.push_back(ids.id(name));
  for (const auto& [name, value] : fresh) fresh_id.push_back(ids.id(name));
  counts stored_of(ids.size(), 0), fresh_of(ids.size(), 0);  // lines per name
  for (const auto id : stored_id) ++stored_of[id];
  for (const auto id : fresh_id) fresh_nth.push_back(fresh_of[id]++);

  out.clear();
  // In place: the k-th stored line of a name takes the k-th fresh value, or
  // goes when the 304 has fewer lines of that name.
  counts seen(ids.size(), 0);
  for (std::size_t i = 0; i < e.headers.size(); ++i) {
    const auto id = stored_id[i];
    const auto k = seen[id]++;
    if (fresh_of[id] == 0) {
      out.emplace_back(e.headers[i].first, e.headers[i].second);
      continue;
    }
    for (std::size_t j = 0; j < fresh.size(); ++j) {
      if (fresh_id[j] == id && fresh_nth[j] == k) {
        out.emplace_back(e.headers[i].first, fresh[j].second);
        break;
      }
    }
  }
  // Fresh lines beyond the stored ones are appended, grouped by name in the
  // order the names first appear in the 304.
  for (std::size_t j = 0; j < fresh.size(); ++j) {
    if (fresh_nth[j] != 0) continue;  // not the first line of its name
    const auto id = fresh_id[j];
    for (std::size_t l = j; l < fresh.size(); ++l) {
      if (fresh_id[l] == id && fresh_nth[l] >= stored_of[id]) out.emplace_back(fresh[j].first, fresh[l].second);
    }
  }
}

bool not_modified_changes_owner(const entry& e, const http::fields& not_modified, std::string_view credential_name,
                                std::string_view credential_authorization) {
  const auto etag = trim(not_modified[http::field::etag]);
  if (!etag.empty() && (etag != e.etag || credential_name != e.credential ||
                        authorization_fingerprint(credential_authorization) != e.authorization_fingerprint))
    return true;
  const auto last_modified = trim(not_modified[http::field::last_modified]);
  return !last_modified.empty() && last_modified != e.last_modified;
}

void merge_not_modified(entry& e, const http::fields& not_modified, std::string_view credential_name,
                        std::string_view credential_authorization) {
  header_lines lines;
  merged_not_modified_lines(e, not_modified, lines);
  std::vector<std::pair<std::string, std::string>> merged;  // built before `lines` (views into e) go stale
  merged.reserve(lines.size());
  for (const auto& [name, value] : lines) merged.emplace_back(name, value);
  e.headers = std::move(merged);

  const auto etag = trim(not_modified[http::field::etag]);
  if (!etag.empty()) {
    e.etag = etag;
    e.credential = credential_name;
    e.authorization_fingerprint = authorization_fingerprint(credential_authorization);
  }
  const auto last_modified = trim(not_modified[http::field::last_modified]);
  if (!last_modified.empty()) e.last_modified = last_modified;
  if (not_modified.count(http::field::vary) != 0) {
    const auto vary = parse_vary(not_modified);
    e.vary_accept = vary.accept || vary.any;
    e.vary_authorization = vary.authorization || vary.any;
  }
}

std::chrono::seconds fresh_lifetime(const entry& e) {
  // Cache-Control directives on any of its lines (RFC 9111 §5.2.2):
  // max-age and s-maxage bound the lifetime, no-cache and no-store end it.
  std::optional<std::int64_t> lifetime;
  for (const auto& [name, value] : e.headers) {
    if (!iequals(name, "cache-control")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const auto item = trim(rest.substr(0, comma));
      const auto equals = item.find('=');
      const auto directive = trim(item.substr(0, equals));
      if (iequals(directive, "no-cache") || iequals(directive, "no-store")) return std::chrono::seconds(0);
      if ((iequals(directive, "max-age") || iequals(directive, "s-maxage")) && equals != std::string_view::npos) {
        const auto digits = trim(item.substr(equals + 1));
        std::int64_t seconds = 0;
        const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), seconds);
        // A malformed value makes the response stale (RFC 9111 §4.2.1).
        if (error != std::errc{} || end != digits.data() + digits.size() || seconds < 0) {
          return std::chrono::seconds(0);
        }
        lifetime = lifetime ? std::min(*lifetime, seconds) : seconds;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return std::chrono::seconds(lifetime.value_or(0));
}

bool confirmed_within(const entry& e, std::chrono::seconds bound, std::chrono::system_clock::time_point now,
                      std::chrono::system_clock::time_point last_write) {
  const auto window = std::min(bound, fresh_lifetime(e));
  if (window.count() <= 0) return false;
  const auto confirmed = std::max(e.stored_at, e.confirmed.last());
  return confirmed > last_write && now >= confirmed && now - confirmed < window;
}

bool client_conditional_matches(std::string_view if_none_match, std::string_view if_modified_since,
                                const entry& e) {
  if (!trim(if_none_match).empty()) return if_none_match_matches(if_none_match, e.etag);
  if (trim(if_modified_since).empty() || e.last_modified.empty()) return false;
  const auto since = common::parse_http_date(if_modified_since);
  const auto modified = common::parse_http_date(e.last_modified);
  return since && modified && *modified <= *since;
}

}  // namespace github_proxy::cache
