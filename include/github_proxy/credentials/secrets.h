// Reading credential secrets from their `*_env` / `*_file` references
// (docs/contract.md §3: secrets never live in the config file). Values are never logged;
// error messages name the reference, not the value.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "github_proxy/config/config.h"

namespace github_proxy::credentials {

struct secret_result {
  std::optional<std::string> value;  // trimmed of surrounding whitespace
  std::string error;                 // set when value is empty
};

// The token of a `type: token` credential, from its token_env or its
// token_file (at most 64 KiB; a FIFO or device is refused, not waited on).
secret_result read_token(const config::credential_config& credential);

// The token in TEXT, a token_file's content or a token_env's value:
// surrounding whitespace removed; refused when empty or when whitespace or
// a control character is left inside (it travels in a header).
secret_result token_from_text(const config::credential_config& credential, std::string_view text);

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
