// The admin listener's settings alone, for `github-proxy healthcheck`
// (include/github_proxy/server/healthcheck.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "github_proxy/config/config.h"

namespace github_proxy::config {

struct admin_load_result {
  std::optional<admin_config> value;  // set when errors is empty
  std::vector<config_error> errors;   // the file's, or those about admin.*
};

// Reads FILE and applies the GITHUB_PROXY_* overrides as load_config does,
// but validates nothing outside `admin:`. A probe runs next to a daemon
// that checked everything at its start; it must not fail because a
// credential's variable is unset in its environment, or a secret or the
// registry is not readable by it. Errors elsewhere in the file are ignored
// (the daemon would not have started with them). Never throws.
admin_load_result load_admin_config(const std::string& file, env_lookup getenv_fn = nullptr);

}  // namespace github_proxy::config
