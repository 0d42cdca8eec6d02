// Shared by the config tests: a scratch directory and a fake environment.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "github_proxy/config/config.h"

namespace github_proxy::config::test_support {

// The smallest valid config: six lines, so a section appended to it starts
// on line 7.
constexpr const char* minimal = R"(registry:
  file: registry.yaml
credentials:
  - name: bot-pat
    type: token
    token_env: GITHUB_PROXY_BOT_PAT
)";

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
// mkdtemp, never a name made of the PID: a leftover of an earlier run with a
// reused PID, or another user's directory, would be used as is (issue 20).
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ghp-config-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    }
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  std::filesystem::path write(const std::string& name, const std::string& content) const {
    auto file = path_ / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
    return file;
  }

 private:
  std::filesystem::path path_;
};

// env_lookup is a plain function pointer, so the fake environment is a
// process-wide map that one fake_env at a time fills and clears.
class fake_env {
 public:
  explicit fake_env(std::map<std::string, std::string> values) { variables() = std::move(values); }
  ~fake_env() { variables().clear(); }
  fake_env(const fake_env&) = delete;
  fake_env& operator=(const fake_env&) = delete;

  void set(const std::string& name, const std::string& value) { variables()[name] = value; }

  static const char* lookup(const char* name) {
    auto it = variables().find(name);
    return it == variables().end() ? nullptr : it->second.c_str();
  }

 private:
  static std::map<std::string, std::string>& variables() {
    static std::map<std::string, std::string> values;
    return values;
  }
};

// "LINE: message" for each error, to compare whole lists at once.
inline std::vector<std::string> located(const load_result& result) {
  std::vector<std::string> out;
  for (const auto& e : result.errors) out.push_back(std::to_string(e.line) + ": " + e.message);
  return out;
}

}  // namespace github_proxy::config::test_support
