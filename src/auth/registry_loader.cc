// Registry file (docs/contract.md §4) → registry_snapshot. Every problem is collected
// with its line, so one run of `check-registry` shows them all.

#include <spdlog/fmt/fmt.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "auth/path_normalizer.h"
#include "auth/registry_snapshot.h"
#include "auth/registry_values.h"
#include "common/yaml_stream.h"

namespace github_proxy::auth {
namespace {

using config::config_error;

constexpr std::size_t max_registry_bytes = 16 * 1024 * 1024;
// Bounds of what one load compiles (each scope is two RE2 programs): far
// above any real organisation, low enough that a reload stays short.
constexpr std::size_t max_clients = 20'000;
constexpr std::size_t max_scopes_per_client = 256;
constexpr std::size_t max_scopes = 100'000;

// Finds the first YAML alias (`*name`): an alias lets a few bytes stand for
// any number of copies of a node (clients × scopes to compile), so the
// registry refuses them. yaml-cpp's event parser sees them before any node
// is built.
class alias_finder final : public YAML::EventHandler {
 public:
  std::optional<int> line;  // 1-based line of the first alias
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    if (!line) line = mark.line + 1;
  }
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};
constexpr std::string_view standard_methods[] = {"GET",   "HEAD",   "POST",   "PUT",
                                                 "PATCH", "DELETE", "OPTIONS"};

// yaml-cpp marks are 0-based; a node without a position has line -1.
int line_of(const YAML::Node& node, int fallback = 0) {
  const int line = node.Mark().line;
  return line >= 0 ? line + 1 : fallback;
}

// The line of a mapping value. An empty value (`name:`) is marked where the
// parser stopped, on a later line: report its key's line instead.
int value_line(const YAML::Node& value, int key_line) {
  return value.IsNull() ? key_line : line_of(value, key_line);
}

// Iterates a mapping, reporting non-string and repeated keys (yaml-cpp keeps
// both copies of a repeated key; `node[key]` would silently pick one).
template <class Visit>
void for_each_entry(const YAML::Node& map, std::vector<config_error>& errors,
                    const std::string& file, Visit&& visit) {
  std::unordered_map<std::string, int> seen;
  for (const auto& entry : map) {
    const int line = line_of(entry.first);
    if (!entry.first.IsScalar()) {
      errors.push_back({file, line, "keys must be plain strings"});
      continue;
    }
    const std::string& key = entry.first.Scalar();
    const auto [it, inserted] = seen.emplace(key, line);
    if (!inserted) {
      errors.push_back(
          {file, line, fmt::format("duplicate key '{}' (first at line {})", key, it->second)});
      continue;
    }
    visit(key, entry.second, line);
  }
}

class loader {
 public:
  explicit loader(std::string file) : file_(std::move(file)) {}

  registry_load_result run(const std::string& yaml) {
    common::yaml_stream documents;
    try {
      std::istringstream in(yaml);
      YAML::Parser events(in);
      alias_finder aliases;
      // Two documents at most (common/yaml_stream.h: yaml-cpp may never
      // stop reporting documents); a second is an error anyway.
      for (int n = 0; n < 2 && events.HandleNextDocument(aliases) && !aliases.line; ++n) {
      }
      if (aliases.line) {
        error(*aliases.line, "YAML aliases (*name) are not allowed in the registry; write each entry out");
        return finish();
      }
      documents = common::load_yaml_stream(yaml);
    } catch (const YAML::Exception& e) {
      error(e.mark.line >= 0 ? e.mark.line + 1 : 0, "invalid YAML: " + e.msg);
      return finish();
    }
    if (documents.first.IsNull()) {
      error(0, "the registry is empty; expected `version: 1` and `clients:`");
      return finish();
    }
    if (documents.second_line) {
      error(*documents.second_line, "the registry must be a single YAML document");
    }
    load_root(documents.first);
    return finish();
  }

 private:
  std::size_t scopes_loaded_ = 0;

  void error(int line, std::string message) {
    result_.errors.push_back({file_, line, std::move(message)});
  }
  void warning(int line, std::string message) {
    result_.warnings.push_back({file_, line, std::move(message)});
  }

  // The value of `key` as a string, or an error naming `context` and `key`.
  std::optional<std::string> scalar(const std::string& context, const std::string& key,
                                    const YAML::Node& value, int key_line) {
    if (value.IsScalar()) return value.Scalar();
    error(value_line(value, key_line),
          value.IsNull() ? fmt::format("{}: '{}' needs a value", context, key)
                         : fmt::format("{}: '{}' must be a string", context, key));
    return std::nullopt;
  }

