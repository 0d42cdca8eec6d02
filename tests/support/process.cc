// Temporary directories and child processes for the integration tests.
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/harness.h"

namespace ghp_test {

temp_dir::temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ghp-test-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void temp_dir::write(const std::string& name, const std::string& content) const {
  // Write then rename, as editors and ConfigMaps do: readers never see half a file.
  const auto final_path = file(name);
  const auto tmp = final_path + ".tmp-write";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, final_path);
}

child_process::child_process(const std::vector<std::string>& argv, const std::string& log_file,
                             const std::map<std::string, std::string>& env)
    : log_file_(log_file) {
  // Everything the child needs is made before fork(): between fork and exec
  // only async-signal-safe calls (another thread may hold malloc's lock).
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The environment: ours, with `env` replacing or adding variables.
  std::vector<std::string> variables;
  for (char** e = environ; *e; ++e) {
    const std::string_view entry(*e);
    if (!env.contains(std::string(entry.substr(0, entry.find('='))))) variables.emplace_back(entry);
  }
  for (const auto& [k, v] : env) variables.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& v : variables) envp.push_back(v.data());
  envp.push_back(nullptr);
  const std::string exec_failed = "exec failed: " + argv.at(0) + "\n";
  // Close-on-exec: a child started meanwhile by another thread must not
  // inherit them (it would hold the log or /dev/null open).
  const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_file + ": " + std::strerror(errno));
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    ::close(log_fd);
    throw std::runtime_error("cannot open /dev/null");
  }
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    // Dies with the test, even killed (SIGKILL of the test runner, a crash);
    // the parent may have gone before the prctl: then exit at once. (The
    // signal comes when the forking thread ends: tests start children on
    // their main thread.)
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    // Nothing else of the test's: sockets, pipes, files of other children.
    ::close_range(3, ~0U, 0);
    ::execve(args[0], args.data(), envp.data());
    [[maybe_unused]] const auto ignored = ::write(2, exec_failed.data(), exec_failed.size());
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  if (pid_ < 0) throw std::runtime_error("fork failed");
}

child_process::~child_process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

void child_process::signal(int signo) const { ::kill(pid_, signo); }

bool child_process::running() {
  if (status_) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return r == 0;
}

std::optional<int> child_process::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a child's exit
  }
  return status_;
}

std::string child_process::log() const {
  std::ifstream in(log_file_);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string wait_for_file(const std::string& path, std::chrono::milliseconds timeout,
                          child_process* owner) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::ifstream in(path);
    if (in) {
      std::ostringstream content;
      content << in.rdbuf();
      if (!content.str().empty()) return content.str();
    }
    if (owner && !owner->running()) {
      throw std::runtime_error("process exited before writing " + path + ":\n" + owner->log());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("timed out waiting for " + path +
                               (owner ? ":\n" + owner->log() : std::string()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling for readiness
  }
}

namespace {
// The TSan part of `make test` runs this harness against a sanitized daemon
// built elsewhere (docs/testing.md): the environment names it.
std::string binary_from(const char* variable, const char* built) {
  const char* chosen = std::getenv(variable);
  return chosen && *chosen ? chosen : built;
}
}  // namespace

std::string proxy_binary() { return binary_from("GHP_TEST_PROXY_BINARY", GHP_PROXY_BINARY); }
std::string fake_github_binary() { return binary_from("GHP_TEST_FAKE_GITHUB_BINARY", GHP_FAKE_GITHUB_BINARY); }

}  // namespace ghp_test
