// fake_github: the fake GitHub API that the proxy's integration tests and
// benchmarks run against. Wiring only: options → app → server → signals.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <unistd.h>

#include "app.h"
#include "options.h"
#include "server.h"

namespace {

// Written to a temporary file then renamed, so a reader never sees half a port.
void write_port_file(const std::string& path, unsigned short port) {
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << port << "\n";
    if (!out.flush()) throw std::runtime_error("cannot write " + temporary);
  }
  std::filesystem::rename(temporary, path);
}

std::shared_ptr<boost::asio::ssl::context> make_tls(const fake_github::options& o) {
  if (o.tls_cert.empty()) return nullptr;
  auto tls = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  tls->set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                   boost::asio::ssl::context::no_sslv3 | boost::asio::ssl::context::no_tlsv1 |
                   boost::asio::ssl::context::no_tlsv1_1 | boost::asio::ssl::context::single_dh_use);
  tls->use_certificate_chain_file(o.tls_cert);
  tls->use_private_key_file(o.tls_key, boost::asio::ssl::context::pem);
  return tls;
}

std::vector<fake_github::app_registration> load_apps(const fake_github::options& o) {
  std::vector<fake_github::app_registration> apps;
  for (const auto& spec : o.app_keys) {
    std::ifstream in(spec.path, std::ios::binary);
    std::stringstream pem;
    pem << in.rdbuf();
    if (!in) throw std::runtime_error("--app-key: cannot read " + spec.path);
    fake_github::app_registration app;
    app.app_id = spec.app_id;
    app.client_id = spec.client_id;
    app.source = "command line: " + spec.path;
    try {
      app.key = fake_github::load_rsa_public_key(pem.str());
    } catch (const std::exception& e) {
      throw std::runtime_error("--app-key " + spec.path + ": " + e.what());
    }
    apps.push_back(std::move(app));
  }
  return apps;
}

}  // namespace

int main(int argc, char** argv) {
  fake_github::options opts;
  try {
    opts = fake_github::parse_options(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "fake_github: " << e.what() << "\n" << fake_github::usage();
    return 2;
  }
  if (opts.help) {
    std::cout << fake_github::usage();
    return 0;
  }
  try {
    fake_github::app_config config;
    config.ghes = opts.ghes;
    config.origin = opts.origin;
    config.log_requests = !opts.quiet;
    config.limits[static_cast<std::size_t>(fake_github::resource::core)] = opts.core_limit;
    config.limits[static_cast<std::size_t>(fake_github::resource::search)] = opts.search_limit;
    config.limits[static_cast<std::size_t>(fake_github::resource::code_search)] = opts.code_search_limit;
    config.limits[static_cast<std::size_t>(fake_github::resource::graphql)] = opts.graphql_limit;
    config.secondary = {opts.secondary_rest_points, opts.secondary_graphql_points,
                        opts.secondary_content_per_minute, opts.secondary_content_per_hour,
                        opts.secondary_block_seconds};
    config.apps = load_apps(opts);
    config.installation_token_ttl = opts.installation_token_ttl;
    fake_github::app application(config);

    // Signals are armed before the port is announced, so a test that sends
    // SIGTERM as soon as it reads the port file is always handled.
    boost::asio::io_context signals_context(1);
    boost::asio::signal_set signals(signals_context, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) { signals_context.stop(); });

    fake_github::server srv(application, {opts.address, opts.port, opts.threads, make_tls(opts)});
    const unsigned short port = srv.start();
    if (!opts.port_file.empty()) write_port_file(opts.port_file, port);
    std::cout << "fake_github listening on " << opts.address << ":" << port << std::endl;

    signals_context.run();
    srv.stop();
    if (!opts.quiet) std::cerr << "fake_github: stopped\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "fake_github: " << e.what() << "\n";
    return 1;
  }
}
