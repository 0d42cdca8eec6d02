#include "github_proxy/credentials/secrets.h"

#include <cstdlib>

#include "credentials/secret_file.h"

namespace github_proxy::credentials {

secret_result token_from_text(const config::credential_config& credential, std::string_view text) {
  secret_result out;
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    out.error = "credential " + credential.name + ": the token is empty";
    return out;
  }
  const auto last = text.find_last_not_of(" \t\r\n");
  const auto token = text.substr(first, last - first + 1);
  // A token travels in a header: refuse anything that could split it.
  for (char c : token) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
      out.error = "credential " + credential.name + ": the token contains whitespace or control characters";
      return out;
    }
  }
  out.value.emplace(token);
  return out;
}

secret_result read_token(const config::credential_config& credential) {
  if (!credential.token_env.empty()) {
    const char* value = std::getenv(credential.token_env.c_str());
    if (!value) {
      secret_result out;
      out.error = "credential " + credential.name + ": environment variable " + credential.token_env +
                  " is not set";
      return out;
    }
    return token_from_text(credential, value);
  }
  if (!credential.token_file.empty()) {
    const auto file = detail::read_secret_file(credential.token_file, detail::max_token_file_bytes);
    if (file.error != 0) {
      secret_result out;
      out.error = "credential " + credential.name + ": cannot read token_file " + credential.token_file + ": " +
                  file.reason();
      return out;
    }
    return token_from_text(credential, file.content);
  }
  secret_result out;
  out.error = "credential " + credential.name + ": needs token_env or token_file";
  return out;
}

token_result first_token_credential(const config::config& cfg) {
  token_result out;
  for (const auto& credential : cfg.credentials) {
    if (credential.type != config::credential_type::token) continue;
    auto secret = read_token(credential);
    if (!secret.value) {
      out.error = secret.error;
      return out;
    }
    out.value = named_token{credential.name, std::move(*secret.value)};
    return out;
  }
  out.error = "no credential of type token is configured";
  return out;
}

}  // namespace github_proxy::credentials
