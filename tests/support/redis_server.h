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
// With `options::tls` it listens for TLS only (no plain port), with the
// given test PKI (support/test_pki.h); command() then speaks TLS too. With
// `options::sentinel_monitor` it runs as a Sentinel (redis-server
// --sentinel) watching that master.
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
#include <optional>
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
#include <hiredis/read.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>

namespace ghp_test {

// PEM files for a TLS-only server and for the clients that talk to it.
struct redis_tls_files {
  std::string ca_cert;
  std::string server_cert;
  std::string server_key;
  std::string client_cert;  // presented by command(); required when the server asks
  std::string client_key;
  bool require_client_certificate = false;
};

// What a Sentinel watches: `sentinel monitor <name> 127.0.0.1 <port> <quorum>`.
struct sentinel_watch {
  std::string master_name = "mymaster";
  unsigned short master_port = 0;
  unsigned quorum = 2;
  unsigned down_after_ms = 1000;
  unsigned failover_timeout_ms = 4000;
};

class redis_server {
 public:
  struct options {
    std::vector<std::string> extra_args;  // e.g. {"--requirepass", "secret"}
    std::string password;                 // for command() when requirepass is set
    std::string user;                     // with password, for ACL users
    std::optional<redis_tls_files> tls;   // TLS only
    std::optional<sentinel_watch> sentinel_monitor;
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
    return std::string(options_.tls ? "rediss://" : "redis://") + (userinfo.empty() ? "" : userinfo + "@") +
           "127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
  }
  pid_t pid() const { return pid_; }
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
    std::vector<std::vector<std::string>> commands;
    if (!options_.password.empty()) {
      if (options_.user.empty()) {
        commands.push_back({"AUTH", options_.password});
      } else {
        commands.push_back({"AUTH", options_.user, options_.password});
      }
    }
    if (db != 0) commands.push_back({"SELECT", std::to_string(db)});
    commands.push_back(argv);
    std::string error;
    auto replies = exchange(commands, 5000, error);
    if (replies.empty()) throw std::runtime_error("test redis on port " + std::to_string(port_) + ": " + error);
    for (const auto& r : replies) {
      if (r != replies.back() && r.rfind("ERR", 0) == 0) throw std::runtime_error("test redis: " + r);
    }
    return replies.back();
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

