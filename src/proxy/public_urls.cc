#include "proxy/public_urls.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>

#include <boost/beast/core/string.hpp>

#include "common/http_fields.h"

namespace github_proxy::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

// ---- public_base ------------------------------------------------------------

namespace {

// uri-host [ ":" port ] with nothing that could end or reshape a URL.
bool authority_ok(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' ||
           c == ']' || c == '_';
  });
}

std::string_view last_list_element(std::string_view value) {
  const auto comma = value.rfind(',');
  return common::trim(comma == std::string_view::npos ? value : value.substr(comma + 1));
}

// The last value of a field that may repeat and hold a comma list.
std::string_view last_value(const http::fields& fields, std::string_view name) {
  std::string_view last;
  for (auto [it, end] = fields.equal_range(name); it != end; ++it) last = it->value();
  return last_list_element(last);
}

std::string_view unquote(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return v.substr(1, v.size() - 2);
  return v;
}

struct forwarded_element {
  std::string_view proto;
  std::string_view host;
};

// RFC 7239 §4: the last element is the one our own peer added.
forwarded_element last_forwarded(const http::fields& fields) {
  forwarded_element out;
  const auto element = last_value(fields, "Forwarded");
  std::size_t pos = 0;
  while (pos < element.size()) {
    auto end = element.find(';', pos);
    if (end == std::string_view::npos) end = element.size();
    const auto pair = common::trim(element.substr(pos, end - pos));
    pos = end + 1;
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    const auto name = pair.substr(0, eq);
    const auto value = unquote(pair.substr(eq + 1));
    if (beast::iequals(name, "proto")) out.proto = value;
    if (beast::iequals(name, "host")) out.host = value;
  }
  return out;
}

bool scheme_ok(std::string_view s) { return beast::iequals(s, "http") || beast::iequals(s, "https"); }

url_prefix make_base(std::string_view scheme, std::string_view authority) {
  url_prefix out;
  for (char c : scheme) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  out.append("://");
  out.append(authority.begin(), authority.end());
  return out;
}

}  // namespace

url_prefix public_base(std::string_view configured, const http::fields& request, const base_inputs& in) {
  if (!configured.empty()) {
    while (configured.ends_with('/')) configured.remove_suffix(1);
    if (configured.size() <= url_prefix::static_capacity - 64) return url_prefix(configured.data(), configured.size());
  }
  std::string_view scheme = in.tls ? "https" : "http";
  std::string_view authority;
  if (in.peer_trusted) {
    const auto forwarded = last_forwarded(request);
    std::string_view proto = forwarded.proto;
    std::string_view host = forwarded.host;
    if (proto.empty()) proto = last_value(request, "X-Forwarded-Proto");
    if (host.empty()) host = last_value(request, "X-Forwarded-Host");
    if (scheme_ok(proto)) scheme = proto;
    if (authority_ok(host)) authority = host;
  }
  if (authority.empty()) {
    const auto host = request[http::field::host];
    if (authority_ok(host)) authority = host;
    else if (authority_ok(in.local_authority)) authority = in.local_authority;
    else authority = "localhost";
  }
  return make_base(scheme, authority);
}

// ---- JSON bodies ------------------------------------------------------------

api_origins origins_of(std::string_view rest_url_prefix) {
  api_origins out;
  while (rest_url_prefix.ends_with('/')) rest_url_prefix.remove_suffix(1);
  out.rest = std::string(rest_url_prefix);
  if (rest_url_prefix == "https://api.github.com") {
    out.uploads = "https://uploads.github.com";
  } else if (rest_url_prefix.ends_with("/api/v3")) {
    out.uploads = std::string(rest_url_prefix.substr(0, rest_url_prefix.size() - 3)) + "/uploads";
  }
  return out;
}


namespace {

bool ends_url_origin(char c) { return c == '/' || c == '?' || c == '#' || c == '{' || c == '"'; }

// Whether the JSON string whose text starts at `at` is one URL and nothing
// else: no space, control character or escape before its closing quote,
// within `longest_url` bytes. GitHub's hypermedia (`url`, `issues_url`,
// `_links.self`, `href`) always is; a user's "body" or "title" that starts
// with an API URL and goes on is the user's text, and stays as written.
bool whole_string_is_a_url(std::string_view json, std::size_t at) {
  const std::size_t end = std::min(json.size(), at + longest_url + 1);
  for (std::size_t i = at; i < end; ++i) {
    const auto c = static_cast<unsigned char>(json[i]);
    if (c == '"') return true;
    if (c == '\\' || c <= ' ') return false;
  }
  return false;  // longer than any URL, or cut off: not rewritten
}

// Whether `origin` starts at `at` as the whole beginning of a URL string.
bool origin_at(std::string_view json, std::size_t at, std::string_view origin) {
  if (origin.empty() || at + origin.size() >= json.size()) return false;  // nothing follows: not a JSON string
  if (json.compare(at, origin.size(), origin) != 0) return false;
  // An opening quote, not an escaped one inside a string (`\"https://…`).
  const bool opens_string = json[at - 1] == '"' && (at < 2 || json[at - 2] != '\\');
  return opens_string && ends_url_origin(json[at + origin.size()]) && whole_string_is_a_url(json, at);
}

}  // namespace

