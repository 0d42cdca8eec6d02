// The config loader (config/config_loader.cc and the phases it runs): YAML
// text in. The environment is a fixed fake (nothing is read from the real
// one), and relative file names resolve inside a scratch directory made
// once per process, holding the registry and token file the seeds name.
// load_admin_config, which only takes a path, reads the input written there.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz_input.h"
#include "github_proxy/config/config.h"
#include "github_proxy/config/load_admin.h"

namespace {

using namespace github_proxy;
namespace fs = std::filesystem;

const char* fake_env(const char* name) {
  const std::string_view n(name);
  if (n == "GITHUB_PROXY_BOT_PAT" || n == "GITHUB_TOKEN") return "ghp_fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz";
  if (n == "GITHUB_PROXY_EMPTY") return "";
  return nullptr;
}

class scratch_dir {
 public:
  scratch_dir() {
    char pattern[] = "/tmp/ghp-config-fuzz-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) std::abort();
    path_ = pattern;
    std::ofstream(path_ / "registry.yaml") << "version: 1\nclients:\n  - name: ci\n    token: ci-token\n";
    std::ofstream(path_ / "token.txt") << "ghp_fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz\n";
    config_file_ = (path_ / "github-proxy.yaml").string();
  }
  ~scratch_dir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const std::string& config_file() const { return config_file_; }

 private:
  fs::path path_;
  std::string config_file_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static scratch_dir dir;  // removed at exit
  const std::string yaml(fuzz::as_text(data, size));

  const auto loaded = config::load_config_from_string(yaml, dir.config_file(), &fake_env);
  if (loaded.value.has_value() == !loaded.errors.empty()) std::abort();
  for (const auto& e : loaded.errors) {
    if (e.message.empty()) std::abort();
    (void)e.to_string();
  }

  {
    std::ofstream out(dir.config_file(), std::ios::binary | std::ios::trunc);
    out << yaml;
  }
  const auto admin = config::load_admin_config(dir.config_file(), &fake_env);
  if (admin.value.has_value() == !admin.errors.empty()) std::abort();

  (void)config::parse_duration(yaml);
  (void)config::parse_size(yaml);
  return 0;
}
