#include "github_proxy/status/status_command.h"

#include <ostream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include "github_proxy/server/healthcheck.h"
#include "github_proxy/status/status_board.h"

namespace github_proxy::status {

namespace {
// The report of a registry with thousands of clients stays well under this.
constexpr std::size_t max_report_bytes = 16 * 1024 * 1024;
constexpr std::chrono::milliseconds deadline{5000};
}  // namespace

int status_command(const std::string& admin_url, std::ostream& out, std::ostream& err) {
  const auto url = boost::urls::parse_absolute_uri(admin_url);
  if (!url || url->scheme() != "http" || url->host().empty()) {
    err << "status: --admin wants the admin listener's URL, http://HOST:PORT (got \"" << admin_url << "\")\n";
    return 1;
  }
  const auto port = url->has_port() ? url->port_number() : std::uint16_t{80};
  // The admin listener speaks plain HTTP; a name is resolved here once.
  std::string address = url->host_type() == boost::urls::host_type::ipv6
                            ? std::string(url->host_address())
                            : std::string(url->host());
  if (url->host_type() == boost::urls::host_type::name) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver(io);
    boost::system::error_code ec;
    const auto found = resolver.resolve(address, std::to_string(port), ec);
    if (ec || found.empty()) {
      err << "status: cannot resolve " << address << ": " << (ec ? ec.message() : "no address") << "\n";
      return 1;
    }
    address = found.begin()->endpoint().address().to_string();
  }
  const auto fetched = server::probe_admin(address, port, "/status.json", deadline, max_report_bytes);
  if (!fetched.healthy) {
    err << "status: " << fetched.reason << "\n";
    return 1;
  }
  boost::system::error_code ec;
  const auto report = boost::json::parse(fetched.body, ec);
  if (ec || !report.is_object()) {
    err << "status: " << admin_url << "/status.json is not a status report: " << (ec ? ec.message() : "not an object")
        << "\n";
    return 1;
  }
  out << render_status_table(report.get_object());
  return 0;
}

}  // namespace github_proxy::status
