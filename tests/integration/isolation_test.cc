// What one client sends must not hurt anyone else (issue "Isolation"): each
// test here reproduces an attack over real sockets against the daemon and
// the fake GitHub, and checks the proxy's answer and what reached GitHub.
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <sstream>

#include "support/harness.h"

namespace ghp_test {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

const std::string ci_token = "ghpx_test_ci_token";

class Isolation : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = std::make_unique<fake_github>(dir_);
    proxy_process::options opts;
    opts.upstream_url = fake_->url();
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
  EXPECT_GE(proxy_->metric("github_proxy_requests_total", {{"code", "400"}}), 1);
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
  ASSERT_GE(proxy_->metric("github_proxy_requests_total", {{"code", "400"}}), 1);
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
