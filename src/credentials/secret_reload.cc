// Reading the credentials' secrets again (docs/contract.md §7 "Secrets"):
// every one at SIGHUP (pool::reload_secrets), and only the changed files on
// the secret watcher's polls (pool::reload_changed_secrets).
#include <mutex>
#include <utility>

#include <openssl/crypto.h>

#include "credentials/app_renewal.h"
#include "credentials/pool_state.h"
#include "credentials/secret_file.h"
#include "github_proxy/credentials/errors.h"
#include "github_proxy/credentials/pool.h"
#include "github_proxy/credentials/secrets.h"

namespace github_proxy::credentials {

namespace {

void wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

const std::string& secret_path(const config::credential_config& credential) {
  return credential.type == config::credential_type::app ? credential.private_key_file : credential.token_file;
}

// The secret in FILE, the content of the credential's token_file or
// private_key_file.
void secret_from_file(const config::credential_config& credential, const detail::secret_file& file,
                      detail::loaded_secret& out) {
  out.fingerprint = file.fingerprint;
  out.in_flux = file.in_flux;
  const bool app = credential.type == config::credential_type::app;
  if (file.error != 0) {
    out.error = "credential " + credential.name + ": cannot read " + (app ? "private_key_file " : "token_file ") +
                secret_path(credential) + ": " + file.reason();
    return;
  }
  if (!app) {
    auto token = token_from_text(credential, file.content);
    if (!token.value) {
      out.error = token.error + " (token_file " + credential.token_file + ")";
      return;
    }
    out.authorization = "token " + *token.value;
    wipe(*token.value);
    return;
  }
  auto issuer = issuer_of(credential);
  if (!issuer) {
    out.error = detail::describe_key_error(credential, issuer.error());
    return;
  }
  auto signer = app_jwt_signer::from_pem(std::move(*issuer), file.content);
  if (!signer) {
    out.error = detail::describe_key_error(credential, signer.error());
    return;
  }
  out.signer = std::make_shared<const app_jwt_signer>(std::move(*signer));
}

std::size_t file_limit(const config::credential_config& credential) {
  return credential.type == config::credential_type::app ? detail::max_key_file_bytes
                                                         : detail::max_token_file_bytes;
}

}  // namespace

namespace detail {

loaded_secret::~loaded_secret() { wipe(authorization); }

void load_secret(const config::credential_config& credential, loaded_secret& out) {
  if (credential.type == config::credential_type::token && credential.token_file.empty()) {
    auto token = read_token(credential);  // token_env
    if (!token.value) {
      out.error = std::move(token.error);
      return;
    }
    out.authorization = "token " + *token.value;
    wipe(*token.value);
    return;
  }
  const auto file = read_secret_file(secret_path(credential), file_limit(credential));
  secret_from_file(credential, file, out);
}

}  // namespace detail

std::vector<config::config_error> pool::reload_secrets() {
  auto& s = *state_;
  const std::lock_guard reloading(s.reload_mutex);
  std::vector<config::config_error> errors;
  bool changed = false;
  for (auto& slot : s.slots) {
    // Files are read without holding the credential's lock.
    detail::loaded_secret loaded;
    detail::load_secret(slot->config, loaded);
    if (!loaded.error.empty()) {
      // Reported here: the watcher's next poll does not report it again.
      slot->reported_failure = loaded.fingerprint;
      errors.push_back(config::config_error{s.source_file, slot->config.source_line, std::move(loaded.error)});
      continue;
    }
    slot->loaded_fingerprint = loaded.fingerprint;
    slot->reported_failure.clear();
    const std::lock_guard lock(slot->mutex);
    if (!slot->app) {
      if (loaded.authorization != slot->authorization) {
        std::swap(loaded.authorization, slot->authorization);
        slot->restore();
        changed = true;
      } else if (slot->limits.state(s.now()) == credential_state::broken) {
        // The same secret: the operator says it works (GitHub may have been
        // wrong for a while, or the token was restored). The next 401
        // "Bad credentials" breaks it again.
        slot->restore();
        changed = true;
      }
      continue;
    }
    slot->app->signer = std::move(loaded.signer);
    if (slot->app->token.state(s.now()) == token_state::failed) {
      slot->app->restart(s.options.renewal);  // retry at once, with the key just read
      changed = true;
    }
  }
  if (changed) s.wake.notify();
  return errors;
}

std::vector<secret_change> pool::reload_changed_secrets() {
  auto& s = *state_;
  const std::lock_guard reloading(s.reload_mutex);
  std::vector<secret_change> changes;
  bool changed = false;
  for (auto& slot : s.slots) {
    const std::string& path = secret_path(slot->config);
    if (path.empty()) continue;  // token_env
    const auto file = detail::read_secret_file(path, file_limit(slot->config));
    if (file.in_flux) continue;  // being written: read it again next time
    if (file.fingerprint == slot->loaded_fingerprint) {
      slot->reported_failure.clear();  // back to the content in use
      continue;
    }
    if (file.fingerprint == slot->reported_failure) continue;  // the same failure, reported before

    secret_change change;
    change.credential = slot->config.name;
    change.file = path;
    detail::loaded_secret loaded;
    secret_from_file(slot->config, file, loaded);
    if (!loaded.error.empty()) {
      slot->reported_failure = file.fingerprint;
      change.error = std::move(loaded.error);
      changes.push_back(std::move(change));
      continue;
    }
    slot->loaded_fingerprint = file.fingerprint;
    slot->reported_failure.clear();
    {
      const std::lock_guard lock(slot->mutex);
      if (!slot->app) {
        // A new token starts unbroken; the same token (only the file's
        // whitespace changed) keeps its state, broken or not.
        if (loaded.authorization != slot->authorization) {
          std::swap(loaded.authorization, slot->authorization);
          slot->restore();
          change.replaced = true;
        }
      } else {
        slot->app->signer = std::move(loaded.signer);
        change.replaced = true;
        if (slot->app->token.state(s.now()) == token_state::failed) {
          slot->app->restart(s.options.renewal);  // a new key: retry at once
        }
      }
    }
    changed = changed || change.replaced;
    changes.push_back(std::move(change));
  }
  if (changed) s.wake.notify();
  return changes;
}

}  // namespace github_proxy::credentials