  void load_root(const YAML::Node& root) {
    if (!root.IsMap()) {
      error(line_of(root), "the registry must be a mapping with `version: 1` and `clients:`");
      return;
    }
    bool has_clients = false;
    for_each_entry(
        root, result_.errors, file_,
        [&](const std::string& key, const YAML::Node& value, int line) {
          if (key == "version") {
            const auto version = scalar("registry", key, value, line);
            if (version && *version != "1") {
              error(value_line(value, line),
                    fmt::format("unsupported registry version '{}'; expected 1", *version));
            }
          } else if (key == "clients") {
            has_clients = true;
            if (!value.IsSequence()) {
              error(value_line(value, line), "'clients' must be a list of clients");
              return;
            }
            if (value.size() > max_clients) {
              error(value_line(value, line), fmt::format("more than {} clients", max_clients));
              return;
            }
            for (const auto& entry : value) load_client(entry);
          } else {
            error(line, fmt::format("unknown key '{}' (expected 'version' or 'clients')", key));
          }
        });
    if (!has_clients) error(line_of(root), "missing 'clients:'");
  }

  // One client entry while it is being read.
  struct client_draft {
    client entry;
    client_rules rules;
    std::string context;  // "client 'name'", for messages
    std::optional<sha256_digest> digest;
    int token_line = 0;
    int token_keys = 0;  // `token` and `token_sha256` seen
  };

  void load_client(const YAML::Node& node) {
    const int client_line = line_of(node);
    if (!node.IsMap()) {
      error(client_line, "each client must be a mapping with 'name' and 'token_sha256'");
      return;
    }
    client_draft draft;
    draft.entry.index = snapshot_->clients.size();
    draft.entry.source_line = client_line;
    draft.token_line = client_line;
    // The name labels every other message about this client.
    const YAML::Node name_node = node["name"];
    draft.context = name_node && name_node.IsScalar()
                        ? fmt::format("client '{}'", name_node.Scalar())
                        : fmt::format("client at line {}", client_line);

    for_each_entry(node, result_.errors, file_,
                   [&](const std::string& key, const YAML::Node& value, int line) {
                     client_field(draft, key, value, line);
                   });

    const std::string& context = draft.context;
    if (!name_node) error(client_line, fmt::format("{} has no 'name'", context));
    if (draft.token_keys == 0) {
      error(client_line, fmt::format("{} has no 'token_sha256' (or legacy 'token')", context));
    } else if (draft.token_keys > 1) {
      error(draft.token_line,
            fmt::format("{} has both 'token' and 'token_sha256'; keep only token_sha256", context));
    }
    if (draft.digest) {
      const auto [it, inserted] =
          token_owners_.emplace(*draft.digest, std::make_pair(context, draft.token_line));
      if (!inserted) {
        error(draft.token_line, fmt::format("{} has the same token as {} (line {})", context,
                                            it->second.first, it->second.second));
      } else if (draft.token_keys == 1) {
        snapshot_->by_token.emplace(*draft.digest, draft.entry.index);
      }
    }
    snapshot_->clients.push_back(std::move(draft.entry));
    snapshot_->rules.push_back(std::move(draft.rules));
  }

  void client_field(client_draft& draft, const std::string& key, const YAML::Node& value,
                    int line) {
    const std::string& context = draft.context;
    if (key == "scopes") {
      draft.rules.scopes = load_scopes(context, value, line);
      return;
    }
    if (key == "graphql" || key == "method" || key == "path") {
      error(line, fmt::format("{}: '{}' belongs inside an entry of 'scopes:'", context, key));
      return;
    }
    if (key != "name" && key != "token_sha256" && key != "token" && key != "upstream_budget" &&
        key != "expires") {
      error(line, fmt::format("{}: unknown key '{}' (expected name, token_sha256, token, scopes, "
                              "upstream_budget, expires)",
                              context, key));
      return;
    }
    if (key == "token" || key == "token_sha256") {
      ++draft.token_keys;
      draft.token_line = value_line(value, line);
    }
    const auto text = scalar(context, key, value, line);
    if (!text) return;
    const int at = value_line(value, line);

    if (key == "name") {
      draft.entry.name = *text;
      if (!is_valid_client_name(*text)) {
        error(at, fmt::format("client name '{}' must match [a-z0-9_-]+", *text));
      } else if (const auto [it, inserted] = name_lines_.emplace(*text, at); !inserted) {
        error(at, fmt::format("duplicate client name '{}' (first at line {})", *text, it->second));
      }
    } else if (key == "token_sha256") {
      draft.digest = parse_sha256_hex(*text);
      if (!draft.digest) {
        error(at, fmt::format("{}: token_sha256 must be 64 hex digits, optionally prefixed "
                              "'sha256:'",
                              context));
      }
    } else if (key == "token") {
      if (text->empty()) {
        error(at, fmt::format("{}: token must not be empty", context));
        return;
      }
      // The token itself never appears in a message.
      draft.digest = sha256(*text);
      draft.entry.plaintext_token = true;
      warning(at, fmt::format("{} has a plaintext token; store only its hash as token_sha256 "
                              "(see `github-proxy hash-token`)",
                              context));
    } else if (key == "upstream_budget") {
      draft.entry.upstream_budget = parse_budget(*text);
      if (!draft.entry.upstream_budget) {
        error(at, fmt::format("{}: upstream_budget '{}' must be credits per window, like 2000/h "
                              "(s, m, h or d)",
                              context, *text));
      }
    } else if (key == "expires") {
      draft.entry.expires = parse_expiry(*text);
      if (!draft.entry.expires) {
        error(at, fmt::format("{}: expires '{}' must be a date (2027-06-30) or an RFC 3339 "
                              "timestamp",
                              context, *text));
      }
    }
  }

