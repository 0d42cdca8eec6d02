// Private to src/config: the state the load phases share (decode YAML →
// apply environment overrides → validate), and the table of scalar keys that
// drives both the YAML decoder and the environment overrides, so a key added
// to the table is readable from the file and from GITHUB_PROXY_* alike.
#pragma once

#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "github_proxy/config/config.h"

namespace YAML {
class Node;
}

namespace github_proxy::config::detail {

// Where a key's current value came from: the config file and the line of its
// key, or an environment variable (line 0).
struct source_location {
  std::string file;
  int line = 0;
};

class load_context {
 public:
  load_context(std::string file, env_lookup getenv_fn);

  const std::string& file() const { return file_; }
  const char* getenv(const char* name) const;

  // Records where KEY ("cache.redis.url", "credentials[0].name") was set.
  void set_origin(const std::string& key, source_location where);
  bool has_origin(std::string_view key) const;
  // The location of KEY, or of its nearest recorded ancestor, so that a
  // missing required key points at its section.
  source_location origin(std::string_view key) const;
  bool from_environment(std::string_view key) const;

  // Reports "KEY: MESSAGE" at KEY's origin and remembers KEY as bad, so that
  // validation does not pile a second error onto a value that never parsed.
  void error(std::string_view key, std::string_view message);
  void error_at(source_location where, std::string message);
  void mark_bad(std::string_view key);
  // True when KEY or one of its ancestors failed to decode.
  bool is_bad(std::string_view key) const;

  // All errors, config-file ones by line, then environment ones.
  std::vector<config_error> take_errors();

 private:
  std::string file_;
  env_lookup getenv_;
  std::map<std::string, source_location, std::less<>> origins_;
  std::set<std::string, std::less<>> bad_keys_;
  std::vector<config_error> errors_;
};

// One scalar key of the schema. `assign` parses TEXT (a YAML scalar or an
// environment value) into OUT and returns "" on success, else what was
// expected, e.g. `expected a duration like 5s, got "soon"`.
struct scalar_field {
  std::string_view key;
  std::string (*assign)(config& out, std::string_view text);
};

std::span<const scalar_field> scalar_fields();
const scalar_field* find_scalar_field(std::string_view key);
// True for keys whose value is a map of further keys ("listen", "cache.redis").
bool is_section(std::string_view key);
// The keys directly under SECTION ("" = top level), for "did you mean".
std::vector<std::string_view> keys_under(std::string_view section);

// `"got "x""`-style quoting shared by the messages.
std::string in_quotes(std::string_view text);
// TEXT with any `user:password@` replaced by `***@`: URLs may carry a Redis
// password, and no secret may appear in a message.
std::string redact_userinfo(std::string_view text);
// The closest of CANDIDATES to WORD within a small edit distance, or "".
std::string_view closest_key(std::string_view word,
                             const std::vector<std::string_view>& candidates);

// The string member of CREDENTIAL that key NAME sets ("token_env", ...), or
// null for `type` and unknown keys.
std::string* credential_field(credential_config& credential, std::string_view name);

// Resolves the path in VALUE in place (relative to the config file's
// directory, or to the working directory when KEY came from the
// environment) and reports KEY when it is not a readable regular file, or,
// with NEED_CONTENT, an empty one; WHEN_MISSING is appended to the message
// when nothing is at the path. Never reads the content: it may be a secret.
void resolve_readable_file(load_context& ctx, std::string_view key,
                           std::string& value, bool need_content = false,
                           std::string_view when_missing = {});

// The phases, in the order load_config_from_string runs them. decode_document
// returns false when the document is not a map at all, and the later phases
// would only add noise about missing keys.
bool decode_document(const YAML::Node& root, config& out, load_context& ctx);
void apply_env_overrides(config& out, load_context& ctx);
void validate(config& out, load_context& ctx);
void validate_credentials(config& out, load_context& ctx);

}  // namespace github_proxy::config::detail
