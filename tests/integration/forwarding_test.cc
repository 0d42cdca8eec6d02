// The proxy in front of the fake GitHub, over real sockets: what a client
// sees, and what reaches GitHub (docs/contract.md §5 "Paths", "Forwarding", "Rewriting").
#include <set>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/harness.h"

namespace ghp_test {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

const std::string client_token = "ghpx_test_ci_token";
const std::pair<std::string, std::string> client_auth{"Authorization", "token " + client_token};

class Forwarding : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = std::make_unique<fake_github>(dir_);
    proxy_process::options opts;
    opts.upstream_url = fake_->url();
    proxy_ = std::make_unique<proxy_process>(dir_, opts);
  }

  // The last request the fake GitHub received, as JSON.
  json::object last_upstream_request() {
    auto all = fake_->requests(1).as_array();
    EXPECT_FALSE(all.empty());
    return all.back().as_object();
  }

  static std::string header(const json::object& req, std::string_view name) {
    for (const auto& h : req.at("headers").as_array()) {
      const auto& pair = h.as_array();
      if (boost::beast::iequals(std::string_view(pair[0].as_string()), name)) {
        return std::string(pair[1].as_string());
      }
    }
    return "<absent>";
  }

  // A body the fake wrote, as this proxy's client sees it: GitHub's URLs on
  // the proxy's base in the layout `prefix` (docs/contract.md §5 "Rewriting").
  std::string client_view(std::string body, const std::string& prefix = "") const {
    const std::string from = "\"" + fake_->url();
    const std::string to = "\"" + proxy_->url() + prefix;
    for (auto at = body.find(from); at != std::string::npos; at = body.find(from, at + to.size())) {
      body.replace(at, from.size(), to);
    }
    return body;
  }

  temp_dir dir_;
  std::unique_ptr<fake_github> fake_;
  std::unique_ptr<proxy_process> proxy_;
};

TEST_F(Forwarding, ResponseDiffersFromDirectOnlyInTheHeadersTheSpecChanges) {
  // The same request straight to the fake with the upstream token, then
  // through the proxy with a proxy token.
  const std::vector<std::pair<std::string, std::string>> common{
      {"Accept", "application/vnd.github+json"}, {"User-Agent", "github-proxy/" GITHUB_PROXY_VERSION}};
  auto direct_headers = common;
  direct_headers.emplace_back("Authorization", "token upstream-token-1");
  const auto direct = request(fake_->where(), "GET", "/repos/octo-org/repo-1", direct_headers);
  auto proxied_headers = common;
  proxied_headers.push_back(client_auth);
  const auto proxied = request(proxy_->where(), "GET", "/repos/octo-org/repo-1", proxied_headers);

  ASSERT_EQ(direct.result_int(), 200);
  ASSERT_EQ(proxied.result_int(), 200);
  // GitHub's URLs in the body point at the proxy; nothing else changes.
  EXPECT_NE(direct.body(), proxied.body());
  EXPECT_EQ(client_view(direct.body()), proxied.body());
  EXPECT_EQ(proxied.body().find(fake_->url()), std::string::npos);
  EXPECT_EQ(proxied[http::field::content_length], std::to_string(proxied.body().size()));
  EXPECT_EQ(direct[http::field::etag], proxied[http::field::etag]) << "same credential, same ETag";

  // Headers that legitimately differ between two requests to GitHub, and
  // those the proxy sets (docs/contract.md §5): nothing else may differ.
  // Content-Length follows the rewritten body (checked above).
  const std::set<std::string> varying{"date", "x-github-request-id", "x-ratelimit-remaining",
                                      "x-ratelimit-used", "cache-status", "connection", "keep-alive",
                                      "content-length"};
  auto collect = [&](const http_response& res) {
    std::multiset<std::string> out;
    for (const auto& f : res.base()) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!varying.count(name)) out.insert(name + ": " + std::string(f.value()));
    }
    return out;
  };
  EXPECT_EQ(collect(direct), collect(proxied));
  // The first read of a resource is fetched and stored (docs/contract.md §6).
  EXPECT_EQ(proxied["Cache-Status"], "github-proxy; fwd=miss; stored");
  EXPECT_EQ(proxied["X-RateLimit-Remaining"].empty(), false);
}