bool find_api_urls(std::string_view json, const api_origins& origins, url_cuts& out, std::size_t from) {
  if (json.size() >= std::numeric_limits<std::uint32_t>::max()) return false;
  // One scan for what both origins begin with ("https://" at least, the
  // whole host for a GHES): each hit is then one origin, the other or none,
  // and the cuts come out in order.
  const std::string_view rest = origins.rest, uploads = origins.uploads;
  std::string_view start = rest.empty() ? uploads : rest;
  if (!rest.empty() && !uploads.empty()) {
    const auto differ = std::mismatch(rest.begin(), rest.end(), uploads.begin(), uploads.end());
    start = rest.substr(0, static_cast<std::size_t>(differ.first - rest.begin()));
  }
  // (origins_of's origins share "https://" at least; an empty start would
  // visit every offset, slowly but rightly.)
  // The longer first: should one origin begin the other, the URL is the
  // longer one's.
  const bool uploads_first = uploads.size() > rest.size();
  const char* base = json.data();
  std::size_t pos = std::max<std::size_t>(from, 1);
  while (pos + start.size() < json.size()) {
    const void* hit = ::memmem(base + pos, json.size() - pos, start.data(), start.size());
    if (!hit) break;
    const auto at = static_cast<std::size_t>(static_cast<const char*>(hit) - base);
    if (origin_at(json, at, uploads_first ? uploads : rest)) {
      out.push_back({static_cast<std::uint32_t>(at), uploads_first});
    } else if (origin_at(json, at, uploads_first ? rest : uploads)) {
      out.push_back({static_cast<std::uint32_t>(at), !uploads_first});
    }
    pos = at + 1;
  }
  return true;
}

std::size_t rewritten_size(std::size_t size, const url_cuts& cuts, const api_origins& origins,
                           const url_replacements& to) {
  for (const auto& cut : cuts) {
    size -= cut.uploads ? origins.uploads.size() : origins.rest.size();
    size += cut.uploads ? to.uploads.size() : to.rest.size();
  }
  return size;
}

bool rewrite_api_urls_in_place(std::string& json, const api_origins& origins, const url_replacements& to) {
  url_cuts cuts;
  if (!find_api_urls(json, origins, cuts) || cuts.empty()) return false;
  std::string out;
  out.reserve(rewritten_size(json.size(), cuts, origins, to));
  for_each_piece(json, cuts, origins, to, [&](std::string_view piece) { out.append(piece); });
  json = std::move(out);
  return true;
}

std::string rewrite_api_urls(std::string_view json, const api_origins& origins, const url_replacements& to) {
  std::string out(json);
  rewrite_api_urls_in_place(out, origins, to);
  return out;
}

streaming_url_rewriter::streaming_url_rewriter(const api_origins& origins, url_replacements to)
    : origins_(origins), to_(to) {
  // A URL is decided once its opening quote and its closing quote (or
  // longest_url bytes) have come: hold back that many.
  hold_ = std::max(origins.rest.size(), origins.uploads.size()) + longest_url + 2;
}

void streaming_url_rewriter::emit(std::string_view text, bool final, std::string& out) {
  // `window` = the last bytes already sent (an opening quote) +
  // what is pending + the new piece; only the part after `behind` is sent.
  const std::size_t behind = behind_.size();
  std::string window = std::move(behind_);
  window.append(text);
  url_cuts cuts;
  find_api_urls(window, origins_, cuts, behind);
  // Without the end of the body, the last hold_ bytes may start a URL not
  // yet decidable: keep them (but never split a URL already found).
  std::size_t keep_from = window.size();
  if (!final) keep_from = std::max(behind, window.size() > hold_ ? window.size() - hold_ : 0);
  std::size_t pos = behind;
  for (const auto& cut : cuts) {
    if (cut.at - 1 >= keep_from) break;  // its quote is in the held-back bytes
    rewrote_ = true;
    out.append(std::string_view(window).substr(pos, cut.at - pos));
    out.append(cut.uploads ? to_.uploads : to_.rest);
    pos = cut.at + (cut.uploads ? origins_.uploads.size() : origins_.rest.size());
  }
  keep_from = std::max(keep_from, pos);
  out.append(std::string_view(window).substr(pos, keep_from - pos));
  pending_.assign(std::string_view(window).substr(keep_from));
  // The look-behind: what was sent last (the opening quote of a URL that
  // starts the next piece).
  const std::size_t sent_from = keep_from > look_behind ? keep_from - look_behind : 0;
  behind_.assign(std::string_view(window).substr(sent_from, keep_from - sent_from));
}

