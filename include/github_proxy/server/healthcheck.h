// `github-proxy healthcheck`: the container image's HEALTHCHECK (Dockerfile),
// so the runtime image needs no curl. It asks the admin listener of a daemon
// running beside it (same host or network namespace), over plain HTTP, the
// way an orchestrator's probe would.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

namespace github_proxy::server {

// The address to probe an admin listener bound to BIND_ADDRESS at: a
// wildcard is not an address one can connect to, so 0.0.0.0 is reached as
// 127.0.0.1 and :: as ::1; any other address as it is.
std::string probe_address(std::string_view bind_address);

struct probe_outcome {
  bool healthy = false;  // the listener answered 200
  std::string reason;    // one line: the URL and its status, or why there was none
  std::string body;      // the answer's body (at most BODY_LIMIT bytes were accepted)
};

// GETs PATH from http://ADDRESS:PORT/ and reads the answer, all within
// DEADLINE (connect, write and read together). Blocking: runs its own
// io_context on the calling thread. Never throws.
probe_outcome probe_admin(const std::string& address, std::uint16_t port, std::string_view path,
                          std::chrono::milliseconds deadline, std::size_t body_limit = 64 * 1024);

// The most a probe waits: well inside the HEALTHCHECK --timeout (3s), so a
// hung daemon is reported by this command and not killed as a hung check.
inline constexpr std::chrono::milliseconds healthcheck_deadline{2000};

// `healthcheck --config FILE [--ready]`: reads the admin listener's address
// and port from FILE (config::load_admin_config: no secret or registry needs
// to be readable) and probes /healthz, or /readyz with READY, within
// healthcheck_deadline. 0 on 200, the URL and status on `out`; 1 otherwise,
// with one line saying why on `err`.
int healthcheck_command(const std::string& config_file, bool ready, std::ostream& out, std::ostream& err);

}  // namespace github_proxy::server
