// What one client sends must not hurt anyone else (issue "Isolation"): each
// test here reproduces an attack over real sockets against the daemon and
// the fake GitHub, and checks the proxy's answer and what reached GitHub.
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/cache_helpers.h"
#include "support/harness.h"

namespace ghp_test {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

const std::string ci_token = "ghpx_test_ci_token";

const std::string reporter_token = "ghpx_test_reporter_token";

class Isolation : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = std::make_unique<fake_github>(dir_);
    proxy_process::options opts;
    opts.upstream_url = fake_->url();
    opts.clients = {{"ci", ci_token, ""},
                    {"reporter", reporter_token,
                     "    scopes:\n      - {method: POST, path: /graphql, graphql: query}\n"}};
    proxy_ = std::make_unique<proxy_process>(dir_, opts);
    fake_->control("DELETE", "/_fake/requests");
  }
  temp_dir dir_;
  std::unique_ptr<fake_github> fake_;
  std::unique_ptr<proxy_process> proxy_;
};

// RFC 9112 §6.3: `Transfer-Encoding: gzip` (no final chunked) has no
// knowable length. Read as an empty body, the "body" below was forwarded
// as a second request of its own.
TEST_F(Isolation, TransferEncodingWithoutFinalChunkedIs400AndNothingIsSmuggled) {
  http_connection conn(proxy_->where());
  const std::string smuggled =
      "GET /repos/octo-org/repo-1 HTTP/1.1\r\nHost: x\r\nAuthorization: token " + ci_token + "\r\n\r\n";
  const auto res = conn.send_raw("POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: token " + ci_token +
                                 "\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n" + smuggled);
  EXPECT_EQ(res.result_int(), 400u) << res.body();
  EXPECT_TRUE(conn.closed_by_peer()) << "the connection must close: the rest of the stream is unframed";
  EXPECT_TRUE(fake_->requests(10).as_array().empty()) << json::serialize(fake_->requests(10));
}

// RFC 9110 §9.3.8: TRACE has no content. It used to throw inside the
// pipeline: the connection dropped with no answer, no metric, no log.
TEST_F(Isolation, TraceWithABodyIsAnsweredCountedAndLogged) {
  http_connection conn(proxy_->where());
  const auto res = conn.send_raw("TRACE /repos/octo-org/repo-1 HTTP/1.1\r\nHost: x\r\nAuthorization: token " +
                                 ci_token + "\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(res.result_int(), 400u) << res.body();
  EXPECT_GE(cache_support::metric_once_at_least(*proxy_, "github_proxy_requests_total", {{"code", "400"}}, 1), 1);
  EXPECT_TRUE(fake_->requests(10).as_array().empty());
}

// Every access log line stays valid JSON, whatever bytes a client sends.
TEST_F(Isolation, AccessLogLinesStayValidJsonForRawBytesInThePath) {
  {
    http_connection conn(proxy_->where());
    const auto res = conn.send_raw("GET /repos/octo-org/\xff\xfe HTTP/1.1\r\nHost: x\r\nAuthorization: token " +
                                   ci_token + "\r\n\r\n");
    EXPECT_EQ(res.result_int(), 400u);
  }
  // Wait for the line through the request counter, then read the log.
  ASSERT_GE(cache_support::metric_once_at_least(*proxy_, "github_proxy_requests_total", {{"code", "400"}}, 1), 1);
  std::istringstream lines(proxy_->process().log());
  std::string line;
  int access_lines = 0;
  while (std::getline(lines, line)) {
    if (line.find("\"log\":\"access\"") == std::string::npos) continue;
    ++access_lines;
    boost::system::error_code ec;
    json::parse(line, ec);
    EXPECT_FALSE(ec) << "not valid JSON (" << ec.message() << "): " << line;
  }
  EXPECT_GE(access_lines, 1);
}

}  // namespace
}  // namespace ghp_test

