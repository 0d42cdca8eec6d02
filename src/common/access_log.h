// The access log: one line per request on stderr, JSON or text
// (docs/contract.md §8 "Logs"). Nothing secret is ever passed in here.
//
// Every I/O thread formats its line in a buffer of its own and hands it to
// the kernel in one write(2), without a lock: a write of at most PIPE_BUF
// bytes to a pipe (a container runtime's stderr) is atomic, and so is an
// append to a file. So a line is kept within PIPE_BUF: a path too long for
// it is cut at a character and ends in "…"; the other fields are cut at 256
// bytes likewise. The operational log keeps its lines within PIPE_BUF too
// (logging.h), so the two never interleave on stderr.
#pragma once

#include <string>
#include <string_view>

namespace github_proxy::logging {

// One access-log record: no token, no body, no query values.
struct access_line {
  std::string_view client;
  std::string_view method;
  std::string_view path;  // query values already removed
  unsigned status = 0;
  std::string_view cache;
  std::string_view credential;
  double upstream_seconds = -1;  // negative: no upstream request
  double total_seconds = 0;
  std::string_view github_request_id;
};

class access_log {
 public:
  // The longest line written; past it a pipe may interleave writers' bytes.
  static constexpr std::size_t max_line_bytes = 4096;  // PIPE_BUF on Linux

  // Writes to `fd` (stderr in the daemon), which it does not own.
  access_log(int fd, bool json) : fd_(fd), json_(json) {}

  // Thread-safe, and takes no lock.
  void write(const access_line& line) const;

  // Replaces `out` with the line `write` would write, newline included.
  void format(std::string& out, const access_line& line) const;

 private:
  int fd_;
  bool json_;
};

}  // namespace github_proxy::logging
