#include "auth/path_normalizer.h"

#include <boost/beast/core/string.hpp>
#include <boost/url/decode_view.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <cctype>
#include <vector>

namespace github_proxy::auth {
namespace {

normalized_path reject(std::string reason) { return normalized_path{false, {}, std::move(reason)}; }

bool is_forbidden_byte(unsigned char c) { return c < 0x20 || c == 0x7f || c == '\\'; }

// Decodes repeatedly (bounded) to see what a segment would become behind a
// second decoder. Literal `%` that is not an escape (e.g. `100%25`) ends it.
bool hides_separator_or_dot(std::string_view segment) {
  std::string current(segment);
  for (int round = 0; round < 4 && current.find('%') != std::string::npos; ++round) {
    auto escaped = boost::urls::make_pct_string_view(current);
    if (!escaped) return false;
    std::string decoded;
    escaped->decode({}, boost::urls::string_token::assign_to(decoded));
    if (decoded == "." || decoded == ".." || decoded.find_first_of("/\\") != std::string::npos) {
      return true;
    }
    for (unsigned char c : decoded) {
      if (is_forbidden_byte(c)) return true;
    }
    current = std::move(decoded);
  }
  return false;
}

bool is_dot_with_parameters(std::string_view segment) {
  const auto semicolon = segment.find(';');
  if (semicolon == std::string_view::npos) return false;
  const std::string_view head = segment.substr(0, semicolon);
  return head == "." || head == "..";
}

void strip_prefix(std::string& path, std::string_view prefix) {
  if (path == prefix) {
    path = "/";
  } else if (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
             path[prefix.size()] == '/') {
    path.erase(0, prefix.size());
  }
}

// The first segment starts with "graphql" in any case (`/GraphQL`,
// `/graphql.json`, `/graphql;x`, `/graphql/x`).
bool names_graphql_loosely(std::string_view path) {
  constexpr std::string_view word = "/graphql";
  return path.size() >= word.size() && boost::beast::iequals(path.substr(0, word.size()), word);
}

}  // namespace

normalized_path normalize_path(std::string_view target) {
  if (target.empty() || target.front() != '/') {
    return reject("request target must be an absolute path");
  }
  const auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return reject("malformed request target");

  std::string decoded;
  parsed->encoded_path().decode({}, boost::urls::string_token::assign_to(decoded));

  std::vector<std::string_view> segments;
  std::string_view rest = decoded;
  while (!rest.empty()) {
    rest.remove_prefix(1);  // the '/' that starts every segment
    const auto next = rest.find('/');
    const std::string_view segment = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next);

    for (unsigned char c : segment) {
      if (is_forbidden_byte(c)) return reject("path contains a control character or backslash");
    }
    if (is_dot_with_parameters(segment) || hides_separator_or_dot(segment)) {
      return reject("path contains an ambiguous dot segment or encoded separator");
    }
    // The scope is decided on the path the proxy sends: GitHub's router
    // resolves nothing for us, so a dot segment (raw, or encoded, or made
    // by a decoded %2F next to dots) would be matched here as one path and
    // served there as another. Refused, as is an empty segment (`//x`)
    // inside the path; a trailing slash is harmless.
    if (segment == "." || segment == "..") return reject("path contains a dot segment");
    if (segment.empty()) {
      if (rest.empty()) continue;  // a trailing slash
      return reject("path contains an empty segment");
    }
    segments.push_back(segment);
  }

  std::string path;
  path.reserve(decoded.size());
  for (const auto segment : segments) {
    path.push_back('/');
    path.append(segment);
  }
  if (path.empty()) path = "/";

  // GHES layout (docs/github-api.md §6): /api/v3/... is the REST root and
  // /api/graphql the GraphQL endpoint.
  if (path == "/api/graphql") {
    path = std::string(graphql_path);
  } else {
    strip_prefix(path, "/api/v3");
  }
  // GraphQL has exactly one spelling here. GitHub's router may take
  // `/graphql.json` or `/GraphQL` for the GraphQL endpoint too, which the
  // scopes (and the proxy's routing) would treat as a REST path.
  const bool loose = names_graphql_loosely(path) ||
                    (path.rfind("/api/", 0) == 0 && names_graphql_loosely(std::string_view(path).substr(4)));
  if (loose && path != graphql_path) return reject("non-canonical GraphQL path");
  return normalized_path{true, std::move(path), {}};
}

std::size_t account_segments(std::string_view path) {
  if (path.starts_with("/repos/")) return 2;
  if (path.starts_with("/orgs/") || path.starts_with("/users/")) return 1;
  return 0;
}

std::string scope_path(std::string_view normalized) {
  std::string out(normalized);
  const std::size_t folded_segments = account_segments(out);
  std::size_t i = out.find('/', 1);  // the end of the first segment
  for (std::size_t n = 0; n < folded_segments && i != std::string::npos; ++n) {
    std::size_t end = out.find('/', i + 1);
    if (end == std::string::npos) end = out.size();
    for (std::size_t k = i + 1; k < end; ++k) {
      out[k] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[k])));
    }
    i = end < out.size() ? end : std::string::npos;
  }
  return out;
}

}  // namespace github_proxy::auth
