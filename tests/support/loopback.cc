// Loopback helpers: a port that refuses connections, and the kernel's view
// of a server's client sockets.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/harness.h"

namespace ghp_test {

namespace {

constexpr std::string_view loopback_hex = "0100007F";  // 127.0.0.1 as /proc/net/tcp prints it
constexpr int established_state = 0x01;

struct address {
  std::string ip;
  unsigned port = 0;
};

address parse_address(const std::string& text) {  // "0100007F:1F90"
  const auto colon = text.find(':');
  if (colon == std::string::npos) throw std::runtime_error("/proc/net/tcp: bad address " + text);
  return {text.substr(0, colon), static_cast<unsigned>(std::stoul(text.substr(colon + 1), nullptr, 16))};
}

}  // namespace

refused_port::refused_port() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string error = std::strerror(errno);
    ::close(fd_);
    throw std::runtime_error("cannot bind a loopback port: " + error);
  }
  port_ = ntohs(address.sin_port);
}

refused_port::~refused_port() { ::close(fd_); }

loopback_connections loopback_connections_to(unsigned short port) {
  std::ifstream table("/proc/net/tcp");
  if (!table) throw std::runtime_error("cannot read /proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the header
  loopback_connections out;
  // "sl local_address rem_address st tx_queue:rx_queue ..."
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local_text, remote_text, state_text, queues;
    if (!(fields >> slot >> local_text >> remote_text >> state_text >> queues)) continue;
    if (std::stoi(state_text, nullptr, 16) != established_state) continue;
    const auto local = parse_address(local_text);
    const auto remote = parse_address(remote_text);
    const auto colon = queues.find(':');
    const auto tx_queue = std::stoul(queues.substr(0, colon), nullptr, 16);
    const auto rx_queue = std::stoul(queues.substr(colon + 1), nullptr, 16);
    if (local.ip == loopback_hex && local.port == port) {  // the server's end
      ++out.established;
      if (rx_queue > 0) ++out.unread;
    } else if (remote.ip == loopback_hex && remote.port == port && tx_queue > 0) {  // a client's end
      ++out.unread;
    }
  }
  return out;
}

}  // namespace ghp_test
