// load_admin_config: the same decoder and GITHUB_PROXY_* overrides as
// load_config, stopping before validation, which would read the registry
// and check every credential's secret.
#include "github_proxy/config/load_admin.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "common/yaml_stream.h"
#include "config/load_context.h"

namespace github_proxy::config {
namespace {

// "admin.port: expected …", "admin: expected a map", "unknown key … in admin".
bool concerns_admin(const config_error& e) {
  return e.message.starts_with("admin.") || e.message.starts_with("admin:") ||
         e.message.ends_with(" in admin") || e.message.find(" in admin ") != std::string::npos;
}

}  // namespace

admin_load_result load_admin_config(const std::string& file, env_lookup getenv_fn) {
  admin_load_result result;
  auto failed = [&](int line, std::string message) {
    result.errors.push_back({file, line, std::move(message)});
    return result;
  };
  std::string text;
  try {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) return failed(0, "cannot read the config file: it is a directory");
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      return failed(0, "cannot read the config file: " + std::error_code(errno, std::generic_category()).message());
    }
    std::ostringstream content;
    content << in.rdbuf();
    text = content.str();
  } catch (const std::exception& e) {
    return failed(0, std::string("cannot read the config file: ") + e.what());
  }

  detail::load_context ctx(file, getenv_fn);
  config decoded;
  try {
    const auto documents = common::load_yaml_stream(text);
    if (documents.first.IsNull()) return failed(0, "the config file is empty");
    if (!detail::decode_document(documents.first, decoded, ctx)) {
      result.errors = ctx.take_errors();
      return result;
    }
    detail::apply_env_overrides(decoded, ctx);
  } catch (const YAML::Exception& e) {
    return failed(e.mark.line + 1, "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    return failed(0, std::string("internal error while loading: ") + e.what());
  }
  if (decoded.admin.address.empty() && !ctx.is_bad("admin.address")) {
    ctx.error("admin.address", "must not be empty");
  }
  for (auto& e : ctx.take_errors()) {
    if (concerns_admin(e)) result.errors.push_back(std::move(e));
  }
  if (result.errors.empty()) result.value = decoded.admin;
  return result;
}

}  // namespace github_proxy::config
