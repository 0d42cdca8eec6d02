#include "conditional.h"

#include "body_codec.h"
#include "time_format.h"

namespace fake_github {

std::string compute_etag(const etag_inputs& in, std::string_view compact_body) {
  digest d(digest::algorithm::sha256);
  // Accept is always in Vary; Authorization and Cookie only on private responses.
  if (!in.accept.empty()) d.update(in.accept).update(":");
  if (in.vary_on_authorization) {
    if (!in.authorization.empty()) d.update(in.authorization).update(":");
    if (!in.cookie.empty()) d.update(in.cookie).update(":");
  }
  d.update(compact_body);
  return d.hex();
}

std::string etag_header(std::string_view hex, bool weak) {
  std::string out = weak ? "W/\"" : "\"";
  out += hex;
  out += '"';
  return out;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool if_none_match_matches(std::string_view header, std::string_view hex) {
  while (!header.empty()) {
    std::size_t comma = header.find(',');
    std::string_view tag = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    if (tag == "*") return !hex.empty();
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    // Tolerate unquoted tags, which some clients send.
    if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"') tag = tag.substr(1, tag.size() - 2);
    if (!hex.empty() && tag == hex) return true;
  }
  return false;
}

conditional_verdict evaluate_conditional(std::string_view if_none_match,
                                         std::string_view if_modified_since,
                                         std::string_view etag_hex,
                                         std::optional<std::int64_t> last_modified) {
  if (!trim(if_none_match).empty())
    return if_none_match_matches(if_none_match, etag_hex) ? conditional_verdict::not_modified
                                                          : conditional_verdict::send_full;
  if (!if_modified_since.empty() && last_modified) {
    auto since = parse_http_date(trim(if_modified_since));
    if (since && *last_modified <= *since) return conditional_verdict::not_modified;
  }
  return conditional_verdict::send_full;
}

}  // namespace fake_github