namespace ghp_test {
namespace {

// Cross-client cache poisoning (item 5): the key is built from Accept, so a
// request may not make the Accept sent upstream differ from the one keyed.
class CachePoisoning : public Isolation {
 protected:
  http_response get(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::vector<std::pair<std::string, std::string>> all{{"Authorization", "token " + ci_token}};
    all.insert(all.end(), fields.begin(), fields.end());
    return request(proxy_->where(), "GET", path_, all);
  }
  const std::string path_ = "/repos/octo-org/repo-1/contents/docs/notes.md";
  const std::pair<std::string, std::string> raw_{"Accept", "application/vnd.github.raw"};
};

TEST_F(CachePoisoning, ConnectionNamingAcceptIsRefusedAndStoresNothing) {
  const auto attack = get({raw_, {"Connection", "Accept"}});
  EXPECT_EQ(attack.result_int(), 400u) << attack.body();
  const auto victim = get({raw_});
  EXPECT_EQ(victim.result_int(), 200u);
  EXPECT_NE(victim[http::field::content_type].find("raw"), std::string::npos)
      << "a raw client got " << victim[http::field::content_type];
  EXPECT_NE(victim.body().front(), '{') << "JSON stored under the raw key";
}

TEST_F(CachePoisoning, RepeatedAcceptLinesAreKeyedAsTheyAreSent) {
  const auto attack = get({raw_, {"Accept", "application/vnd.github+json"}});
  EXPECT_EQ(attack.result_int(), 200u);
  const auto json_client = get({{"Accept", "application/vnd.github+json"}});
  EXPECT_EQ(json_client.body().front(), '{') << json_client.body().substr(0, 80);
  const auto raw_client = get({raw_});
  EXPECT_NE(raw_client.body().front(), '{');
}

}  // namespace
}  // namespace ghp_test

namespace ghp_test {
namespace {

// Scopes and routing read the same bytes that go upstream (items 12, 13).
TEST_F(Isolation, DotSegmentsAndNonCanonicalGraphqlSpellingsAre400AndNeverSent) {
  for (const char* target : {"/repos/octo-org/repo-1/../repo-2", "/repos/octo-org/repo-1/%2e%2e/repo-2",
                             "/repos/octo-org/repo-1%2f..%2frepo-2", "//graphql", "/graphql.json",
                             "/api/v3/../graphql", "/%67raphql", "/GraphQL"}) {
    const auto res = request(proxy_->where(), "POST", target,
                             {{"Authorization", "token " + ci_token}, {"Content-Type", "application/json"}},
                             R"({"query":"{ viewer { login } }"})");
    EXPECT_EQ(res.result_int(), 400u) << target << ": " << res.body();
  }
  EXPECT_TRUE(fake_->requests(10).as_array().empty()) << json::serialize(fake_->requests(10));
}

TEST_F(Isolation, QueryOnlyClientsMustSendJson) {
  const std::string mutation = R"({"query":"mutation { addStar(input: {starrableId: \"x\"}) { clientMutationId } }"})";
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", ""}) {
    std::vector<std::pair<std::string, std::string>> fields{{"Authorization", "token " + reporter_token}};
    if (*type) fields.emplace_back("Content-Type", type);
    const auto res = request(proxy_->where(), "POST", "/graphql", fields, mutation);
    EXPECT_EQ(res.result_int(), 403u) << type << ": " << res.body();
  }
  const auto query = request(proxy_->where(), "POST", "/graphql",
                             {{"Authorization", "token " + reporter_token}, {"Content-Type", "application/json"}},
                             R"({"query":"{ viewer { login } }"})");
  EXPECT_EQ(query.result_int(), 200u) << query.body();
}

}  // namespace
}  // namespace ghp_test

namespace ghp_test {
namespace {

// Item 8: a client is authenticated and its scope checked on the head,
// before the proxy reads (and holds) any of its body. The head below
// announces 1 MiB that never comes: the answer must not wait for it.
TEST_F(Isolation, UnknownClientsAreRefusedBeforeTheirBodyIsRead) {
  http_connection conn(proxy_->where(), std::chrono::seconds(3));
  const auto res = conn.send_raw(
      "POST /repos/octo-org/repo-1/issues HTTP/1.1\r\nHost: x\r\nAuthorization: token not-a-client\r\n"
      "Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n{\"title\":");
  EXPECT_EQ(res.result_int(), 401u) << res.body();
  EXPECT_TRUE(conn.closed_by_peer()) << "the unread body leaves the connection unusable";
  EXPECT_TRUE(fake_->requests(10).as_array().empty());
}

TEST_F(Isolation, OutOfScopeClientsAreRefusedBeforeTheirBodyIsRead) {
  http_connection conn(proxy_->where(), std::chrono::seconds(3));
  const auto res = conn.send_raw(
      "POST /repos/octo-org/repo-1/issues HTTP/1.1\r\nHost: x\r\nAuthorization: token " + reporter_token +
      "\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n{\"title\":");
  EXPECT_EQ(res.result_int(), 403u) << res.body();
}

}  // namespace
}  // namespace ghp_test

