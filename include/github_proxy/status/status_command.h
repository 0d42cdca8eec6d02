// `github-proxy status --admin URL`: fetches /status.json from a running
// daemon's admin listener and prints it as tables (docs/contract.md §8
// "Status page"), for a terminal or a CI job's log.
#pragma once

#include <iosfwd>
#include <string>

namespace github_proxy::status {

// ADMIN_URL is http://HOST:PORT (a path, if any, is ignored). 0 with the
// tables on `out`; 1 with one line saying why on `err`.
int status_command(const std::string& admin_url, std::ostream& out, std::ostream& err);

}  // namespace github_proxy::status
