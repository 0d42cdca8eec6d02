// load_config: read the file, decode the YAML, apply GITHUB_PROXY_*
// overrides, validate — collecting every problem rather than stopping at the
// first, because a deploy that fails three times for three typos is worse
// than one that lists all three.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "common/yaml_stream.h"
#include "config/load_context.h"

namespace github_proxy::config {

std::string config_error::to_string() const {
  // Line 0 means "not tied to a line" (a missing file, an environment
  // variable): print `file: message` rather than a misleading `:0:`.
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ": " + message;
}

namespace detail {

load_context::load_context(std::string file, env_lookup getenv_fn)
    : file_(std::move(file)), getenv_(getenv_fn) {
  if (getenv_ == nullptr) {
    getenv_ = [](const char* name) -> const char* { return std::getenv(name); };
  }
}

const char* load_context::getenv(const char* name) const { return getenv_(name); }

void load_context::set_origin(const std::string& key, source_location where) {
  origins_[key] = std::move(where);
}

bool load_context::has_origin(std::string_view key) const {
  return origins_.find(key) != origins_.end();
}

source_location load_context::origin(std::string_view key) const {
  // Walk up "a.b[2].c" → "a.b[2]" → "a.b" → "a" until a recorded key.
  while (!key.empty()) {
    if (auto it = origins_.find(key); it != origins_.end()) return it->second;
    auto cut = key.find_last_of(".[");
    if (cut == std::string_view::npos) break;
    key = key.substr(0, cut);
  }
  return {file_, 0};
}

bool load_context::from_environment(std::string_view key) const {
  auto it = origins_.find(key);
  return it != origins_.end() && it->second.file != file_;
}

void load_context::error(std::string_view key, std::string_view message) {
  mark_bad(key);
  error_at(origin(key), std::string(key) + ": " + std::string(message));
}

void load_context::error_at(source_location where, std::string message) {
  errors_.push_back({std::move(where.file), where.line, std::move(message)});
}

void load_context::mark_bad(std::string_view key) { bad_keys_.emplace(key); }

bool load_context::is_bad(std::string_view key) const {
  for (const std::string& bad : bad_keys_) {
    if (key == bad) return true;
    if (key.starts_with(bad) && (key[bad.size()] == '.' || key[bad.size()] == '[')) {
      return true;
    }
  }
  return false;
}

std::vector<config_error> load_context::take_errors() {
  // File order: the config file's errors by line, then the environment's.
  std::ranges::stable_sort(errors_, {}, [this](const config_error& e) {
    return std::pair{e.file != file_, e.line};
  });
  return std::move(errors_);
}

}  // namespace detail

namespace {

void parse_and_check(const std::string& yaml, detail::load_context& ctx,
                     config& out) {
  common::yaml_stream documents;
  try {
    documents = common::load_yaml_stream(yaml);
  } catch (const YAML::Exception& e) {
    ctx.error_at({ctx.file(), e.mark.line + 1}, "YAML syntax error: " + e.msg);
    return;
  }
  if (documents.first.IsNull()) {
    ctx.error_at({ctx.file(), 0}, "the config file is empty");
    return;
  }
  if (documents.second_line) {
    ctx.error_at({ctx.file(), *documents.second_line},
                 "only one YAML document is allowed; remove this `---` and what follows");
  }
  if (!detail::decode_document(documents.first, out, ctx)) return;
  detail::apply_env_overrides(out, ctx);
  detail::validate(out, ctx);
  detail::validate_credentials(out, ctx);
}

}  // namespace

load_result load_config_from_string(const std::string& yaml,
                                    const std::string& file_name,
                                    env_lookup getenv_fn) {
  detail::load_context ctx(file_name, getenv_fn);
  config out;
  out.source_file = file_name;
  try {
    parse_and_check(yaml, ctx, out);
  } catch (const std::exception& e) {
    // Nothing above is expected to throw; a bug still must not take the
    // daemon down with an unhandled exception at startup.
    ctx.error_at({file_name, 0}, std::string("internal error while loading: ") + e.what());
  }
  load_result result;
  result.errors = ctx.take_errors();
  if (result.errors.empty()) result.value = std::move(out);
  return result;
}

load_result load_config(const std::string& file, env_lookup getenv_fn) {
  auto unreadable = [&](const std::string& reason) {
    return load_result{std::nullopt, {{file, 0, "cannot read the config file: " + reason}}};
  };
  try {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) return unreadable("it is a directory");
    std::ifstream in(file, std::ios::binary);
    if (!in) return unreadable(std::error_code(errno, std::generic_category()).message());
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return unreadable("read error");
    return load_config_from_string(text.str(), file, getenv_fn);
  } catch (const std::exception& e) {
    return unreadable(e.what());
  }
}

}  // namespace github_proxy::config