namespace ghp_test {
namespace {

// Item 1: GitHub answers JWT-only endpoints with 401 whatever token is
// sent; the proxy refuses them itself, so no credential is ever sent there.
TEST_F(Isolation, JwtOnlyEndpointsAreRefusedWithoutTouchingACredential) {
  for (const char* path : {"/app", "/app/installations", "/repos/octo-org/repo-1/installation",
                           "/api/v3/orgs/octo-org/installation", "/users/octocat/installation"}) {
    const auto res = request(proxy_->where(), "GET", path, {{"Authorization", "token " + ci_token}});
    EXPECT_EQ(res.result_int(), 403u) << path << ": " << res.body();
    EXPECT_NE(res.body().find("JWT"), std::string::npos) << res.body();
  }
  EXPECT_TRUE(fake_->requests(10).as_array().empty());
  EXPECT_EQ(request(proxy_->admin(), "GET", "/readyz").result_int(), 200u);
}

}  // namespace
}  // namespace ghp_test

namespace ghp_test {
namespace {

// Item 10: readers that stall a large streamed answer keep neither the
// upstream connections of short requests nor a credential slot.
TEST(IsolationStreams, StalledDownloadsDoNotBlockShortRequests) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  opts.threads = 1;
  opts.upstream_extra = "  max_connections_per_host: 2\n";
  proxy_process proxy(dir, opts);
  const std::string auth = "Authorization: token " + ci_token + "\r\n";

  std::vector<http_connection> stalled;
  for (int i = 0; i < 2; ++i) {
    stalled.emplace_back(proxy.where(), std::chrono::seconds(5));
    // 20 MiB, over max_object_bytes: relayed as it comes; never read here.
    // The same URL twice: the second must not wait behind the first.
    stalled.back().write_raw("GET /repos/octo-org/repo-1/contents/large-20971520.bin HTTP/1.1\r\nHost: x\r\n" + auth +
                             "Accept: application/vnd.github.raw\r\n\r\n");
  }
  // Both downloads hold an upstream connection once their answers' heads
  // are in (the proxy counts an upstream answer at its head).
  ASSERT_GE(cache_support::metric_once_at_least(proxy, "github_proxy_upstream_requests_total", {}, 2), 2);
  const auto started = std::chrono::steady_clock::now();
  const auto res = request(proxy.where(), "GET", "/repos/octo-org/repo-2", {{"Authorization", "token " + ci_token}});
  EXPECT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2))
      << "the short request waited for a connection held by a stalled download";
}

}  // namespace
}  // namespace ghp_test

namespace ghp_test {
namespace {

const std::string large_download =
    "GET /repos/octo-org/repo-1/contents/large-20971520.bin HTTP/1.1\r\nHost: x\r\nAuthorization: token " +
    ci_token + "\r\nAccept: application/vnd.github.raw\r\n\r\n";
constexpr std::size_t large_download_bytes = 20971520;

// Polls the proxy's log for `text` (bounded): the line is written when the
// transfer is cut, just before the connection closes.
bool log_mentions(proxy_process& proxy, const std::string& text) {
  return cache_support::poll_until([&] { return proxy.process().log().find(text) != std::string::npos; });
}

// What a client that reads `piece` bytes per `pause` saw of an answer.
struct slow_read {
  std::string status_line;
  std::size_t received = 0;
  bool closed = false;  // by the proxy, before `within` passed
};

// A reader that keeps up a slow pace (the pause is the behaviour under
// test, not a wait for time to pass) until the proxy closes the
// connection, `within` passes, or `enough` bytes came.
slow_read read_slowly(const target& where, const std::string& request_bytes, std::size_t piece,
                      std::chrono::milliseconds pause, std::size_t enough, std::chrono::seconds within) {
  slow_read out;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  // A small receive buffer: the proxy finds out early that the client is slow.
  const int buffer = 64 * 1024;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  const timeval read_timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &read_timeout, sizeof read_timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(where.port);
  ::inet_pton(AF_INET, where.host.c_str(), &address.sin_addr);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::send(fd, request_bytes.data(), request_bytes.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(request_bytes.size())) {
    ::close(fd);
    throw std::runtime_error("cannot send the request");
  }
  const auto deadline = std::chrono::steady_clock::now() + within;
  std::vector<char> chunk(piece);
  while (out.received < enough && std::chrono::steady_clock::now() < deadline) {
    const auto n = ::recv(fd, chunk.data(), chunk.size(), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      out.closed = true;  // end of stream or reset
      break;
    }
    if (n > 0) {
      if (out.received == 0) {
        const std::string_view first(chunk.data(), static_cast<std::size_t>(n));
        out.status_line = std::string(first.substr(0, first.find("\r\n")));
      }
      out.received += static_cast<std::size_t>(n);
    }
    std::this_thread::sleep_for(pause);
  }
  ::close(fd);
  return out;
}

// Item 10: a client reading a streamed answer slower than
// upstream.min_stream_rate on average (after request_timeout) is cut off,
// so it cannot hold an upstream connection and a stream slot for as long as
// it likes. The reader here keeps up at most 1.25 MiB/s, at which the whole
// 20 MiB would take over 16 s; with a minimum of 8 MiB/s it is cut within
// seconds of the grace (the default minimum, 64 KiB/s, would let it be).
TEST(IsolationStreams, ReadersSlowerThanTheMinimumStreamRateAreCutOff) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  opts.request_timeout = "3s";  // the grace; the fake takes about a second to answer 20 MiB
  opts.upstream_extra = "  min_stream_rate: 8MiB/s\n";
  proxy_process proxy(dir, opts);

