#include "common/access_log.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>

namespace github_proxy::logging {
namespace {

namespace json = boost::json;

access_line sample(std::string_view path) {
  return access_line{"ci-deploy", "GET", path, 200, "revalidated", "bot-pat", 0.0123, 0.0456, "ABCD:1234"};
}

json::object parse_line(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  boost::system::error_code ec;
  auto value = json::parse(line, ec);
  EXPECT_FALSE(ec) << line;
  return ec ? json::object{} : value.as_object();
}

TEST(AccessLog, JsonLineCarriesEveryField) {
  const access_log log(-1, true);
  std::string line;
  log.format(line, sample("/repos/o/r/issues?page="));
  const auto o = parse_line(line);
  EXPECT_EQ(o.at("level").as_string(), "info");
  EXPECT_EQ(o.at("log").as_string(), "access");
  EXPECT_EQ(o.at("client").as_string(), "ci-deploy");
  EXPECT_EQ(o.at("method").as_string(), "GET");
  EXPECT_EQ(o.at("path").as_string(), "/repos/o/r/issues?page=");
  EXPECT_EQ(o.at("status").as_int64(), 200);
  EXPECT_EQ(o.at("cache").as_string(), "revalidated");
  EXPECT_EQ(o.at("credential").as_string(), "bot-pat");
  EXPECT_DOUBLE_EQ(o.at("upstream_seconds").as_double(), 0.0123);
  EXPECT_DOUBLE_EQ(o.at("total_seconds").as_double(), 0.0456);
  EXPECT_EQ(o.at("github_request_id").as_string(), "ABCD:1234");
  const std::string time(o.at("time").as_string());
  ASSERT_EQ(time.size(), 24u) << time;  // 2026-12-03T12:23:34.793Z
  EXPECT_EQ(time[10], 'T');
  EXPECT_EQ(time[19], '.');
  EXPECT_EQ(time.back(), 'Z');
}

TEST(AccessLog, NoUpstreamRequestIsZeroSecondsAndTextUsesDashes) {
  const access_log log(-1, false);
  auto line = sample("/rate_limit");
  line.upstream_seconds = -1;
  line.credential = {};
  line.github_request_id = {};
  std::string out;
  log.format(out, line);
  EXPECT_NE(out.find(" access client=ci-deploy method=GET path=/rate_limit status=200 cache=revalidated "
                     "credential=- upstream=0.000000s total=0.045600s github_request_id=-\n"),
            std::string::npos)
      << out;
}

TEST(AccessLog, HostileBytesStayValidJson) {
  const access_log log(-1, true);
  for (std::string_view path : {"/repos/\xFF\xFE", "/\"quoted\"\\", "/a\x01\x1F\x7F", "/\xC3"}) {
    std::string line;
    log.format(line, sample(path));
    parse_line(line);
  }
}

// A line longer than PIPE_BUF could be interleaved with another thread's in a
// pipe: the path is cut, visibly, to keep every line within it.
TEST(AccessLog, ALongPathIsCutToKeepTheLineWithinPipeBuf) {
  const access_log log(-1, true);
  for (const std::string& path : {std::string(10000, 'a'), std::string(3000, '"'), std::string(2000, '\xFF')}) {
    std::string line;
    log.format(line, sample(path));
    EXPECT_LE(line.size(), access_log::max_line_bytes);
    const auto o = parse_line(line);
    const std::string shown(o.at("path").as_string());
    EXPECT_GT(shown.size(), 100u);
    EXPECT_EQ(shown.substr(shown.size() - 3), "\xE2\x80\xA6");
  }
  std::string line;
  log.format(line, sample(std::string(1000, 'b')));
  EXPECT_EQ(std::string(parse_line(line).at("path").as_string()), std::string(1000, 'b'));
}

// Threads write without a lock: each line must still arrive whole.
TEST(AccessLog, ConcurrentWritersNeverInterleaveLinesInAPipe) {
  std::array<int, 2> fds{};
  ASSERT_EQ(::pipe(fds.data()), 0);
  const access_log log(fds[1], true);
  constexpr int threads = 4, lines_each = 500;
  std::string received;
  std::thread reader([&] {
    std::array<char, 65536> chunk;
    for (;;) {
      const auto n = ::read(fds[0], chunk.data(), chunk.size());
      if (n <= 0) return;
      received.append(chunk.data(), static_cast<std::size_t>(n));
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&log, t] {
      const std::string path = "/repos/o/r/" + std::string(1500 + t * 300, static_cast<char>('a' + t));
      for (int i = 0; i < lines_each; ++i) log.write(sample(path));
    });
  }
  for (auto& w : writers) w.join();
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  std::istringstream in(received);
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    ++count;
    boost::system::error_code ec;
    json::parse(line, ec);
    ASSERT_FALSE(ec) << "line " << count << " is not whole";
  }
  EXPECT_EQ(count, threads * lines_each);
}

}  // namespace
}  // namespace github_proxy::logging
