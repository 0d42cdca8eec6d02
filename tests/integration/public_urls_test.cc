// To a client the proxy is a GitHub Enterprise Server (docs/contract.md §5
// "Rewriting", issue "indistinguishable from GHES"): GitHub's URLs in bodies,
// Link and Location point at the proxy's public base in the client's layout;
// pagination stays in the name form a scoped client may follow; the public
// base comes from listen.public_url, trusted Forwarded fields, Host or the
// listener. The fake GitHub writes its URLs on a fixed origin (its own
// listening URL), never from Host, so what a test sees here is the proxy's
// rewriting.
#include <string>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/cache_helpers.h"
#include "support/harness.h"

namespace ghp_test {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
using namespace cache_support;

const test_client scoped{"scoped", "ghpx_test_scoped_token",
                         "    scopes:\n      - {method: GET, path: \"/repos/octo-org/repo-0(/.*)?\"}\n"};

header_list auth(const test_client& c) { return {auth_of(c)}; }

std::string str(const json::value& v, std::string_view key) { return std::string(v.as_object().at(key).as_string()); }

// The Host header of the fake's most recent request.
std::string last_host_seen_by(fake_github& fake) {
  const auto requests = fake.requests(1).as_array();
  if (requests.empty()) return "<none>";
  for (const auto& pair : requests.back().as_object().at("headers").as_array()) {
    if (boost::beast::iequals(std::string_view(pair.as_array()[0].as_string()), "host")) {
      return std::string(pair.as_array()[1].as_string());
    }
  }
  return "<absent>";
}

TEST(PublicUrls, BodiesLinksAndLocationUseTheConfiguredPublicUrlInTheClientsLayout) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  opts.clients.push_back(scoped);
  opts.listen_extra = "  public_url: https://gh.example.com/\n";
  proxy_process proxy(dir, opts);

  for (const std::string layout : {"", "/api/v3"}) {
    const auto repo = request(proxy.where(), "GET", layout + "/repos/octo-org/repo-0", auth(ci_client));
    ASSERT_EQ(repo.result_int(), 200) << repo.body();
    const auto body = json::parse(repo.body());
    EXPECT_EQ(str(body, "url"), "https://gh.example.com" + layout + "/repos/octo-org/repo-0");
    EXPECT_EQ(str(body, "issues_url"), "https://gh.example.com" + layout + "/repos/octo-org/repo-0/issues{/number}");
    EXPECT_EQ(str(body, "html_url"), "https://github.com/octo-org/repo-0") << "github.com links are the client's";
    EXPECT_EQ(str(body.as_object().at("owner"), "url"), "https://gh.example.com" + layout + "/users/octo-org");
    EXPECT_EQ(repo.body().find(fake.url()), std::string::npos) << "GitHub's origin left in the body";
    EXPECT_EQ(repo[http::field::content_length], std::to_string(repo.body().size()));
    // The fake got its own Host, not the client's.
    EXPECT_EQ(last_host_seen_by(fake), "127.0.0.1:" + std::to_string(fake.port()));
  }

  const auto moved = request(proxy.where(), "GET", "/api/v3/repos/octo-org/old-name", auth(ci_client));
  EXPECT_EQ(moved.result_int(), 301);
  EXPECT_EQ(moved[http::field::location], "https://gh.example.com/api/v3/repositories/1000");
  EXPECT_EQ(str(json::parse(moved.body()), "url"), "https://gh.example.com/api/v3/repositories/1000");
}

TEST(PublicUrls, AScopedClientPaginatesWithinItsScope) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  opts.clients.push_back(scoped);
  proxy_process proxy(dir, opts);

  // GitHub links the pages as /repositories/1000/issues; the client asked
  // /repos/octo-org/repo-0/issues and gets its pages in that form.
  std::string next = "/api/v3/repos/octo-org/repo-0/issues?per_page=100";
  int pages = 0;
  std::size_t issues = 0;
  while (!next.empty() && pages < 10) {
    const auto page = request(proxy.where(), "GET", next, auth(scoped));
    ASSERT_EQ(page.result_int(), 200) << next << ": " << page.body();
    ++pages;
    issues += json::parse(page.body()).as_array().size();
    const std::string link(page[http::field::link]);
    EXPECT_EQ(link.find("/repositories/"), std::string::npos) << link;
    next.clear();
    const auto rel = link.find("rel=\"next\"");
    if (rel == std::string::npos) break;
    const auto open = link.rfind('<', rel);
    const auto close = link.find('>', open);
    const std::string url = link.substr(open + 1, close - open - 1);
    ASSERT_TRUE(url.starts_with(proxy.url() + "/api/v3/repos/octo-org/repo-0/issues?")) << url;
    next = url.substr(proxy.url().size());
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(issues, 250u);
}

