// The `credentials` list (docs/contract.md §3, §7). A credential's secret is only ever
// referenced (token_env, token_file, private_key_file); here we check that
// the reference resolves — the variable is set, the file is readable — so a
// missing secret fails startup, but the secret itself is never read into the
// config nor put into a message.
#include <algorithm>
#include <cctype>
#include <map>

#include "config/load_context.h"

namespace github_proxy::config::detail {
namespace {

bool is_label(std::string_view name) {
  return !name.empty() && std::ranges::all_of(name, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool is_env_name(std::string_view name) {
  return !name.empty() && std::isdigit(static_cast<unsigned char>(name.front())) == 0 &&
         std::ranges::all_of(name, [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
         });
}

bool is_number(std::string_view text) {
  return !text.empty() && std::ranges::all_of(text, [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

class credential_checker {
 public:
  credential_checker(load_context& ctx, credential_config& credential, std::string path)
      : ctx_(ctx), credential_(credential), path_(std::move(path)) {}

  void check_token() {
    reject_keys({"app_id", "client_id", "installation_id", "private_key_file"}, "token");
    if (!exactly_one("token_env", "token_file")) return;
    if (given("token_env")) {
      check_env(key("token_env"), credential_.token_env);
    } else {
      check_file(key("token_file"), credential_.token_file);
    }
  }

  void check_app() {
    reject_keys({"token_env", "token_file"}, "app");
    if (exactly_one("app_id", "client_id") && given("app_id") &&
        !is_number(credential_.app_id)) {
      ctx_.error(key("app_id"), "expected the numeric App ID, got " + in_quotes(credential_.app_id));
    }
    if (require("installation_id") && !is_number(credential_.installation_id)) {
      ctx_.error(key("installation_id"), "expected the numeric installation ID, got " +
                                             in_quotes(credential_.installation_id));
    }
    if (require("private_key_file")) {
      check_file(key("private_key_file"), credential_.private_key_file);
    }
  }

 private:
  std::string key(std::string_view name) const { return path_ + "." + std::string(name); }
  bool given(std::string_view name) const { return ctx_.has_origin(key(name)); }

  void reject_keys(std::initializer_list<std::string_view> names, std::string_view type) {
    for (std::string_view name : names) {
      if (given(name)) ctx_.error(key(name), "not valid for type " + std::string(type));
    }
  }

  // Exactly one of A and B is set, and not to an empty value.
  bool exactly_one(std::string_view a, std::string_view b) {
    if (given(a) && given(b)) {
      ctx_.error(path_, "set " + std::string(a) + " or " + std::string(b) + ", not both");
      return false;
    }
    if (!given(a) && !given(b)) {
      ctx_.error(path_, "needs " + std::string(a) + " or " + std::string(b));
      return false;
    }
    return require(given(a) ? a : b);
  }

  bool require(std::string_view name) {
    if (!given(name)) {
      ctx_.error(path_, "missing required key " + in_quotes(name));
      return false;
    }
    if (ctx_.is_bad(key(name))) return false;  // its value did not decode; reported
    if (credential_field(credential_, name)->empty()) {
      ctx_.error(key(name), "must not be empty");
      return false;
    }
    return true;
  }

  void check_env(const std::string& env_key, const std::string& variable) {
    if (!is_env_name(variable)) {
      ctx_.error(env_key, "expected an environment variable name, got " + in_quotes(variable));
      return;
    }
    // Only whether it is set: the value is the secret.
    const char* value = ctx_.getenv(variable.c_str());
    if (value == nullptr) {
      ctx_.error(env_key, "environment variable " + variable + " is not set");
    } else if (*value == '\0') {
      ctx_.error(env_key, "environment variable " + variable + " is empty");
    }
  }

  void check_file(const std::string& file_key, std::string& path) {
    resolve_readable_file(ctx_, file_key, path, /*need_content=*/true);
  }

  load_context& ctx_;
  credential_config& credential_;
  std::string path_;
};

}  // namespace

void validate_credentials(config& out, load_context& ctx) {
  if (ctx.is_bad("credentials")) return;
  if (out.credentials.empty()) {
    ctx.error("credentials",
              "at least one credential (a token or a GitHub App) is required");
    return;
  }
  std::map<std::string, int, std::less<>> first_line;
  for (std::size_t i = 0; i < out.credentials.size(); ++i) {
    credential_config& credential = out.credentials[i];
    std::string path = "credentials[" + std::to_string(i) + "]";
    if (ctx.is_bad(path)) continue;  // not even a map; already reported
    std::string name_key = path + ".name";
    if (ctx.is_bad(name_key)) {
      // already reported
    } else if (!ctx.has_origin(name_key)) {
      ctx.error(path, "missing required key \"name\"");
    } else if (!is_label(credential.name)) {
      ctx.error(name_key, "expected lower-case letters, digits, _ or - (it becomes a "
                          "metrics label), got " + in_quotes(credential.name));
    } else if (auto [it, inserted] = first_line.emplace(credential.name, credential.source_line);
               !inserted) {
      ctx.error(name_key, "duplicate credential name " + in_quotes(credential.name) +
                              " (first on line " + std::to_string(it->second) + ")");
    }
    if (ctx.is_bad(path + ".type")) continue;  // already reported
    credential_checker checker(ctx, credential, path);
    if (credential.type == credential_type::token) {
      checker.check_token();
    } else {
      checker.check_app();
    }
  }
}

}  // namespace github_proxy::config::detail