TEST_F(Forwarding, SendsEndToEndHeadersQueryAndBodyByteForByte) {
  const std::string query = "?b=2&a=1&a=3&path=dir%2Ffile&empty=&q=a+b%20c";
  const std::string body = R"({"title":"héllo","body":"x\u0000y"})";
  const auto res = request(proxy_->where(), "POST", "/repos/octo-org/repo-1/issues" + query,
                           {client_auth,
                            {"Content-Type", "application/json"},
                            {"X-Custom", "kept"},
                            {"X-GitHub-Api-Version", "2022-11-28"},
                            {"Connection", "keep-alive, X-Hop"},
                            {"X-Hop", "dropped"},
                            {"Keep-Alive", "timeout=5"},
                            {"TE", "trailers"},
                            {"Proxy-Authorization", "Basic c2VjcmV0"},
                            {"User-Agent", "curl/8.0"}},
                           body);
  ASSERT_EQ(res.result_int(), 201) << res.body();
  const auto up = last_upstream_request();
  EXPECT_EQ(up.at("method").as_string(), "POST");
  EXPECT_EQ(up.at("target").as_string(), "/repos/octo-org/repo-1/issues" + query);
  EXPECT_EQ(up.at("body_sha256").as_string(), sha256_hex(body));
  EXPECT_EQ(up.at("body_length").to_number<std::size_t>(), body.size());
  EXPECT_EQ(header(up, "Authorization"), "token upstream-token-1");
  EXPECT_EQ(header(up, "User-Agent"), "github-proxy/" GITHUB_PROXY_VERSION);
  EXPECT_EQ(header(up, "X-Custom"), "kept");
  EXPECT_EQ(header(up, "X-GitHub-Api-Version"), "2022-11-28");
  EXPECT_EQ(header(up, "Content-Type"), "application/json");
  for (const char* hop : {"X-Hop", "Keep-Alive", "TE", "Proxy-Authorization"}) {
    EXPECT_EQ(header(up, hop), "<absent>") << hop;
  }
  // The proxy token never reaches GitHub.
  EXPECT_EQ(json::serialize(up).find(client_token), std::string::npos);
}

TEST_F(Forwarding, ServesBothLayoutsAndRewritesLinkToTheProxy) {
  const auto plain = request(proxy_->where(), "GET", "/repos/octo-org/repo-0/issues?per_page=10&state=open",
                             {client_auth});
  ASSERT_EQ(plain.result_int(), 200);
  const std::string link(plain[http::field::link]);
  // Pages of /repos/{o}/{r}/issues come back in that name form, not
  // GitHub's /repositories/{id} (a client scoped to the repository follows them).
  EXPECT_NE(link.find("<" + proxy_->url() + "/repos/octo-org/repo-0/issues?"), std::string::npos) << link;
  EXPECT_EQ(link.find("/repositories/"), std::string::npos) << link;
  EXPECT_EQ(link.find(fake_->url()), std::string::npos) << link;
  EXPECT_NE(link.find("rel=\"next\""), std::string::npos);

  const auto ghes = request(proxy_->where(), "GET", "/api/v3/repos/octo-org/repo-0/issues?per_page=10",
                            {client_auth});
  ASSERT_EQ(ghes.result_int(), 200);
  // GitHub gets the GHES client's request in its own layout (checked now:
  // the plain request below goes upstream with the same target).
  EXPECT_EQ(last_upstream_request().at("target").as_string(), "/repos/octo-org/repo-0/issues?per_page=10");
  // The same stored body, with the URLs in the layout each client used.
  const auto plain_body = request(proxy_->where(), "GET", "/repos/octo-org/repo-0/issues?per_page=10",
                                  {client_auth}).body();
  EXPECT_NE(ghes.body(), plain_body);
  EXPECT_NE(ghes.body().find("\"" + proxy_->url() + "/api/v3/repos/octo-org/repo-0/issues/"), std::string::npos);
  // Every URL of GitHub's is rewritten: a URL left on the fake's origin would
  // be the same in both layouts and pass the comparison below.
  EXPECT_EQ(plain_body.find(fake_->url()), std::string::npos) << plain_body;
  EXPECT_EQ(ghes.body().find(fake_->url()), std::string::npos) << ghes.body();
  std::string as_ghes = plain_body;
  const std::string plain_origin = "\"" + proxy_->url() + "/";
  int rewritten = 0;
  for (auto at = as_ghes.find(plain_origin); at != std::string::npos; at = as_ghes.find(plain_origin, at + 1)) {
    as_ghes.insert(at + plain_origin.size() - 1, "/api/v3");
    ++rewritten;
  }
  // 10 issues, each with url, repository_url, labels_url, comments_url, ...
  EXPECT_GE(rewritten, 10 * 4) << "the plain body names too few proxy URLs for the comparison to mean anything";
  EXPECT_EQ(ghes.body(), as_ghes);
  const std::string ghes_link(ghes[http::field::link]);
  EXPECT_NE(ghes_link.find("<" + proxy_->url() + "/api/v3/repos/octo-org/repo-0/issues?"), std::string::npos)
      << ghes_link;

  // Following the rewritten link stays on the proxy and gets page 2.
  const auto next_start = ghes_link.find('<') + 1 + proxy_->url().size();
  const auto next = ghes_link.substr(next_start, ghes_link.find('>') - next_start);
  const auto page2 = request(proxy_->where(), "GET", next, {client_auth});
  EXPECT_EQ(page2.result_int(), 200);
  EXPECT_NE(page2[http::field::link].find("rel=\"prev\""), std::string::npos);
}