  std::optional<std::vector<compiled_scope>> load_scopes(const std::string& context,
                                                         const YAML::Node& value, int line) {
    if (!value.IsSequence()) {
      // A `scopes:` left empty (every entry commented out) must not turn
      // into "everything allowed".
      error(value_line(value, line),
            value.IsNull()
                ? fmt::format("{}: 'scopes' is empty; list scopes, or remove the key "
                              "to allow every request",
                              context)
                : fmt::format("{}: 'scopes' must be a list of {{method, path}}", context));
      return std::vector<compiled_scope>{};
    }
    std::vector<compiled_scope> scopes;
    if (value.size() == 0) {
      warning(value_line(value, line),
              fmt::format("{} has an empty scope list and may not send any "
                          "request",
                          context));
    }
    if (value.size() > max_scopes_per_client || scopes_loaded_ + value.size() > max_scopes) {
      error(value_line(value, line), fmt::format("{}: more than {} scopes for one client, or {} in all",
                                                 context, max_scopes_per_client, max_scopes));
      return scopes;
    }
    scopes_loaded_ += value.size();
    for (const auto& node : value) {
      if (auto scope = load_scope(context, node)) scopes.push_back(std::move(*scope));
    }
    return scopes;
  }

  std::optional<compiled_scope> load_scope(const std::string& context, const YAML::Node& node) {
    const int scope_line = line_of(node);
    if (!node.IsMap()) {
      error(scope_line,
            fmt::format("{}: each scope must be a mapping with 'method' and 'path'", context));
      return std::nullopt;
    }
    compiled_scope scope;
    scope.line = scope_line;
    bool ok = true;
    for_each_entry(
        node, result_.errors, file_,
        [&](const std::string& key, const YAML::Node& value, int line) {
          if (key == "method" || key == "path") {
            const auto pattern = scalar(context, key, value, line);
            auto compiled =
                pattern ? compile(context, key, *pattern, value_line(value, line)) : nullptr;
            if (!compiled) ok = false;
            (key == "method" ? scope.method : scope.path) = std::move(compiled);
          } else if (key == "graphql") {
            const auto policy = scalar(context, key, value, line);
            if (policy == "query") {
              scope.graphql = graphql_policy::query_only;
            } else if (policy != "any") {
              ok = false;
              if (policy) {
                error(value_line(value, line),
                      fmt::format("{}: graphql must be 'query' or 'any', not '{}'", context,
                                  *policy));
              }
            }
          } else {
            ok = false;
            error(line, fmt::format("{}: unknown scope key '{}' (expected method, path, graphql)",
                                    context, key));
          }
        });
    if (!node["method"]) error(scope_line, fmt::format("{}: scope has no 'method'", context));
    if (!node["path"]) error(scope_line, fmt::format("{}: scope has no 'path'", context));
    if (!ok || !scope.method || !scope.path) return std::nullopt;
    lint_scope(context, scope, node);
    return scope;
  }

  std::unique_ptr<const RE2> compile(const std::string& context, const std::string& key,
                                     const std::string& pattern, int line) {
    if (pattern.empty()) {
      error(line, fmt::format("{}: scope {} must not be empty", context, key));
      return nullptr;
    }
    RE2::Options options;
    options.set_log_errors(false);
    options.set_never_capture(true);
    auto re = std::make_unique<const RE2>(pattern, options);
    if (!re->ok()) {
      error(line,
            fmt::format("{}: invalid {} pattern '{}': {}", context, key, pattern, re->error()));
      return nullptr;
    }
    return re;
  }

