#include "common/access_log.h"

#include "common/logging.h"

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
  std::string line;
  log.format(line, sample("/a\x01\xFF\"b"));
  EXPECT_NE(line.find("\"path\":\"/a\\u0001\xEF\xBF\xBD\\\"b\""), std::string::npos) << line;
  EXPECT_EQ(std::string(parse_line(line).at("path").as_string()), "/a\x01\xEF\xBF\xBD\"b");
}

// A line longer than PIPE_BUF could be interleaved with another thread's in a
// pipe: the path is cut, visibly and at a character, to keep every line
// within it; a path that fits is never cut.
TEST(AccessLog, ALongPathIsCutToKeepTheLineWithinPipeBuf) {
  for (const bool json : {true, false}) {
    const access_log log(-1, json);
    std::string euros;
    for (int i = 0; i < 2000; ++i) euros += "\xE2\x82\xAC";
    // Each is too long for a line, even unescaped.
    for (const std::string& path : {std::string(10000, 'a'), std::string(5000, '"'), std::string(2000, '\xFF'), euros}) {
      std::string line;
      log.format(line, sample(path));
      EXPECT_LE(line.size(), access_log::max_line_bytes) << json;
      EXPECT_GT(line.size(), access_log::max_line_bytes - 8) << json;  // the path took the room left
      EXPECT_NE(line.find("\xE2\x80\xA6"), std::string::npos) << json;
      if (json) parse_line(line);
      // Nothing but whole characters: no U+FFFD where a character was split.
      if (path.back() != '\xFF') {
        EXPECT_EQ(line.find("\xEF\xBF\xBD"), std::string::npos) << json;
      }
    }
    std::string line;
    log.format(line, sample(std::string(3000, 'b')));
    EXPECT_NE(line.find(std::string(3000, 'b')), std::string::npos);
    EXPECT_EQ(line.find("\xE2\x80\xA6"), std::string::npos);
  }
}

// Every field at its worst (control characters escape to six bytes each)
// still leaves the line within PIPE_BUF, with room for the path.
TEST(AccessLog, EveryFieldAtItsWorstStillFitsALine) {
  const std::string worst(5000, '\x01');
  const access_line line{worst, worst, worst, 599, worst, worst, 1e9, 1e9, worst};
  for (const bool json : {true, false}) {
    std::string out;
    access_log(-1, json).format(out, line);
    EXPECT_LE(out.size(), access_log::max_line_bytes);
    EXPECT_NE(out.find("599"), std::string::npos);
    if (json) {
      const auto o = parse_line(out);
      EXPECT_GT(o.at("path").as_string().size(), 300u);
      EXPECT_EQ(o.at("status").as_int64(), 599);
    }
  }
}

TEST(Logging, AppendCappedCutsAtACharacterAndMarksTheCut) {
  std::string out = "x";
  append_capped(out, "\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC", 8, false);  // three euros, 9 bytes
  EXPECT_EQ(out, "x\xE2\x82\xAC\xE2\x80\xA6");  // one euro and the mark: 6 bytes
  out.clear();
  append_capped(out, "short", 100, true);
  EXPECT_EQ(out, "\"short\"");
  out.clear();
  append_capped(out, std::string(100, '\n'), 50, true);
  EXPECT_LE(out.size(), 50u);
  EXPECT_EQ(out.substr(out.size() - 4), "\xE2\x80\xA6\"");
  EXPECT_EQ(utf8_prefix("a\xE2\x82\xAC", 3), "a");
  EXPECT_EQ(utf8_prefix("a\xE2\x82\xAC", 4), "a\xE2\x82\xAC");
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
