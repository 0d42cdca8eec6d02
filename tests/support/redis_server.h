// A real redis-server for tests, on a free loopback port, without
// persistence, in its own temporary directory. Header-only so that both
// unit_tests and integration_tests can use it (tests/support/*.cc is only
// compiled into integration_tests).
//
//   ghp_test::redis_server redis;                 // started, answers PING
//   redis.url()                                   // redis://127.0.0.1:PORT/0
//   redis.kill(); redis.start();                  // an outage, same port
//   redis.command({"PTTL", "ghp:key"})            // blocking, for assertions
//
// `available()` is false when redis-server is not installed: a test that
// needs it then fails with `not_installed` (a skip would read as a pass, and
// a suite instantiated for no backend vanishes from the run).
#pragma once

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

namespace ghp_test {

class redis_server {
 public:
  struct options {
    std::vector<std::string> extra_args;  // e.g. {"--requirepass", "secret"}
    std::string password;                 // for command() when requirepass is set
    std::string user;                     // with password, for ACL users
  };

  static bool available() { return !binary().empty(); }
  static constexpr const char* not_installed = "redis-server is not installed (Debian: apt-get install redis-server)";

  explicit redis_server(options opts = {}) : options_(std::move(opts)) {
    std::string pattern = (std::filesystem::temp_directory_path() / "ghp-redis-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    // The free port can be taken between probing and redis' bind: retry.
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_port();
      if (try_start()) return;
    }
    const std::string failure = "redis-server did not start; log:\n" + log();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw std::runtime_error(failure);
  }

  ~redis_server() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  unsigned short port() const { return port_; }
  std::string url(unsigned db = 0) const { return url_with("", db); }
  // redis://user:password@127.0.0.1:PORT/db (user may be empty).
  std::string url_with(const std::string& userinfo, unsigned db = 0) const {
    return "redis://" + (userinfo.empty() ? "" : userinfo + "@") + "127.0.0.1:" + std::to_string(port_) + "/" +
           std::to_string(db);
  }
  bool running() const { return pid_ > 0; }

  // Again on the same port (after stop() or kill()); throws if it cannot.
  void start() {
    if (running()) return;
    for (int attempt = 0; attempt < 20; ++attempt) {
      if (try_start()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the port is still being released
    }
    throw std::runtime_error("redis-server did not restart on port " + std::to_string(port_) + "; log:\n" + log());
  }

  // SIGTERM, then SIGKILL after 5 s; reaps the process.
  void stop() { terminate(SIGTERM); }
  // A crash: SIGKILL at once.
  void kill() { terminate(SIGKILL); }

  // One blocking command on a fresh connection (authenticating if set up so),
  // for assertions. Strings, statuses and errors come back as their text,
  // integers as decimal, nil as "(nil)". Throws if Redis is unreachable.
  std::string command(const std::vector<std::string>& argv, unsigned db = 0) const {
    const timeval timeout{5, 0};
    std::unique_ptr<redisContext, decltype(&redisFree)> c(redisConnectWithTimeout("127.0.0.1", port_, timeout),
                                                           &redisFree);
    if (!c || c->err) throw std::runtime_error("cannot connect to test redis");
    redisSetTimeout(c.get(), timeout);
    if (!options_.password.empty()) {
      if (options_.user.empty()) {
        run(c.get(), {"AUTH", options_.password});
      } else {
        run(c.get(), {"AUTH", options_.user, options_.password});
      }
    }
    if (db != 0) run(c.get(), {"SELECT", std::to_string(db)});
    return run(c.get(), argv);
  }

  std::string log() const {
    std::string text;
    if (FILE* f = std::fopen((dir_ + "/redis.log").c_str(), "r")) {
      char buffer[4096];
      std::size_t n;
      while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, n);
      std::fclose(f);
    }
    return text;
  }

 private:
  // GHP_TEST_REDIS_SERVER names another one (e.g. a newer build; a path
  // that is not there shows what a machine without Redis reports).
  static std::string binary() {
    if (const char* chosen = std::getenv("GHP_TEST_REDIS_SERVER")) {
      return ::access(chosen, X_OK) == 0 ? chosen : std::string();
    }
    for (const char* candidate : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"}) {
      if (::access(candidate, X_OK) == 0) return candidate;
    }
    return {};
  }

  // Binds port 0 on loopback and returns what the kernel chose.
  static unsigned short free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ::close(fd);
      throw std::runtime_error("cannot find a free port");
    }
    ::close(fd);
    return ntohs(address.sin_port);
  }

  static std::string run(redisContext* c, const std::vector<std::string>& argv) {
    std::vector<const char*> args;
    std::vector<std::size_t> lengths;
    for (const auto& a : argv) {
      args.push_back(a.data());
      lengths.push_back(a.size());
    }
    auto* raw = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lengths.data()));
    if (!raw) throw std::runtime_error(std::string("test redis: ") + c->errstr);
    std::unique_ptr<redisReply, decltype(&freeReplyObject)> reply(raw, &freeReplyObject);
    switch (reply->type) {
      case REDIS_REPLY_INTEGER: return std::to_string(reply->integer);
      case REDIS_REPLY_NIL: return "(nil)";
      case REDIS_REPLY_ARRAY: return "(array of " + std::to_string(reply->elements) + ")";
      default: return std::string(reply->str, reply->len);
    }
  }

  // Starts redis-server on port_ and waits until it answers; false if it
  // exited (typically: the port was taken).
  bool try_start() {
    const std::string port = std::to_string(port_);
    std::vector<std::string> argv{binary(), "--port", port, "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no", "--dir", dir_, "--logfile", dir_ + "/redis.log",
                                  "--daemonize", "no"};
    argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("cannot fork for redis-server");
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec. Redis logs to its
      // file; it must not hold the test's stdout open (a pipe reader would
      // wait for it) nor the test's sockets, and it dies with the test.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      const int null_fd = ::open("/dev/null", O_RDWR);
      if (null_fd >= 0) {
        ::dup2(null_fd, 0);
        ::dup2(null_fd, 1);
        ::dup2(null_fd, 2);
      }
      ::close_range(3, ~0U, 0);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    pid_ = pid;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      if (answers_ping()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling for readiness
    }
    kill();
    return false;
  }

  // PONG, or NOAUTH when a password is required: either way it is serving.
  bool answers_ping() const {
    const timeval timeout{0, 200000};
    std::unique_ptr<redisContext, decltype(&redisFree)> c(redisConnectWithTimeout("127.0.0.1", port_, timeout),
                                                           &redisFree);
    if (!c || c->err) return false;
    redisSetTimeout(c.get(), timeout);
    auto* raw = static_cast<redisReply*>(redisCommand(c.get(), "PING"));
    if (!raw) return false;
    const bool serving = raw->type == REDIS_REPLY_STATUS || raw->type == REDIS_REPLY_ERROR;
    freeReplyObject(raw);
    return serving;
  }

  void terminate(int signo) {
    if (pid_ <= 0) return;
    ::kill(pid_, signo);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a child's exit
    }
    pid_ = -1;
  }

  options options_;
  std::string dir_;
  unsigned short port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace ghp_test
