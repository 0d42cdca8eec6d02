// Listeners and HTTP/1.1 sessions: one io_context per thread, each with its
// own SO_REUSEPORT acceptor on the same port, so the kernel spreads
// connections and no two threads share a socket.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "app.h"

namespace fake_github {

struct server_config {
  std::string address = "127.0.0.1";
  unsigned short port = 0;  // 0: the kernel picks
  std::size_t threads = 1;
  std::shared_ptr<boost::asio::ssl::context> tls;  // null: plain HTTP
};

class server {
 public:
  server(app& application, server_config config);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds every acceptor and starts the threads; returns the bound port.
  // Throws boost::system::system_error when binding fails.
  unsigned short start();

  // Stops every io_context and joins the threads. Connections in flight are
  // dropped: this is a test double, its clients are gone at shutdown.
  void stop();

 private:
  app& app_;
  server_config config_;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<std::thread> threads_;
};

}  // namespace fake_github
