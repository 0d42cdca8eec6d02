// The fake GitHub and the proxy as child processes on free loopback ports.
#include <array>
#include <sstream>
#include <stdexcept>

#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/evp.h>

#include "support/harness.h"
#include "support/metrics_helpers.h"

namespace ghp_test {

namespace http = boost::beast::http;

namespace {

constexpr auto start_timeout = std::chrono::seconds(20);

unsigned short parse_port(const std::string& text) {
  return static_cast<unsigned short>(std::stoul(text));
}

}  // namespace

std::string sha256_hex(const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < length; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xf]);
  }
  return out;
}

std::string registry_yaml(const std::vector<test_client>& clients) {
  std::ostringstream out;
  out << "version: 1\nclients:\n";
  for (const auto& c : clients) {
    out << "  - name: " << c.name << "\n"
        << "    token_sha256: " << sha256_hex(c.token) << "\n"
        << c.extra_yaml;
  }
  return out.str();
}

// ---- fake GitHub ------------------------------------------------------------

fake_github::fake_github(const temp_dir& dir, options opts) : options_(std::move(opts)) {
  static int counter = 0;
  const auto id = std::to_string(++counter);
  const auto port_file = dir.file("fake-" + id + ".port");
  std::vector<std::string> argv{fake_github_binary(), "--address", "127.0.0.1", "--port", "0",
                                "--port-file", port_file, "--threads", "2", "--quiet"};
  if (options_.tls) {
    argv.insert(argv.end(), {"--tls-cert", options_.cert_file, "--tls-key", options_.key_file});
  }
  if (options_.ghes) argv.push_back("--ghes");
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  process_ = std::make_unique<child_process>(argv, dir.file("fake-" + id + ".log"));
  port_ = parse_port(wait_for_file(port_file, start_timeout, process_.get()));
}

std::string fake_github::url() const {
  return std::string(options_.tls ? "https" : "http") + "://" + (options_.tls ? "localhost" : "127.0.0.1") +
         ":" + std::to_string(port_) + (options_.ghes ? "/api/v3" : "");
}

target fake_github::where() const {
  target t;
  t.port = port_;
  t.tls = options_.tls;
  return t;
}

boost::json::value fake_github::control(const std::string& method, const std::string& path,
                                        const std::string& body) {
  auto where_plain = where();
  if (options_.tls) throw std::runtime_error("control API over TLS: pass ca_file via where()");
  auto res = request(where_plain, method, path, {{"Content-Type", "application/json"}}, body);
  if (res.result_int() >= 300) {
    throw std::runtime_error("fake control " + method + " " + path + " → " +
                             std::to_string(res.result_int()) + ": " + res.body());
  }
  if (res.body().empty()) return nullptr;
  return boost::json::parse(res.body());
}

boost::json::value fake_github::requests(int limit) {
  return control("GET", "/_fake/requests?limit=" + std::to_string(limit));
}

int fake_github::held_at(const std::string& gate) {
  const auto held = control("GET", "/_fake/gates").as_object();
  const auto it = held.find(gate);
  return it == held.end() ? 0 : static_cast<int>(it->value().to_number<std::int64_t>());
}

int fake_github::release(const std::string& gate) {
  const auto released =
      control("POST", "/_fake/gates/release", boost::json::serialize(boost::json::object{{"gate", gate}}));
  return static_cast<int>(released.at("released").to_number<std::int64_t>());
}

// ---- proxy --------------------------------------------------------------------

proxy_process::proxy_process(const temp_dir& dir, options opts) : options_(std::move(opts)) {
  static int counter = 0;
  const auto id = std::to_string(++counter);
  registry_path_ = dir.file("registry-" + id + ".yaml");
  dir.write("registry-" + id + ".yaml", registry_yaml(options_.clients));

  std::ostringstream cfg;
  cfg << "listen:\n  address: 127.0.0.1\n  port: 0\n  threads: " << options_.threads << "\n";
  if (options_.tls) {
    cfg << "  tls: { cert_file: " << options_.cert_file << ", key_file: " << options_.key_file << " }\n";
  }
  if (!options_.unix_socket.empty()) cfg << "  unix_socket: " << options_.unix_socket << "\n";
  cfg << options_.listen_extra;
  cfg << "admin:\n  address: 127.0.0.1\n  port: 0\n";
  cfg << "upstream:\n  url: " << options_.upstream_url << "\n  connect_timeout: 2s\n  request_timeout: "
      << options_.request_timeout << "\n" << options_.upstream_extra;
  if (!options_.upstream_ca_file.empty()) cfg << "  ca_file: " << options_.upstream_ca_file << "\n";
  cfg << "registry:\n  file: " << registry_path_ << "\n  reload_interval: 200ms\n";
  cfg << "credentials:\n  - name: upstream-1\n    type: token\n    token_env: GHP_TEST_UPSTREAM_TOKEN\n";
  cfg << "logging:\n  level: info\n  format: json\n";
  cfg << options_.extra_yaml;
  config_path_ = dir.file("github-proxy-" + id + ".yaml");
  dir.write("github-proxy-" + id + ".yaml", cfg.str());

  auto env = options_.env;
  env.emplace("GHP_TEST_UPSTREAM_TOKEN", options_.upstream_token);
  const auto ready_file = dir.file("proxy-" + id + ".ready");
  process_ = std::make_unique<child_process>(
      std::vector<std::string>{proxy_binary(), "serve", "--config", config_path_, "--ready-file", ready_file},
      dir.file("proxy-" + id + ".log"), env);
  const auto ready = boost::json::parse(wait_for_file(ready_file, start_timeout, process_.get()));
  port_ = static_cast<unsigned short>(ready.at("port").to_number<int>());
  admin_port_ = static_cast<unsigned short>(ready.at("admin_port").to_number<int>());
}

target proxy_process::where() const {
  target t;
  t.port = port_;
  t.tls = options_.tls;
  if (options_.tls) t.host = "127.0.0.1";
  return t;
}

target proxy_process::admin() const {
  target t;
  t.port = admin_port_;
  return t;
}

std::string proxy_process::url() const {
  return std::string(options_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

double proxy_process::metric(const std::string& name, const std::map<std::string, std::string>& labels) {
  const auto res = request(admin(), "GET", "/metrics");
  if (res.result_int() != 200) throw std::runtime_error("/metrics → " + std::to_string(res.result_int()));
  return sum_matching(parse_metrics(res.body()), name, labels);
}

}  // namespace ghp_test