TEST(PublicUrls, ForwardedFieldsCountOnlyFromATrustedProxy) {
  temp_dir dir;
  fake_github fake(dir);
  const header_list forwarded{auth_of(ci_client), {"X-Forwarded-Proto", "https"},
                              {"X-Forwarded-Host", "gh.example.com"}};
  {
    proxy_process::options opts;
    opts.upstream_url = fake.url();
    opts.listen_extra = "  trusted_proxies: \"10.0.0.0/8, 127.0.0.1\"\n";
    proxy_process proxy(dir, opts);
    const auto res = request(proxy.where(), "GET", "/repos/octo-org/repo-1", forwarded);
    ASSERT_EQ(res.result_int(), 200);
    EXPECT_EQ(str(json::parse(res.body()), "url"), "https://gh.example.com/repos/octo-org/repo-1");

    const auto rfc7239 = request(proxy.where(), "GET", "/api/v3/repos/octo-org/repo-1",
                                 {auth_of(ci_client), {"Forwarded", "for=10.1.1.1;proto=https;host=\"ingress.example:8443\""}});
    EXPECT_EQ(str(json::parse(rfc7239.body()), "url"), "https://ingress.example:8443/api/v3/repos/octo-org/repo-1");
  }
  {
    proxy_process::options opts;
    opts.upstream_url = fake.url();
    opts.listen_extra = "  trusted_proxies: 10.0.0.0/8\n";  // not this peer
    proxy_process proxy(dir, opts);
    const auto res = request(proxy.where(), "GET", "/repos/octo-org/repo-1", forwarded);
    ASSERT_EQ(res.result_int(), 200);
    EXPECT_EQ(str(json::parse(res.body()), "url"), proxy.url() + "/repos/octo-org/repo-1");
  }
}

TEST(PublicUrls, WithoutHostTheListenersAddressNeverGithubs) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  proxy_process proxy(dir, opts);

  http_connection conn(proxy.where());
  const auto res = conn.send_raw("GET /repos/octo-org/repo-2 HTTP/1.0\r\nAuthorization: token " + ci_client.token +
                                 "\r\n\r\n");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(str(json::parse(res.body()), "url"), proxy.url() + "/repos/octo-org/repo-2");

  // A Host that could not be part of a URL is not copied into one.
  const auto odd = request(proxy.where(), "GET", "/repos/octo-org/repo-2",
                           {auth_of(ci_client), {"Host", "evil.example/x?"}});
  ASSERT_EQ(odd.result_int(), 200);
  EXPECT_EQ(str(json::parse(odd.body()), "url"), proxy.url() + "/repos/octo-org/repo-2");
}

TEST(PublicUrls, CompressedAnswersAreRewrittenAndTheirEtagsStillMatch) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  proxy_process proxy(dir, opts);
  const header_list gzip{auth_of(ci_client), {"Accept-Encoding", "gzip"}};

  const auto first = request(proxy.where(), "GET", "/repos/octo-org/repo-3", gzip);
  ASSERT_EQ(first.result_int(), 200);
  // Inflated to be rewritten: an identity body under GitHub's weak ETag.
  EXPECT_EQ(first.count(http::field::content_encoding), 0u);
  EXPECT_EQ(first[http::field::content_length], std::to_string(first.body().size()));
  EXPECT_EQ(str(json::parse(first.body()), "url"), proxy.url() + "/repos/octo-org/repo-3");
  const std::string etag(first[http::field::etag]);
  ASSERT_TRUE(etag.starts_with("W/")) << etag;

  // Served again from the entry, and the client's validator still matches.
  const auto hit = request(proxy.where(), "GET", "/repos/octo-org/repo-3", gzip);
  EXPECT_EQ(hit.body(), first.body());
  auto conditional = gzip;
  conditional.emplace_back("If-None-Match", etag);
  const auto not_modified = request(proxy.where(), "GET", "/repos/octo-org/repo-3", conditional);
  EXPECT_EQ(not_modified.result_int(), 304);
  EXPECT_TRUE(not_modified.body().empty());

  // A HEAD answered from an entry gives the length a GET gets; one that
  // passes through gives none rather than GitHub's (other URLs, other bytes).
  const auto get_res = request(proxy.where(), "GET", "/repos/octo-org/repo-3", {auth_of(ci_client)});
  const auto head_res = request(proxy.where(), "HEAD", "/repos/octo-org/repo-3", {auth_of(ci_client)});
  EXPECT_EQ(head_res[http::field::content_length], std::to_string(get_res.body().size()));
  const auto cold_head = request(proxy.where(), "HEAD", "/repos/octo-org/repo-4", gzip);
  EXPECT_EQ(cold_head.result_int(), 200);
  EXPECT_EQ(cold_head.count(http::field::content_length), 0u);
  EXPECT_EQ(cold_head.count(http::field::content_encoding), 0u);
}

