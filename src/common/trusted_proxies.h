// The peers (a TLS-terminating ingress, a load balancer) whose `Forwarded`
// and `X-Forwarded-*` fields the proxy believes (listen.trusted_proxies,
// docs/contract.md §5 "Rewriting"). A value, read by every thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

namespace github_proxy::common {

class trusted_proxies {
 public:
  // "10.0.0.0/8, 192.168.1.7, ::1/128": addresses or CIDR networks separated
  // by commas or spaces. nullopt (and `error` set) for an item that is
  // neither.
  static std::optional<trusted_proxies> parse(std::string_view list, std::string* error = nullptr);

  bool contains(const boost::asio::ip::address& peer) const;
  bool empty() const { return v4_.empty() && v6_.empty(); }

 private:
  std::vector<boost::asio::ip::network_v4> v4_;
  std::vector<boost::asio::ip::network_v6> v6_;
};

}  // namespace github_proxy::common