  // The close is seen once the socket buffers (a few MiB) are drained too.
  const auto got = read_slowly(proxy.where(), large_download, 64 * 1024, std::chrono::milliseconds(50),
                               large_download_bytes, std::chrono::seconds(40));
  EXPECT_EQ(got.status_line, "HTTP/1.1 200 OK");
  EXPECT_TRUE(got.closed) << "still streaming after 40 s; " << got.received << " bytes read";
  EXPECT_LT(got.received, large_download_bytes) << "the whole body came: the slow reader was never cut off";
  EXPECT_TRUE(log_mentions(proxy, "it read slower than upstream.min_stream_rate")) << proxy.process().log();
}

// A client that stops reading altogether is cut off by the write deadline
// (listen.read_timeout) once the socket buffers are full.
TEST(IsolationStreams, ReadersThatStopReadingAreCutOffByTheWriteDeadline) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  opts.listen_extra = "  read_timeout: 1s\n";
  proxy_process proxy(dir, opts);

  http_connection stalled(proxy.where(), std::chrono::seconds(5));
  stalled.write_raw(large_download);
  // Nothing is read until the proxy says it gave up (bounded wait).
  EXPECT_TRUE(log_mentions(proxy, "a write took longer than listen.read_timeout")) << proxy.process().log();
  const auto got = stalled.read_until_close();
  EXPECT_LT(got.size(), large_download_bytes) << "the whole body came: the stalled reader was never cut off";
}

}  // namespace
}  // namespace ghp_test

namespace ghp_test {
namespace {

// Every representation GitHub serves by media type is its own entry: each
// client gets what it asked for, whatever others asked before.
TEST_F(CachePoisoning, EachMediaTypeIsServedItsOwnRepresentation) {
  const auto auth = std::pair<std::string, std::string>{"Authorization", "token " + ci_token};
  struct want {
    std::string path, accept, body_starts;
  };
  const std::vector<want> wants = {
      {"/repos/octo-org/repo-2/commits/abc123", "application/vnd.github.diff", "diff --git"},
      {"/repos/octo-org/repo-2/commits/abc123", "application/vnd.github.patch", "From abc123"},
      {"/repos/octo-org/repo-2/commits/abc123", "application/vnd.github+json", "{"},
      {"/repos/octo-org/repo-2/contents/README.md", "application/vnd.github.html", "<div"},
      {"/repos/octo-org/repo-2/contents/README.md", "application/vnd.github.text", "# "},
      {"/repos/octo-org/repo-2/contents/README.md", "application/vnd.github.raw", "# "},
      {"/repos/octo-org/repo-2/contents/README.md", "application/vnd.github+json", "{"},
  };
  // An attacker first tries to store the JSON under every other key.
  for (const auto& w : wants) {
    const auto attack = request(proxy_->where(), "GET", w.path, {auth, {"Accept", w.accept}, {"Connection", "Accept"}});
    EXPECT_EQ(attack.result_int(), 400u) << w.accept;
  }
  for (int round = 0; round < 2; ++round) {  // a miss, then a revalidated hit
    for (const auto& w : wants) {
      const auto res = request(proxy_->where(), "GET", w.path, {auth, {"Accept", w.accept}});
      EXPECT_EQ(res.result_int(), 200u) << w.accept;
      EXPECT_EQ(res.body().substr(0, w.body_starts.size()), w.body_starts)
          << w.path << " as " << w.accept << " (round " << round << "): " << res.body().substr(0, 60);
    }
  }
}

}  // namespace
}  // namespace ghp_test

