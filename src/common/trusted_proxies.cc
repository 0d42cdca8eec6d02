#include "common/trusted_proxies.h"

#include <algorithm>

namespace github_proxy::common {

namespace asio = boost::asio;

std::optional<trusted_proxies> trusted_proxies::parse(std::string_view list, std::string* error) {
  trusted_proxies out;
  std::size_t pos = 0;
  while (pos < list.size()) {
    const auto end = list.find_first_of(", \t", pos);
    const auto item = list.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? list.size() : end + 1;
    if (item.empty()) continue;
    const std::string text(item);
    boost::system::error_code ec;
    if (text.find('/') == std::string::npos) {
      const auto address = asio::ip::make_address(text, ec);
      if (!ec && address.is_v4()) {
        out.v4_.push_back(asio::ip::network_v4(address.to_v4(), 32));
        continue;
      }
      if (!ec && address.is_v6() && address.to_v6().is_v4_mapped()) {
        // Peers are compared as IPv4 when mapped: keep the entry that way.
        out.v4_.push_back(asio::ip::network_v4(asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()), 32));
        continue;
      }
      if (!ec && address.is_v6()) {
        out.v6_.push_back(asio::ip::network_v6(address.to_v6(), 128));
        continue;
      }
    } else if (text.find(':') == std::string::npos) {
      const auto network = asio::ip::make_network_v4(text, ec);
      if (!ec) {
        out.v4_.push_back(network.canonical());
        continue;
      }
    } else {
      const auto network = asio::ip::make_network_v6(text, ec);
      if (!ec && network.address().is_v4_mapped()) {
        if (error) *error = "\"" + text + "\": write an IPv4-mapped network in IPv4 form";
        return std::nullopt;
      }
      if (!ec) {
        out.v6_.push_back(network.canonical());
        continue;
      }
    }
    if (error) *error = "\"" + text + "\" is neither an IP address nor a CIDR network";
    return std::nullopt;
  }
  return out;
}

bool trusted_proxies::contains(const asio::ip::address& peer) const {
  if (peer.is_v4()) {
    const auto a = peer.to_v4();
    return std::any_of(v4_.begin(), v4_.end(), [&](const auto& n) {
      return asio::ip::network_v4(a, n.prefix_length()).canonical() == n;
    });
  }
  if (peer.is_v6()) {
    const auto a = peer.to_v6();
    if (a.is_v4_mapped()) return contains(asio::ip::make_address_v4(asio::ip::v4_mapped, a));
    return std::any_of(v6_.begin(), v6_.end(), [&](const auto& n) {
      return asio::ip::network_v6(a, n.prefix_length()).canonical() == n;
    });
  }
  return false;
}

}  // namespace github_proxy::common
