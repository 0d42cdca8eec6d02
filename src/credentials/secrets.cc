#include "github_proxy/credentials/secrets.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace github_proxy::credentials {

namespace {

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace

secret_result read_token(const config::credential_config& credential) {
  secret_result out;
  std::string raw;
  if (!credential.token_env.empty()) {
    const char* value = std::getenv(credential.token_env.c_str());
    if (!value) {
      out.error = "credential " + credential.name + ": environment variable " + credential.token_env +
                  " is not set";
      return out;
    }
    raw = value;
  } else if (!credential.token_file.empty()) {
    std::ifstream in(credential.token_file, std::ios::binary);
    if (!in) {
      out.error = "credential " + credential.name + ": cannot read token_file " + credential.token_file;
      return out;
    }
    std::ostringstream content;
    content << in.rdbuf();
    raw = content.str();
  } else {
    out.error = "credential " + credential.name + ": needs token_env or token_file";
    return out;
  }
  raw = trim(std::move(raw));
  if (raw.empty()) {
    out.error = "credential " + credential.name + ": the token is empty";
    return out;
  }
  // A token travels in a header: refuse anything that could split it.
  for (char c : raw) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
      out.error = "credential " + credential.name + ": the token contains whitespace or control characters";
      return out;
    }
  }
  out.value = std::move(raw);
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