namespace ghp_test {
namespace {

// Item 11: a registry reload runs on a background thread of its own. Here
// it is made as slow as the test likes: the registry file is replaced by a
// FIFO whose only writer is the test, so the reloader's read blocks until
// the test writes. Meanwhile, with a single I/O thread, clients are served
// and the admin listener answers its probes.
class blocked_registry_read {
 public:
  // Swaps `registry_path` for a FIFO the test holds open for writing.
  blocked_registry_read(const temp_dir& dir, std::string registry_path)
      : dir_(dir), registry_path_(std::move(registry_path)) {
    const auto fifo = dir_.file("registry.fifo");
    if (::mkfifo(fifo.c_str(), 0600) != 0) throw std::runtime_error("mkfifo");
    // O_RDWR does not wait for a reader, and keeps a writer on the FIFO:
    // the reloader's open succeeds and its read blocks.
    writer_ = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
    if (writer_ < 0 || ::rename(fifo.c_str(), registry_path_.c_str()) != 0) throw std::runtime_error("fifo");
  }
  // Puts `content` in a regular file at the registry path, then lets the
  // blocked read finish (its data is not taken: the FIFO's size is not its
  // content's, so the reloader reads the path again on its next poll).
  void release(const std::string& content) {
    if (writer_ < 0) return;
    dir_.write("registry.next", content);
    ::rename(dir_.file("registry.next").c_str(), registry_path_.c_str());
    [[maybe_unused]] const auto written = ::write(writer_, content.data(), content.size());
    ::close(writer_);
    writer_ = -1;
  }
  // Never leaves the proxy's reloader blocked (it would keep the process
  // from stopping).
  ~blocked_registry_read() { release(registry_yaml({{"ci", ci_token, ""}})); }

 private:
  const temp_dir& dir_;
  std::string registry_path_;
  int writer_ = -1;
};

// True while the process `pid` has `path` open (its registry reloader is
// inside open → read).
bool holds_open(pid_t pid, const std::string& path) {
  const auto fds = "/proc/" + std::to_string(pid) + "/fd";
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator(fds, ec)) {
    std::error_code link_ec;
    if (std::filesystem::read_symlink(fd.path(), link_ec) == path) return true;
  }
  return false;
}

TEST(IsolationRegistry, ABlockedReloadStallsNeitherClientsNorProbes) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  opts.threads = 1;  // a reload on the I/O thread would stall everything
  proxy_process proxy(dir, opts);
  const auto auth = std::pair<std::string, std::string>{"Authorization", "token " + ci_token};
  ASSERT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-1", {auth}).result_int(), 200u);

  blocked_registry_read blocked(dir, proxy.registry_path());
  ASSERT_TRUE(cache_support::poll_until([&] { return holds_open(proxy.process().pid(), proxy.registry_path()); }))
      << "the reloader never opened the FIFO";