void streaming_url_rewriter::feed(std::string_view piece, std::string& out) {
  if (pending_.empty()) {
    emit(piece, false, out);
    return;
  }
  std::string joined = std::move(pending_);
  joined.append(piece);
  emit(joined, false, out);
}

void streaming_url_rewriter::finish(std::string& out) {
  std::string rest = std::move(pending_);
  pending_.clear();
  emit(rest, true, out);
}

// ---- Link and Location ------------------------------------------------------

namespace {

// The path's first `n` segments ("/a/b/c", 2 → "/a/b"); empty when fewer.
std::string_view leading_segments(std::string_view path, std::size_t n) {
  std::size_t pos = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (pos >= path.size() || path[pos] != '/') return {};
    const auto next = path.find('/', pos + 1);
    const auto end = next == std::string_view::npos ? path.size() : next;
    if (end == pos + 1) return {};  // an empty segment
    pos = end;
  }
  return path.substr(0, pos);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "/repositories/42" of "/repositories/42/issues": GitHub's id forms, with
// how many leading segments the name form spends on the same account.
std::size_t id_form_length(std::string_view path, std::size_t& name_segments, std::string_view& name_root) {
  const auto two = leading_segments(path, 2);
  if (two.empty()) return 0;
  const auto slash = two.find('/', 1);
  const auto root = two.substr(1, slash - 1);
  if (!all_digits(two.substr(slash + 1))) return 0;
  if (root == "repositories") {
    name_segments = 3;
    name_root = "repos";
  } else if (root == "organizations") {
    name_segments = 2;
    name_root = "orgs";
  } else if (root == "user") {
    name_segments = 2;
    name_root = "users";
  } else {
    return 0;
  }
  return two.size();
}

}  // namespace

std::optional<std::string_view> name_form(std::string_view link_path, std::string_view request_path) {
  if (link_path == request_path) return request_path;
  std::size_t name_segments = 0;
  std::string_view name_root;
  const auto id_length = id_form_length(link_path, name_segments, name_root);
  if (id_length == 0) return std::nullopt;
  const auto named = leading_segments(request_path, name_segments);
  if (named.empty() || named.substr(1, name_root.size()) != name_root || named[name_root.size() + 1] != '/') {
    return std::nullopt;
  }
  if (link_path.substr(id_length) != request_path.substr(named.size())) return std::nullopt;
  return request_path;
}

namespace {

// The client's form of one URL on the REST origin; nullopt for a URL
// elsewhere.
std::optional<std::string> client_url(std::string_view url, std::string_view rest_origin,
                                      std::string_view public_prefix, std::string_view request_path) {
  if (rest_origin.empty() || !url.starts_with(rest_origin)) return std::nullopt;
  auto rest = url.substr(rest_origin.size());
  if (!rest.empty() && rest.front() != '/' && rest.front() != '?') return std::nullopt;
  const auto query_at = rest.find('?');
  const auto path = rest.substr(0, query_at);
  std::string out(public_prefix);
  if (!request_path.empty()) {
    if (const auto named = name_form(path, request_path)) {
      out.append(*named);
      if (query_at != std::string_view::npos) out.append(rest.substr(query_at));
      return out;
    }
  }
  out.append(rest);
  return out;
}

}  // namespace

std::string rewrite_link(std::string_view link, std::string_view rest_origin, std::string_view public_prefix,
                         std::string_view request_path) {
  // Link = #link-value; link-value = "<" URI-Reference ">" *( ";" link-param )
  // (RFC 8288 §3). Only the URI between angle brackets changes.
  std::string out;
  out.reserve(link.size() + 64);
  std::size_t pos = 0;
  while (pos < link.size()) {
    const auto open = link.find('<', pos);
    if (open == std::string_view::npos) break;
    const auto close = link.find('>', open + 1);
    if (close == std::string_view::npos) break;
    // The parameters run to the next ',' outside a quoted string.
    std::size_t end = close + 1;
    bool quoted = false;
    for (; end < link.size(); ++end) {
      const char c = link[end];
      if (quoted) {
        if (c == '\\') ++end;
        else if (c == '"') quoted = false;
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        break;
      }
    }
    end = std::min(end, link.size());
    const auto url = client_url(link.substr(open + 1, close - open - 1), rest_origin, public_prefix, request_path);
    if (url) {
      if (!out.empty()) out.append(", ");
      out.push_back('<');
      out.append(*url);
      out.append(common::trim(link.substr(close, end - close)));
    }
    pos = end + 1;
  }
  return out;
}

std::string rewrite_location(std::string_view location, std::string_view rest_origin,
                             std::string_view public_prefix) {
  if (auto url = client_url(location, rest_origin, public_prefix, {})) return std::move(*url);
  return std::string(location);
}

}  // namespace github_proxy::proxy