TEST_F(Forwarding, ReturnsRedirectsRewritingOnlySameOriginLocations) {
  const auto moved = request(proxy_->where(), "GET", "/repos/octo-org/old-name", {client_auth});
  EXPECT_EQ(moved.result_int(), 301);
  EXPECT_EQ(moved[http::field::location], proxy_->url() + "/repositories/1000");

  const auto tarball = request(proxy_->where(), "GET", "/api/v3/repos/octo-org/repo-1/tarball/main",
                               {client_auth});
  EXPECT_EQ(tarball.result_int(), 302);
  EXPECT_TRUE(tarball[http::field::location].starts_with("https://codeload.github.com/"))
      << tarball[http::field::location];
  // Not followed: exactly one upstream request for the tarball.
  EXPECT_EQ(last_upstream_request().at("target").as_string(), "/repos/octo-org/repo-1/tarball/main");
}

TEST_F(Forwarding, RoutesGraphqlOnBothPaths) {
  for (const char* path : {"/graphql", "/api/graphql"}) {
    const auto res = request(proxy_->where(), "POST", path,
                             {client_auth, {"Content-Type", "application/json"}},
                             R"({"query":"query { viewer { login } }"})");
    EXPECT_EQ(res.result_int(), 200) << path << ": " << res.body();
    EXPECT_EQ(last_upstream_request().at("target").as_string(), "/graphql") << path;
  }
}

TEST_F(Forwarding, HeadAndConditionalRequestsPassThrough) {
  const auto get = request(proxy_->where(), "GET", "/repos/octo-org/repo-2", {client_auth});
  ASSERT_EQ(get.result_int(), 200);
  const auto head = request(proxy_->where(), "HEAD", "/repos/octo-org/repo-2", {client_auth});
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_TRUE(head.body().empty());
  EXPECT_EQ(head[http::field::content_length], std::to_string(get.body().size()));

  const auto not_modified = request(proxy_->where(), "GET", "/repos/octo-org/repo-2",
                                    {client_auth, {"If-None-Match", std::string(get[http::field::etag])}});
  EXPECT_EQ(not_modified.result_int(), 304);
  EXPECT_TRUE(not_modified.body().empty());
}

TEST_F(Forwarding, KeepAliveAndPipelinedRequestsAnswerInOrder) {
  http_connection conn(proxy_->where());
  const std::string auth = "Authorization: token " + client_token + "\r\n";
  conn.write_raw("GET /repos/octo-org/repo-3 HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n" + auth + "\r\n" +
                 "GET /repos/octo-org/repo-4 HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n" + auth + "\r\n");
  http_request third{http::verb::get, "/repos/octo-org/repo-5", 11};
  third.set(http::field::authorization, "token " + client_token);
  // Read both pipelined answers, then a third request on the same connection.
  const auto first = conn.send_raw("");
  EXPECT_NE(first.body().find("\"repo-3\""), std::string::npos);
  const auto second = conn.send_raw("");
  EXPECT_NE(second.body().find("\"repo-4\""), std::string::npos);
  const auto again = conn.send(third);
  EXPECT_NE(again.body().find("\"repo-5\""), std::string::npos);
}

TEST_F(Forwarding, StreamsResponsesLargerThanMaxObjectBytes) {
  // 20 MiB file: larger than the default max_object_bytes (8 MiB).
  http_response res;
  try {
    res = request(proxy_->where(), "GET", "/repos/octo-org/repo-1/contents/large-20971520.bin", {client_auth});
  } catch (const std::exception& e) {
    FAIL() << e.what() << "\n" << proxy_->process().log();
  }
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_GE(res.body().size(), 20971520u);
  const auto direct = request(fake_->where(), "GET", "/repos/octo-org/repo-1/contents/large-20971520.bin",
                              {{"Authorization", "token upstream-token-1"}, {"User-Agent", "github-proxy/" GITHUB_PROXY_VERSION}});
  // Relayed as it came, GitHub's URLs rewritten on the way (chunked: the
  // length changes).
  EXPECT_EQ(res[http::field::transfer_encoding], "chunked");
  EXPECT_EQ(sha256_hex(res.body()), sha256_hex(client_view(direct.body())));
  EXPECT_EQ(res.body().find(fake_->url()), std::string::npos);
}

}  // namespace
}  // namespace ghp_test
