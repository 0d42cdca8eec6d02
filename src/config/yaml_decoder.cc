// YAML document → config structs. Only the shape is checked here (known
// keys, scalars where scalars belong, values that parse); whether the values
// make sense together is validate()'s job. Every key's line is recorded so
// that later phases can point at it.
#include <yaml-cpp/yaml.h>

#include "config/load_context.h"

namespace github_proxy::config::detail {
namespace {

int line_of(const YAML::Node& node) {
  // yaml-cpp marks are 0-based and -1 for nodes it synthesised.
  return node.Mark().line + 1;
}

std::string_view kind_of(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Undefined: break;
  }
  return "an undefined value";
}

std::string join(std::string_view path, std::string_view name) {
  return path.empty() ? std::string(name) : std::string(path) + "." + std::string(name);
}

std::string in_section(std::string_view path) {
  return path.empty() ? "at the top level" : "in " + std::string(path);
}

std::string unknown_key(std::string_view name, std::string_view path,
                        const std::vector<std::string_view>& known) {
  std::string message = "unknown key " + in_quotes(name) + " " + in_section(path);
  if (auto hint = closest_key(name, known); !hint.empty()) {
    message += " (did you mean " + in_quotes(hint) + "?)";
  }
  return message;
}

// Keys that would put a secret into the file. docs/contract.md §3: secrets only come
// from *_env and *_file references, so these are refused by name and their
// value is never echoed.
std::string_view secret_replacement(std::string_view name) {
  if (name == "token") return "token_env or token_file";
  if (name == "private_key") return "private_key_file";
  if (name == "client_secret" || name == "password" || name == "secret" ||
      name == "webhook_secret") {
    return "a *_env or *_file reference";
  }
  return {};
}

class decoder {
 public:
  decoder(config& out, load_context& ctx) : out_(out), ctx_(ctx) {}

  void decode_map(const YAML::Node& map, const std::string& path) {
    // yaml-cpp keeps both entries of a duplicated key; the second would
    // silently win, so it is an error.
    std::map<std::string, int, std::less<>> seen;
    for (const auto& entry : map) {
      const YAML::Node& key_node = entry.first;
      const YAML::Node& value = entry.second;
      int line = line_of(key_node);
      if (!key_node.IsScalar()) {
        ctx_.error_at({ctx_.file(), line}, "keys must be plain words " + in_section(path));
        continue;
      }
      const std::string& name = key_node.Scalar();
      if (!note_first(seen, name, line, path)) continue;
      std::string key = join(path, name);
      bool is_list = path.empty() && name == "credentials";
      const scalar_field* field = find_scalar_field(key);
      if (!is_list && field == nullptr && !is_section(key)) {
        ctx_.error_at({ctx_.file(), line}, unknown_key(name, path, keys_under(path)));
        continue;
      }
      ctx_.set_origin(key, {ctx_.file(), line});
      if (is_list) {
        decode_credentials(value);
      } else if (field != nullptr) {
        decode_scalar(*field, value);
      } else {
        decode_section(key, value);
      }
    }
  }

 private:
  bool note_first(std::map<std::string, int, std::less<>>& seen,
                  const std::string& name, int line, std::string_view path) {
    auto [it, inserted] = seen.emplace(name, line);
    if (!inserted) {
      ctx_.error_at({ctx_.file(), line},
                    "duplicate key " + in_quotes(name) + " " + in_section(path) +
                        " (first on line " + std::to_string(it->second) + ")");
    }
    return inserted;
  }

  void decode_section(const std::string& key, const YAML::Node& value) {
    // `section:` with nothing under it means all defaults, like omitting it;
    // for tls that means no TLS.
    if (value.IsNull()) return;
    if (!value.IsMap()) {
      ctx_.error(key, "expected a map, got " + std::string(kind_of(value)));
      return;
    }
    // An empty `tls: {}` still asks for TLS, so validation can say what is
    // missing instead of silently serving plain HTTP.
    if (key == "listen.tls") out_.listen.tls.emplace();
    decode_map(value, key);
  }