  // Sends `commands` pipelined on a fresh connection (TLS when the server
  // speaks it) and returns their replies as text: strings, statuses and
  // errors as themselves, integers in decimal, nil as "(nil)", an array as
  // "(array of N)". Empty, with `error` set, when the server cannot be reached
  // or does not answer within `timeout_ms`.
  std::vector<std::string> exchange(const std::vector<std::vector<std::string>>& commands, int timeout_ms,
                                    std::string& error) const {
    std::vector<std::string> replies;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      error = "socket failed";
      return replies;
    }
    std::unique_ptr<int, void (*)(int*)> closer(new int(fd), [](int* f) {
      ::close(*f);
      delete f;
    });
    const timeval timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port_);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      error = "cannot connect";
      return replies;
    }
    std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> context(nullptr, &SSL_CTX_free);
    std::unique_ptr<SSL, void (*)(SSL*)> tls(nullptr, &SSL_free);
    if (options_.tls) {
      context.reset(SSL_CTX_new(TLS_client_method()));
      SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
      if (SSL_CTX_load_verify_locations(context.get(), options_.tls->ca_cert.c_str(), nullptr) != 1 ||
          (!options_.tls->client_cert.empty() &&
           (SSL_CTX_use_certificate_chain_file(context.get(), options_.tls->client_cert.c_str()) != 1 ||
            SSL_CTX_use_PrivateKey_file(context.get(), options_.tls->client_key.c_str(), SSL_FILETYPE_PEM) != 1))) {
        error = "cannot load the test PKI";
        return replies;
      }
      tls.reset(SSL_new(context.get()));
      SSL_set_fd(tls.get(), fd);
      if (SSL_connect(tls.get()) != 1) {
        error = "TLS handshake failed";
        return replies;
      }
    }
    std::string out;
    for (const auto& argv : commands) {
      std::vector<const char*> args;
      std::vector<std::size_t> lengths;
      for (const auto& a : argv) {
        args.push_back(a.data());
        lengths.push_back(a.size());
      }
      char* encoded = nullptr;
      const int length = redisFormatCommandArgv(&encoded, static_cast<int>(args.size()), args.data(), lengths.data());
      if (length > 0) out.append(encoded, static_cast<std::size_t>(length));
      std::free(encoded);
    }
    const bool sent = tls ? SSL_write(tls.get(), out.data(), static_cast<int>(out.size())) == static_cast<int>(out.size())
                          : ::send(fd, out.data(), out.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(out.size());
    if (!sent) {
      error = "cannot send";
      return replies;
    }
    std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(), &redisReaderFree);
    std::vector<std::string> received;
    char buffer[16384];
    while (received.size() < commands.size()) {
      const long n = tls ? SSL_read(tls.get(), buffer, sizeof buffer) : ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0 || redisReaderFeed(reader.get(), buffer, static_cast<std::size_t>(n)) != REDIS_OK) {
        error = "no answer";
        return replies;
      }
      void* raw = nullptr;
      while (received.size() < commands.size() && redisReaderGetReply(reader.get(), &raw) == REDIS_OK && raw) {
        auto* r = static_cast<redisReply*>(raw);
        switch (r->type) {
          case REDIS_REPLY_INTEGER: received.push_back(std::to_string(r->integer)); break;
          case REDIS_REPLY_NIL: received.push_back("(nil)"); break;
          case REDIS_REPLY_ARRAY: received.push_back("(array of " + std::to_string(r->elements) + ")"); break;
          default: received.push_back(std::string(r->str, r->len));
        }
        freeReplyObject(r);
        raw = nullptr;
      }
    }
    return received;
  }

  // Starts redis-server on port_ and waits until it answers; false if it
  // exited (typically: the port was taken).
  bool try_start() {
    const std::string port = std::to_string(port_);
    std::vector<std::string> argv{binary()};
    if (options_.sentinel_monitor) {
      // A Sentinel rewrites its config file: one per start, in its directory.
      const sentinel_watch& w = *options_.sentinel_monitor;
      const std::string conf = dir_ + "/sentinel.conf";
      std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(conf.c_str(), "w"), &std::fclose);
      if (!f) throw std::runtime_error("cannot write " + conf);
      std::fprintf(f.get(),
                   "sentinel monitor %s 127.0.0.1 %u %u\n"
                   "sentinel down-after-milliseconds %s %u\n"
                   "sentinel failover-timeout %s %u\n"
                   "sentinel parallel-syncs %s 1\n",
                   w.master_name.c_str(), w.master_port, w.quorum, w.master_name.c_str(), w.down_after_ms,
                   w.master_name.c_str(), w.failover_timeout_ms, w.master_name.c_str());
      f.reset();
      argv.insert(argv.end(), {conf, "--sentinel"});
    }
    // TLS only: no plain port ("--port 0"), the TLS port instead.
    argv.insert(argv.end(), {"--port", options_.tls ? std::string("0") : port, "--bind", "127.0.0.1", "--dir", dir_, "--logfile", dir_ + "/redis.log",
                             "--daemonize", "no"});
    if (!options_.sentinel_monitor) argv.insert(argv.end(), {"--save", "", "--appendonly", "no"});
    if (options_.tls) {
      const redis_tls_files& t = *options_.tls;
      argv.insert(argv.end(), {"--tls-port", port, "--tls-cert-file", t.server_cert, "--tls-key-file", t.server_key,
                               "--tls-ca-cert-file", t.ca_cert, "--tls-auth-clients",
                               t.require_client_certificate ? "yes" : "no"});
    }
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
    std::string ignored;
    return !exchange({{"PING"}}, 200, ignored).empty();
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