  // Mistakes that are valid RE2 but can never do what was meant.
  // A literal upper-case letter in the owner / repository part of a
  // /repos/, /orgs/ or /users/ pattern (scope_path lower-cases those).
  static bool names_account_in_upper_case(std::string_view pattern) {
    const std::size_t segments = account_segments(pattern);
    if (segments == 0) return false;
    std::size_t start = pattern.find('/', 1) + 1;
    for (std::size_t n = 0; n < segments && start < pattern.size(); ++n) {
      const std::size_t end = std::min(pattern.find('/', start), pattern.size());
      bool escaped = false;
      for (std::size_t k = start; k < end; ++k) {
        const char c = pattern[k];
        if (escaped) {
          escaped = false;  // \S, \W and friends are classes, not letters
        } else if (c == '\\') {
          escaped = true;
        } else if (c >= 'A' && c <= 'Z') {
          return true;
        }
      }
      start = end + 1;
    }
    return false;
  }

  void lint_scope(const std::string& context, const compiled_scope& scope, const YAML::Node& node) {
    const int method_line = line_of(node["method"], scope.line);
    const int path_line = line_of(node["path"], scope.line);
    bool any_method = false;
    for (const auto method : standard_methods) {
      any_method = any_method || RE2::FullMatch(method, *scope.method);
    }
    if (!any_method) {
      warning(method_line,
              fmt::format("{}: method '{}' matches none of GET, HEAD, POST, PUT, PATCH, "
                          "DELETE, OPTIONS (methods are upper case)",
                          context, scope.method->pattern()));
    }
    const std::string& path = scope.path->pattern();
    if (path.rfind("/api/v3", 0) == 0) {
      warning(path_line, fmt::format("{}: path '{}' starts with /api/v3, which is removed before "
                                     "matching",
                                     context, path));
    } else if (std::isalnum(static_cast<unsigned char>(path.front()))) {
      warning(path_line,
              fmt::format("{}: path '{}' must match the whole path, which starts with '/'", context,
                          path));
    }
    if (names_account_in_upper_case(path)) {
      warning(path_line, fmt::format("{}: path '{}' names an owner or repository with upper-case letters; "
                                     "owner and repository names are matched in lower case (GitHub "
                                     "ignores their case), so this part never matches",
                                     context, path));
    }
    // /repositories/{id}/… names a repository by id: a scope that matches
    // it for any id grants every repository a pool credential can see. The
    // proxy gives pages back in the name form (docs/contract.md §5
    // "Rewriting"), so /repos/{owner}/{repo}/… scopes are enough.
    const bool any_repository_by_id = [&] {
      for (const char* tail : {"", "/issues", "/pulls", "/contents/README.md", "/actions/runs"}) {
        if (RE2::FullMatch(std::string("/repositories/1") + tail, *scope.path) &&
            RE2::FullMatch(std::string("/repositories/2") + tail, *scope.path)) {
          return true;
        }
      }
      return false;
    }();
    if (any_repository_by_id) {
      warning(path_line, fmt::format("{}: path '{}' matches /repositories/{{id}}/…, which grants every repository "
                                     "the proxy's credentials can see; scope /repos/{{owner}}/{{repo}}/… instead "
                                     "(pagination links come back in that form)",
                                     context, path));
    }
    if (scope.graphql == graphql_policy::query_only && !RE2::FullMatch(graphql_path, *scope.path)) {
      warning(line_of(node["graphql"], scope.line),
              fmt::format("{}: 'graphql: query' has no effect: path '{}' does not match /graphql",
                          context, path));
    }
  }

  registry_load_result finish() {
    const auto by_line = [](const config_error& a, const config_error& b) {
      return a.line < b.line;
    };
    std::stable_sort(result_.errors.begin(), result_.errors.end(), by_line);
    std::stable_sort(result_.warnings.begin(), result_.warnings.end(), by_line);
    if (result_.errors.empty()) {
      result_.snapshot = std::move(snapshot_);
    }
    return std::move(result_);
  }

  std::string file_;
  registry_load_result result_;
  std::shared_ptr<registry_snapshot> snapshot_ = std::make_shared<registry_snapshot>();
  std::unordered_map<std::string, int> name_lines_;
  std::unordered_map<sha256_digest, std::pair<std::string, int>, digest_hash, digest_equal>
      token_owners_;
};

}  // namespace

registry_load_result load_registry_from_string(const std::string& yaml,
                                               const std::string& file_name) {
  return loader(file_name).run(yaml);
}

registry_load_result load_registry(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    registry_load_result result;
    result.errors.push_back({file, 0, "cannot read the registry file"});
    return result;
  }
  std::string content;
  char buffer[64 * 1024];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    content.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (content.size() > max_registry_bytes) {
      registry_load_result result;
      result.errors.push_back({file, 0, "the registry file is larger than 16 MiB"});
      return result;
    }
  }
  if (in.bad()) {
    registry_load_result result;
    result.errors.push_back({file, 0, "cannot read the registry file"});
    return result;
  }
  return load_registry_from_string(content, file);
}

}  // namespace github_proxy::auth