  // The reload is blocked now; everything else goes on, promptly.
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    const auto res = request(proxy.where(), "GET", "/repos/octo-org/repo-2", {auth});
    EXPECT_EQ(res.result_int(), 200u) << res.body();
  }
  EXPECT_EQ(request(proxy.admin(), "GET", "/healthz").result_int(), 200u);
  EXPECT_EQ(request(proxy.admin(), "GET", "/readyz").result_int(), 200u);
  EXPECT_EQ(request(proxy.admin(), "GET", "/metrics").result_int(), 200u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_TRUE(holds_open(proxy.process().pid(), proxy.registry_path())) << "the reload was not blocked throughout";

  // Once the read can finish, the reloader goes on: a client added now is
  // known shortly, and the process still stops cleanly.
  const std::string late_token = "ghpx_test_late_token";
  blocked.release(registry_yaml({{"ci", ci_token, ""}, {"late", late_token, ""}}));
  EXPECT_TRUE(cache_support::poll_until(
      [&] {
        return request(proxy.where(), "GET", "/repos/octo-org/repo-1", {{"Authorization", "token " + late_token}})
                   .result_int() == 200u;
      },
      std::chrono::seconds(5), std::chrono::milliseconds(50)));
  proxy.process().signal(SIGTERM);
  EXPECT_EQ(proxy.process().wait(std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace ghp_test

namespace ghp_test {
namespace {

// An upstream answer without a body (a 304 here) that says Connection:
// close ends its connection: it must not go back to the keep-alive pool,
// where the next request would be written to a socket GitHub closed. A
// POST is not retried on a fresh connection, so it would fail with a 502.
TEST(IsolationUpstream, ABodilessAnswerWithConnectionCloseIsNotReused) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  opts.threads = 1;  // one upstream pool: the next request takes its idle connection
  proxy_process proxy(dir, opts);
  const auto auth = std::pair<std::string, std::string>{"Authorization", "token " + ci_token};
  ASSERT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-1", {auth}).result_int(), 200u);

  fake.control("POST", "/_fake/faults", R"({"path_prefix":"/repos/octo-org/repo-1","method":"GET","close":true})");
  const auto revalidated = request(proxy.where(), "GET", "/repos/octo-org/repo-1", {auth});
  EXPECT_EQ(revalidated.result_int(), 200u);
  EXPECT_EQ(cache_support::cache_status(revalidated), cache_support::status_revalidated);

  const auto created = request(proxy.where(), "POST", "/repos/octo-org/repo-1/issues",
                               {auth, {"Content-Type", "application/json"}}, R"({"title":"after a closing 304"})");
  EXPECT_EQ(created.result_int(), 201u) << created.body();
  const auto seen = fake.requests(3).as_array();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].at("status").as_int64(), 304);
  EXPECT_EQ(seen[2].at("method").as_string(), "POST");
  EXPECT_EQ(seen[2].at("status").as_int64(), 201);
}

}  // namespace
}  // namespace ghp_test

namespace ghp_test {
namespace {

// Request bodies held at once are bounded in total, and one client may
// hold only a share (a quarter) of that: a client announcing bodies it
// never sends cannot have everyone else refused. The harness' proxy (two
// threads, 32 MiB bodies) has a 256 MiB budget, 64 MiB per client.
TEST(IsolationBodies, OneClientHoldsOnlyItsShareOfTheBodyBudget) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  const std::string other_token = "ghpx_test_other_token";
  opts.clients = {{"ci", ci_token, ""}, {"other", other_token, ""}};
  proxy_process proxy(dir, opts);

  // "ci" announces eight 32 MiB bodies and sends none: the whole budget
  // if nothing stopped it. `100 Continue` says a body was admitted.
  std::vector<http_connection> announced;
  int admitted = 0, refused = 0;
  for (int i = 0; i < 8; ++i) {
    auto& conn = announced.emplace_back(proxy.where(), std::chrono::seconds(5));
    const auto res = conn.send_raw("POST /repos/octo-org/repo-1/issues HTTP/1.1\r\nHost: x\r\nAuthorization: token " +
                                   ci_token + "\r\nContent-Type: application/json\r\nContent-Length: 33554432\r\n"
                                   "Expect: 100-continue\r\n\r\n");
    if (res.result_int() == 100) {
      ++admitted;
    } else {
      EXPECT_EQ(res.result_int(), 429u) << res.body();
      EXPECT_EQ(res[http::field::retry_after], "1");
      ++refused;
    }
  }
  EXPECT_EQ(admitted, 2);
  EXPECT_EQ(refused, 6);
  EXPECT_EQ(cache_support::metric_once_at_least(proxy, "github_proxy_rejected_requests_total",
                                                {{"client", "ci"}, {"reason", "budget"}}, 6),
            6);
  // Everyone else still gets their bodies in.
  const auto created = request(proxy.where(), "POST", "/repos/octo-org/repo-1/issues",
                               {{"Authorization", "token " + other_token}, {"Content-Type", "application/json"}},
                               R"({"title":"next to a client that hoards the body budget"})");
  EXPECT_EQ(created.result_int(), 201u) << created.body();
}

}  // namespace
}  // namespace ghp_test
