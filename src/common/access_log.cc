#include "common/access_log.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <iterator>

#include <fmt/format.h>

#include "common/logging.h"

namespace github_proxy::logging {

namespace {

// What each field but the path may take of a line, escaped. They come from
// the registry, the configuration and GitHub, and are cut here only so that
// the path always keeps most of the line.
constexpr std::size_t max_field_bytes = 256;

// "2026-12-03T12:23:34.793Z", the seconds formatted once per second per thread.
void append_time(std::string& out) {
  thread_local std::int64_t cached_second = -1;
  thread_local char cached[20];
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
  const std::int64_t second = ms / 1000;
  if (second != cached_second) {
    const std::time_t t = static_cast<std::time_t>(second);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_second = second;
  }
  out.append(cached, 19);
  fmt::format_to(std::back_inserter(out), ".{:03d}Z", static_cast<int>(ms % 1000));
}

}  // namespace

void access_log::format(std::string& out, const access_line& line) const {
  thread_local std::string tail;
  out.clear();
  tail.clear();
  const auto field = [this](std::string& to, std::string_view text) {
    append_capped(to, text, max_field_bytes, json_);
  };
  const auto or_dash = [](std::string_view text) { return text.empty() ? std::string_view("-") : text; };
  const double upstream = std::max(0.0, line.upstream_seconds);
  // The line is the head, the path, and the tail: the path gets what the
  // other two leave of max_line_bytes.
  if (json_) {
    out.append(R"({"time":")");
    append_time(out);
    out.append(R"(","level":"info","log":"access","client":)");
    field(out, line.client);
    out.append(R"(,"method":)");
    field(out, line.method);
    out.append(R"(,"path":)");
    fmt::format_to(std::back_inserter(tail), R"(,"status":{},"cache":)", line.status);
    field(tail, line.cache);
    tail.append(R"(,"credential":)");
    field(tail, line.credential);
    fmt::format_to(std::back_inserter(tail),
                   R"(,"upstream_seconds":{:.6f},"total_seconds":{:.6f},"github_request_id":)", upstream,
                   line.total_seconds);
    field(tail, line.github_request_id);
    tail.append("}\n");
  } else {
    append_time(out);
    out.append(" access client=");
    field(out, line.client);
    out.append(" method=");
    field(out, line.method);
    out.append(" path=");
    fmt::format_to(std::back_inserter(tail), " status={} cache=", line.status);
    field(tail, line.cache);
    tail.append(" credential=");
    field(tail, or_dash(line.credential));
    fmt::format_to(std::back_inserter(tail), " upstream={:.6f}s total={:.6f}s github_request_id=", upstream,
                   line.total_seconds);
    field(tail, or_dash(line.github_request_id));
    tail.push_back('\n');
  }
  append_capped(out, line.path, max_line_bytes - out.size() - tail.size(), json_);
  out.append(tail);
}

void access_log::write(const access_line& line) const {
  thread_local std::string buffer;
  format(buffer, line);
  const char* data = buffer.data();
  std::size_t left = buffer.size();
  while (left > 0) {
    const auto n = ::write(fd_, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // A log that cannot be written must not stop requests. A line cut
      // short still ends, so that the next one is not glued to it.
      if (left < buffer.size()) (void)!::write(fd_, "\n", 1);
      return;
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace github_proxy::logging
