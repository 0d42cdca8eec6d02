// Reading credential secrets from their `*_env` / `*_file` references
// (docs/contract.md §3: secrets never live in the config file). Values are never logged;
// error messages name the reference, not the value.
#pragma once

#include <optional>
#include <string>

#include "github_proxy/config/config.h"

namespace github_proxy::credentials {

struct secret_result {
  std::optional<std::string> value;  // trimmed of surrounding whitespace
  std::string error;                 // set when value is empty
};

// The token of a `type: token` credential.
secret_result read_token(const config::credential_config& credential);

struct named_token {
  std::string name;
  std::string secret;
};
struct token_result {
  std::optional<named_token> value;
  std::string error;
  explicit operator bool() const { return value.has_value(); }
  const named_token* operator->() const { return &*value; }
};

// The first `type: token` credential, for the single-credential foundation.
token_result first_token_credential(const config::config& cfg);

}  // namespace github_proxy::credentials
