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

// What each field may take of a line. A path is cut to the room left; the
// other fields come from the registry, the configuration and GitHub, and are
// cut here only so that no line can outgrow max_line_bytes even escaped.
constexpr std::size_t max_path_bytes = 2048;
constexpr std::size_t max_field_bytes = 128;
constexpr std::string_view cut_mark = "\xE2\x80\xA6";  // "…"

std::string_view capped(std::string_view text, std::size_t bytes = max_field_bytes) {
  return text.substr(0, std::min(text.size(), bytes));
}

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

void append_path(std::string& out, std::string_view path, std::size_t bytes, bool json) {
  const bool cut = path.size() > bytes;
  std::string_view shown = path.substr(0, std::min(path.size(), bytes));
  if (!json) {
    out.append(shown);
    if (cut) out.append(cut_mark);
    return;
  }
  if (!cut) {
    append_json_string(out, shown);
    return;
  }
  append_json_string(out, shown);
  out.pop_back();  // the closing quote, to put the mark inside
  out.append(cut_mark).push_back('"');
}

}  // namespace

void access_log::format(std::string& out, const access_line& line) const {
  // Halving the path's room converges: with an empty path every other field
  // is capped well within a line.
  for (std::size_t path_bytes = max_path_bytes;; path_bytes /= 2) {
    out.clear();
    format(out, line, path_bytes);
    if (out.size() <= max_line_bytes || path_bytes == 0) return;
  }
}

void access_log::format(std::string& out, const access_line& line, std::size_t path_bytes) const {
  auto it = std::back_inserter(out);
  const double upstream = std::max(0.0, line.upstream_seconds);
  if (json_) {
    out.append(R"({"time":")");
    append_time(out);
    out.append(R"(","level":"info","log":"access","client":)");
    append_json_string(out, capped(line.client));
    out.append(R"(,"method":)");
    append_json_string(out, capped(line.method));
    out.append(R"(,"path":)");
    append_path(out, line.path, path_bytes, true);
    fmt::format_to(it, R"(,"status":{},"cache":)", line.status);
    append_json_string(out, capped(line.cache));
    out.append(R"(,"credential":)");
    append_json_string(out, capped(line.credential));
    fmt::format_to(it, R"(,"upstream_seconds":{:.6f},"total_seconds":{:.6f},"github_request_id":)", upstream,
                   line.total_seconds);
    append_json_string(out, capped(line.github_request_id));
    out.append("}\n");
    return;
  }
  const auto or_dash = [](std::string_view text) { return text.empty() ? std::string_view("-") : capped(text); };
  append_time(out);
  fmt::format_to(it, " access client={} method={} path=", capped(line.client), capped(line.method));
  append_path(out, line.path, path_bytes, false);
  fmt::format_to(it, " status={} cache={} credential={} upstream={:.6f}s total={:.6f}s github_request_id={}\n",
                 line.status, capped(line.cache), or_dash(line.credential), upstream, line.total_seconds,
                 or_dash(line.github_request_id));
}

void access_log::write(const access_line& line) const {
  thread_local std::string buffer;
  format(buffer, line);
  const char* data = buffer.data();
  std::size_t left = buffer.size();
  while (left > 0) {
    const auto n = ::write(fd_, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a log that cannot be written must not stop requests
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  // A line grown by a rare long path does not keep its memory on the thread.
  if (buffer.capacity() > 2 * max_line_bytes) std::string().swap(buffer);
}

}  // namespace github_proxy::logging