TEST(PublicUrls, TheApiRootNamesTheProxy) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  proxy_process proxy(dir, opts);
  for (const std::string root : {"/", "/api/v3", "/api/v3/"}) {
    const auto res = request(proxy.where(), "GET", root, auth(ci_client));
    ASSERT_EQ(res.result_int(), 200) << root << ": " << res.body();
    const std::string layout = root.starts_with("/api/v3") ? "/api/v3" : "";
    EXPECT_EQ(str(json::parse(res.body()), "current_user_url"), proxy.url() + layout + "/user") << root;
    EXPECT_EQ(str(json::parse(res.body()), "repository_url"), proxy.url() + layout + "/repos/{owner}/{repo}");
  }
}

TEST(PublicUrls, UploadsAreRefusedClearlyAndNothingGoesUpstream) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  proxy_process proxy(dir, opts);
  const auto before = fake.requests(1000).as_array().size();
  const auto res = request(proxy.where(), "POST", "/api/uploads/repos/octo-org/repo-0/releases/1/assets?name=a.zip",
                           {auth_of(ci_client), {"Content-Type", "application/zip"}}, std::string(1000, 'x'));
  EXPECT_EQ(res.result_int(), 501);
  EXPECT_NE(res.body().find("does not relay uploads"), std::string::npos) << res.body();
  EXPECT_NO_THROW((void)json::parse(res.body()));
  EXPECT_EQ(fake.requests(1000).as_array().size(), before);
}

TEST(PublicUrls, LongInstallationTokensFlowEverywhere) {
  // GitHub's newer installation tokens are ~520 characters (ghs_…).
  const std::string long_token = "ghs_" + std::string(516, 'Q');
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  opts.upstream_token = long_token;
  const test_client long_client{"long", "ghpx_" + std::string(600, 'L'), ""};
  opts.clients.push_back(long_client);
  proxy_process proxy(dir, opts);

  const auto res = request(proxy.where(), "GET", "/repos/octo-org/repo-4", auth(long_client));
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(usage_of(fake, long_token).requests, 1) << "the fake counts the long token as its own account";
  const auto upstream = fake.requests(1).as_array().back();
  EXPECT_NE(json::serialize(upstream).find("token " + long_token), std::string::npos);
  EXPECT_EQ(json::serialize(upstream).find(long_client.token), std::string::npos) << "a proxy token went upstream";
  EXPECT_EQ(proxy.process().log().find(long_token), std::string::npos) << "the secret was logged";
  EXPECT_EQ(proxy.process().log().find(long_client.token), std::string::npos) << "the proxy token was logged";
}

TEST(PublicUrls, AnEntryOfOneApiVersionIsNeverConfirmedForAnother) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  proxy_process proxy(dir, opts);
  const std::string path = "/repos/octo-org/repo-5";
  const header_list v1{auth_of(ci_client), {"X-GitHub-Api-Version", "2022-11-28"}};
  const header_list v2{auth_of(ci_client), {"X-GitHub-Api-Version", "2026-03-10"}};

  const auto old_version = request(proxy.where(), "GET", path, v1);
  ASSERT_EQ(old_version.result_int(), 200);
  EXPECT_EQ(cache_status(old_version), status_stored);

  // The other version's validators do not answer for this one: If-None-Match
  // with the first version's ETag gets the second version's body.
  auto v2_etag = v2;
  v2_etag.emplace_back("If-None-Match", std::string(old_version[http::field::etag]));
  const auto new_version = request(proxy.where(), "GET", path, v2_etag);
  ASSERT_EQ(new_version.result_int(), 200) << "an entry of 2022-11-28 confirmed for 2026-03-10";
  EXPECT_EQ(str(json::parse(new_version.body()), "api_version"), "2026-03-10");
  EXPECT_NE(new_version[http::field::etag], old_version[http::field::etag]);
  EXPECT_EQ(new_version["x-github-api-version-selected"], "2026-03-10");

  // If-Modified-Since of a version with no entry goes to GitHub with its
  // version; the other version's entry does not answer it.
  const std::string other = "/repos/octo-org/repo-6";
  ASSERT_EQ(request(proxy.where(), "GET", other, v1).result_int(), 200);
  const auto before = upstream_requests_for(fake, other, upstream_token_1);
  auto v2_since = v2;
  v2_since.emplace_back("If-Modified-Since", "Wed, 01 May 2030 00:00:00 GMT");
  const auto since = request(proxy.where(), "GET", other, v2_since);
  EXPECT_EQ(upstream_requests_for(fake, other, upstream_token_1).size(), before.size() + 1)
      << "answered from the 2022-11-28 entry";
  EXPECT_EQ(since.result_int(), 304);
  const auto sent = fake.requests(1).as_array().back();
  EXPECT_NE(json::serialize(sent).find("2026-03-10"), std::string::npos) << "the version was not sent upstream";

  // And the two versions are two entries: each is a hit for its own version.
  EXPECT_EQ(str(json::parse(request(proxy.where(), "GET", path, v2).body()), "api_version"), "2026-03-10");
  EXPECT_EQ(json::parse(request(proxy.where(), "GET", path, v1).body()).as_object().count("api_version"), 0u);
}

}  // namespace
}  // namespace ghp_test
