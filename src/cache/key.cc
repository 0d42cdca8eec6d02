#include "github_proxy/cache/key.h"

#include <algorithm>
#include <array>
#include <vector>

#include <boost/url/grammar/hexdig_chars.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "common/sha256.h"
#include "common/http_fields.h"

namespace github_proxy::cache {

using common::sha256_hasher;
using common::sha256_hex;
namespace {

namespace urls = boost::urls;

constexpr auto path_chars = urls::pchars + '/';
constexpr auto query_chars = urls::pchars + '/' + '?';
constexpr std::size_t readable_prefix_bytes = 180;

constexpr std::array<std::string_view, 7> credential_like_names = {
    "access_token", "client_secret", "token", "password", "secret", "sig", "signature"};

void append_escape(std::string& out, unsigned char byte) {
  static constexpr char digits[] = "0123456789ABCDEF";
  out.push_back('%');
  out.push_back(digits[byte >> 4]);
  out.push_back(digits[byte & 0x0f]);
}

// RFC 3986 §6.2.2: decode escapes of unreserved characters, upper-case the
// hex of the others, escape bytes not allowed literally (`allowed`), and
// escape a '%' that does not start a valid triplet.
template <class CharSet>
std::string normalize_pct(std::string_view in, const CharSet& allowed) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      const auto hi = urls::grammar::hexdig_value(in[i + 1]);
      const auto lo = urls::grammar::hexdig_value(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        const auto byte = static_cast<unsigned char>(hi * 16 + lo);
        if (urls::unreserved_chars(static_cast<char>(byte))) out.push_back(static_cast<char>(byte));
        else append_escape(out, byte);
        i += 2;
        continue;
      }
    }
    if (c != '%' && allowed(c)) out.push_back(c);
    else append_escape(out, static_cast<unsigned char>(c));
  }
  return out;
}

// For header values in a key: no spaces or controls, and '%' escaped so the
// escaping stays reversible.
std::string escape_header_value(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (const char c : in) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f || c == '%') append_escape(out, byte);
    else out.push_back(c);
  }
  return out;
}

using common::trim;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Splits on `separator` outside double-quoted strings (RFC 9110 §5.6.4).
std::vector<std::string_view> split_unquoted(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (quoted && s[i] == '\\') ++i;
    else if (s[i] == '"') quoted = !quoted;
    else if (!quoted && s[i] == separator) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(s.substr(std::min(start, s.size())));
  return parts;
}

bool credential_like(urls::pct_string_view key) {
  const std::string name = lower(key.decode());
  return std::find(credential_like_names.begin(), credential_like_names.end(), name) !=
         credential_like_names.end();
}

struct query_parts {
  std::string text;
  bool credential_like = false;
};

query_parts canonicalize_query(std::string_view raw_query) {
  query_parts out;
  // Normalised first, the query is valid RFC 3986 syntax, so parsing succeeds.
  const std::string normalized = normalize_pct(raw_query, query_chars);
  const auto params = urls::parse_query(normalized);
  if (!params) {
    out.text = normalized;  // not reached for normalised input; kept unsorted
    return out;
  }
  struct param {
    std::string_view key;
    std::string_view whole;  // "key" or "key=value", as normalised
  };
  std::vector<param> sorted;
  for (const auto p : *params) {
    if (p.key.empty() && !p.has_value) continue;  // "a=1&&b=2"
    const auto* begin = p.key.data();
    const auto* end = p.has_value ? p.value.data() + p.value.size() : p.key.data() + p.key.size();
    sorted.push_back({std::string_view(p.key.data(), p.key.size()),
                      std::string_view(begin, static_cast<std::size_t>(end - begin))});
    if (credential_like(p.key)) out.credential_like = true;
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const param& a, const param& b) { return a.key < b.key; });
  for (const auto& p : sorted) {
    if (!out.text.empty()) out.text.push_back('&');
    out.text.append(p.whole);
  }
  return out;
}

std::string_view encoding_name(body_encoding e) { return e == body_encoding::gzip ? "gzip" : "identity"; }

std::string_view method_name(method_class m) {
  switch (m) {
    case method_class::get:
      return "GET";
  }
  return "?";
}

}  // namespace

std::string canonical_path(std::string_view path) {
  if (path.empty()) return "/";
  return normalize_pct(path, path_chars);
}

std::string canonical_query(std::string_view raw_query) { return canonicalize_query(raw_query).text; }

std::string canonical_accept(std::string_view accept) {
  std::string out;
  for (auto range : split_unquoted(accept, ',')) {
    const auto params = split_unquoted(range, ';');
    const auto media_type = trim(params.front());
    if (media_type.empty()) continue;
    if (!out.empty()) out.push_back(',');
    out += lower(media_type);
    for (std::size_t i = 1; i < params.size(); ++i) {
      const auto param = trim(params[i]);
      if (param.empty()) continue;
      const auto eq = param.find('=');
      out.push_back(';');
      out += lower(trim(param.substr(0, eq)));
      if (eq != std::string_view::npos) {
        out.push_back('=');
        out += trim(param.substr(eq + 1));  // values keep their case (quoted strings may matter)
      }
    }
  }
  return out.empty() ? std::string("*/*") : out;
}

std::string cache_key(method_class method, std::string_view path, std::string_view raw_query,
                      std::string_view accept, std::string_view api_version, body_encoding stored) {
  const auto query = canonicalize_query(raw_query);
  std::string key = "gh1 ";
  key += method_name(method);
  key.push_back(' ');
  key += encoding_name(stored);
  key.push_back(' ');
  key += canonical_path(path);
  const std::size_t before_query = key.size();
  if (!query.text.empty()) {
    key.push_back('?');
    key += query.text;
  }
  key += " accept=";
  key += escape_header_value(canonical_accept(accept));
  key += " api=";
  key += escape_header_value(trim(api_version));

  if (!query.credential_like && key.size() <= max_cache_key_bytes) return key;
  std::string hashed =
      key.substr(0, std::min(query.credential_like ? before_query : key.size(), readable_prefix_bytes));
  hashed += " #";
  hashed += sha256_hex(key);
  return hashed;
}

}  // namespace github_proxy::cache