  // Scalars are read as text so that the file and the environment share one
  // parser; a null (`key:` with no value) reads as "".
  std::optional<std::string> scalar_text(const std::string& key, const YAML::Node& value) {
    if (value.IsNull()) return std::string();
    if (!value.IsScalar()) {
      ctx_.error(key, "expected a single value, got " + std::string(kind_of(value)));
      return std::nullopt;
    }
    return value.Scalar();
  }

  void decode_scalar(const scalar_field& field, const YAML::Node& value) {
    std::string key(field.key);
    auto text = scalar_text(key, value);
    if (!text) return;
    std::string problem = field.assign(out_, *text);
    if (!problem.empty()) ctx_.error(key, problem);
  }

  void decode_credentials(const YAML::Node& list) {
    if (list.IsNull()) return;  // validation reports that none is configured
    if (!list.IsSequence()) {
      ctx_.error("credentials", "expected a list of credentials, got " +
                                    std::string(kind_of(list)));
      return;
    }
    std::size_t index = 0;
    for (const YAML::Node& item : list) {
      decode_credential(item, "credentials[" + std::to_string(index++) + "]");
    }
  }

  void decode_credential(const YAML::Node& item, const std::string& path) {
    credential_config credential;
    credential.source_line = line_of(item);
    ctx_.set_origin(path, {ctx_.file(), credential.source_line});
    if (!item.IsMap()) {
      ctx_.error(path, "expected a map with name and type, got " + std::string(kind_of(item)));
      // Kept as a placeholder so credentials[i] keeps meaning the i-th item.
      out_.credentials.push_back(std::move(credential));
      return;
    }
    std::map<std::string, int, std::less<>> seen;
    for (const auto& entry : item) {
      int line = line_of(entry.first);
      if (!entry.first.IsScalar()) {
        ctx_.error_at({ctx_.file(), line}, "keys must be plain words in " + path);
        continue;
      }
      const std::string& name = entry.first.Scalar();
      if (!note_first(seen, name, line, path)) continue;
      std::string key = path + "." + name;
      ctx_.set_origin(key, {ctx_.file(), line});
      if (auto use = secret_replacement(name); !use.empty()) {
        ctx_.error(key, "secrets are not allowed in the config file; reference them with " +
                            std::string(use));
        continue;
      }
      std::string* target = credential_field(credential, name);
      if (target == nullptr && name != "type") {
        ctx_.error_at({ctx_.file(), line}, unknown_key(name, path, credential_keys()));
        continue;
      }
      auto text = scalar_text(key, entry.second);
      if (!text) continue;
      if (target != nullptr) {
        *target = *text;
      } else if (*text == "token") {
        credential.type = credential_type::token;
      } else if (*text == "app") {
        credential.type = credential_type::app;
      } else {
        ctx_.error(key, "expected token or app, got " + in_quotes(*text));
      }
    }
    if (!ctx_.has_origin(path + ".type")) {
      ctx_.error(path, "missing required key \"type\" (token or app)");
      ctx_.mark_bad(path + ".type");
    }
    out_.credentials.push_back(std::move(credential));
  }

  static const std::vector<std::string_view>& credential_keys() {
    static const std::vector<std::string_view> keys{
        "name", "type", "token_env", "token_file", "app_id",
        "client_id", "installation_id", "private_key_file"};
    return keys;
  }

  config& out_;
  load_context& ctx_;
};

}  // namespace

std::string* credential_field(credential_config& credential, std::string_view name) {
  if (name == "name") return &credential.name;
  if (name == "token_env") return &credential.token_env;
  if (name == "token_file") return &credential.token_file;
  if (name == "app_id") return &credential.app_id;
  if (name == "client_id") return &credential.client_id;
  if (name == "installation_id") return &credential.installation_id;
  if (name == "private_key_file") return &credential.private_key_file;
  return nullptr;
}

bool decode_document(const YAML::Node& root, config& out, load_context& ctx) {
  if (!root.IsMap()) {
    ctx.error_at({ctx.file(), line_of(root)},
                 "expected a map of sections (listen, upstream, ...) at the top level, got " +
                     std::string(kind_of(root)));
    return false;
  }
  decoder(out, ctx).decode_map(root, "");
  return true;
}

}  // namespace github_proxy::config::detail
