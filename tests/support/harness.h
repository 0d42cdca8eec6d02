// Integration-test harness: temporary directories, child processes stopped
// by PID, a blocking HTTP client (TCP, TLS, Unix socket), and wrappers that
// start the fake GitHub and the proxy on free loopback ports.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/types.h>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

#include "support/poll.h"

namespace ghp_test {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;


// A directory removed (recursively) when the object goes.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// A child process with its output in `log_file`. Killed (SIGKILL) and
// reaped when the object goes, if still running.
class child_process {
 public:
  child_process(const std::vector<std::string>& argv, const std::string& log_file,
                const std::map<std::string, std::string>& env = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int signo) const;
  // Exit status (or 128+signal) once it exits, nullopt if still running at the deadline.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  std::string log() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string log_file_;
};

// Reads a file once it exists and is non-empty (the process writes it
// atomically when ready); throws if `timeout` passes or `owner` exits first.
std::string wait_for_file(const std::string& path, std::chrono::milliseconds timeout,
                          child_process* owner = nullptr);

// Where and how to connect.
struct target {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  bool tls = false;
  std::string ca_file;      // TLS: trust anchor
  std::string unix_socket;  // set: connect there instead
};

// One keep-alive connection; blocking, with a timeout per exchange.
class http_connection {
 public:
  explicit http_connection(const target& where, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~http_connection();
  http_connection(http_connection&&) noexcept;
  http_response send(http_request req);
  // send() in two halves, for a test that acts between them (`head`: the
  // request was a HEAD, so no body follows).
  void write(http_request req);
  http_response read_response(bool head = false);
  // Writes raw bytes and reads one response (for malformed-input tests).
  http_response send_raw(const std::string& bytes);
  // Reads whatever the server sends until it closes (or the timeout).
  std::string read_until_close();
  void write_raw(const std::string& bytes);
  bool closed_by_peer();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Convenience: one request on a new connection.
http_response request(const target& where, const std::string& method, const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& headers = {},
                      const std::string& body = {});

// A loopback port where connecting is refused, for the object's life: a
// socket bound to 127.0.0.1:0 and not listening. Unlike a port found free
// and closed, no other process can take it meanwhile.
class refused_port {
 public:
  refused_port();
  ~refused_port();
  refused_port(const refused_port&) = delete;
  refused_port& operator=(const refused_port&) = delete;
  unsigned short port() const { return port_; }

 private:
  int fd_ = -1;
  unsigned short port_ = 0;
};

// The established loopback (127.0.0.1) TCP connections to `port`, from
// Linux's /proc/net/tcp: `unread` counts those with bytes the server has not
// read yet (still in the client's send queue or the server's receive queue).
// A test waits for `unread == 0` to know the server has read every request
// its clients wrote.
struct loopback_connections {
  int established = 0;
  int unread = 0;
};
loopback_connections loopback_connections_to(unsigned short port);

// The fake GitHub (tests/fake_github) on a free loopback port.
class fake_github {
 public:
  struct options {
    bool tls = false;
    std::string cert_file, key_file;  // with tls
    bool ghes = false;
    std::vector<std::string> extra_args;
  };
  explicit fake_github(const temp_dir& dir, options opts);
  explicit fake_github(const temp_dir& dir) : fake_github(dir, options{}) {}

  unsigned short port() const { return port_; }
  std::string url() const;  // http(s)://127.0.0.1:PORT[/api/v3]
  target where() const;

  // Control API (tests/fake_github/README.md).
  boost::json::value control(const std::string& method, const std::string& path,
                             const std::string& body = {});
  void reset() { control("POST", "/_fake/reset"); }
  boost::json::value counters() { return control("GET", "/_fake/counters"); }
  boost::json::value requests(int limit = 100);
  // Gates (tests/fake_github/README.md "Gates"): how many requests `gate`
  // holds now, and letting them go (returns how many were released).
  int held_at(const std::string& gate);
  int release(const std::string& gate);
  child_process& process() { return *process_; }

 private:
  options options_;
  std::unique_ptr<child_process> process_;
  unsigned short port_ = 0;
  std::string ca_file_;
};

// A registry client for tests.
struct test_client {
  std::string name;
  std::string token;      // the proxy token the test sends
  std::string extra_yaml; // e.g. "    scopes:\n      - {method: GET, path: /repos/.*}\n"
};

// The daemon (build/github-proxy) on free loopback ports.
class proxy_process {
 public:
  struct options {
    std::string upstream_url;
    std::string upstream_ca_file;
    std::vector<test_client> clients{{"ci", "ghpx_test_ci_token", ""}};
    std::string upstream_token = "upstream-token-1";
    std::string extra_yaml;        // appended to the config (whole sections)
    std::string listen_extra;      // extra keys inside `listen:` (indented 2)
    std::string upstream_extra;    // extra keys inside `upstream:` (indented 2)
    std::string request_timeout = "5s";
    unsigned threads = 2;  // listen.threads
    bool tls = false;              // client TLS (cert/key from the harness' PKI)
    std::string cert_file, key_file;
    std::string unix_socket;
    std::map<std::string, std::string> env;
  };
  proxy_process(const temp_dir& dir, options opts);

  unsigned short port() const { return port_; }
  unsigned short admin_port() const { return admin_port_; }
  target where() const;
  target admin() const;
  std::string url() const;
  child_process& process() { return *process_; }
  std::string config_path() const { return config_path_; }
  std::string registry_path() const { return registry_path_; }

  // Scrapes /metrics and returns the value of one sample, e.g.
  // metric("github_proxy_requests_total", {{"client","ci"},{"code","200"}})
  // sums every series whose labels include the given ones.
  double metric(const std::string& name, const std::map<std::string, std::string>& labels = {});

 private:
  options options_;
  std::unique_ptr<child_process> process_;
  unsigned short port_ = 0;
  unsigned short admin_port_ = 0;
  std::string config_path_;
  std::string registry_path_;
};

// Renders a registry file for `clients`.
std::string registry_yaml(const std::vector<test_client>& clients);
std::string sha256_hex(const std::string& data);

std::string proxy_binary();
std::string fake_github_binary();

}  // namespace ghp_test
