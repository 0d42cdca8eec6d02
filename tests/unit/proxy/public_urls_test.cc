// The client's view of GitHub's URLs: public base, JSON bodies, Link and
// Location (src/proxy/public_urls.h, docs/contract.md §5 "Rewriting").
#include "proxy/public_urls.h"

#include <string>

#include <boost/beast/http/fields.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace github_proxy::proxy {
namespace {

namespace http = boost::beast::http;

http::fields with(std::initializer_list<std::pair<std::string_view, std::string_view>> list) {
  http::fields f;
  for (const auto& [name, value] : list) f.insert(name, value);
  return f;
}

// ---- public base ------------------------------------------------------------

TEST(PublicBase, ConfiguredWinsOverEverything) {
  const auto req = with({{"Host", "ignored"}, {"X-Forwarded-Host", "also.ignored"}});
  EXPECT_EQ(public_base("https://proxy.example.com/", req, {false, "10.0.0.1:8080", true}),
            "https://proxy.example.com");
}

TEST(PublicBase, HostAndTheListenerScheme) {
  EXPECT_EQ(public_base("", with({{"Host", "127.0.0.1:8080"}}), {false, "", false}), "http://127.0.0.1:8080");
  EXPECT_EQ(public_base("", with({{"Host", "proxy.internal"}}), {true, "", false}), "https://proxy.internal");
}

TEST(PublicBase, NoOrOddHostFallsBackToTheListenerAddress) {
  EXPECT_EQ(public_base("", with({}), {false, "10.0.0.5:8080", false}), "http://10.0.0.5:8080");
  EXPECT_EQ(public_base("", with({{"Host", "evil.com/path?"}}), {false, "10.0.0.5:8080", false}),
            "http://10.0.0.5:8080");
  EXPECT_EQ(public_base("", with({{"Host", "a\"b"}}), {false, "", false}), "http://localhost");
}

TEST(PublicBase, ForwardedFieldsOnlyFromATrustedPeer) {
  const auto req = with({{"Host", "pod:8080"},
                         {"Forwarded", "for=1.2.3.4;proto=http;host=first.example, for=5.6.7.8;proto=https;host=\"proxy.example.com\""}});
  EXPECT_EQ(public_base("", req, {false, "", true}), "https://proxy.example.com");
  EXPECT_EQ(public_base("", req, {false, "", false}), "http://pod:8080");

  const auto xf = with({{"Host", "pod:8080"}, {"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", "a.example, gh.example.com"}});
  EXPECT_EQ(public_base("", xf, {false, "", true}), "https://gh.example.com");
  EXPECT_EQ(public_base("", xf, {false, "", false}), "http://pod:8080");

  // Values that could not be part of a URL are skipped, never copied.
  const auto bad = with({{"Host", "pod:8080"}, {"X-Forwarded-Proto", "javascript"}, {"X-Forwarded-Host", "x/y"}});
  EXPECT_EQ(public_base("", bad, {false, "", true}), "http://pod:8080");
}

TEST(TrustedProxies, AddressesAndNetworks) {
  std::string error;
  const auto list = trusted_proxies::parse("10.0.0.0/8, 192.168.1.7 ::1 fd00::/8", &error);
  ASSERT_TRUE(list) << error;
  using boost::asio::ip::make_address;
  EXPECT_TRUE(list->contains(make_address("10.1.2.3")));
  EXPECT_TRUE(list->contains(make_address("192.168.1.7")));
  EXPECT_FALSE(list->contains(make_address("192.168.1.8")));
  EXPECT_TRUE(list->contains(make_address("::1")));
  EXPECT_TRUE(list->contains(make_address("fd12::1")));
  EXPECT_TRUE(list->contains(make_address("::ffff:10.9.9.9")));  // v4-mapped
  const auto mapped = trusted_proxies::parse("::ffff:192.0.2.1");
  ASSERT_TRUE(mapped);
  EXPECT_TRUE(mapped->contains(make_address("192.0.2.1")));
  EXPECT_TRUE(mapped->contains(make_address("::ffff:192.0.2.1")));
  EXPECT_FALSE(trusted_proxies::parse("::ffff:10.0.0.0/104"));
  EXPECT_FALSE(list->contains(make_address("11.0.0.1")));
  EXPECT_FALSE(trusted_proxies::parse("10.0.0.0/33", &error));
  EXPECT_NE(error.find("10.0.0.0/33"), std::string::npos);
  EXPECT_FALSE(trusted_proxies::parse("proxy.example.com"));
  EXPECT_TRUE(trusted_proxies::parse("")->empty());
}

// ---- JSON bodies ------------------------------------------------------------

const api_origins github = origins_of("https://api.github.com");

TEST(BodyUrls, OriginsOfGithubAndGhes) {
  EXPECT_EQ(github.uploads, "https://uploads.github.com");
  const auto ghes = origins_of("https://ghe.corp/api/v3/");
  EXPECT_EQ(ghes.rest, "https://ghe.corp/api/v3");
  EXPECT_EQ(ghes.uploads, "https://ghe.corp/api/uploads");
  EXPECT_EQ(origins_of("http://127.0.0.1:9000").uploads, "");
}

TEST(BodyUrls, OnlyJsonIsRewritten) {
  EXPECT_TRUE(is_json_media_type("application/json; charset=utf-8"));
  EXPECT_TRUE(is_json_media_type("Application/JSON"));
  EXPECT_TRUE(is_json_media_type("application/vnd.github+json"));
  EXPECT_FALSE(is_json_media_type("application/vnd.github.raw"));
  EXPECT_FALSE(is_json_media_type("text/plain; charset=utf-8"));
  EXPECT_FALSE(is_json_media_type("application/jsonx"));
  EXPECT_FALSE(is_json_media_type(""));
}

TEST(BodyUrls, GithubsOwnUrlsAndTemplatesAreRewritten) {
  const std::string body =
      R"({"url":"https://api.github.com/repos/o/r","issues_url":"https://api.github.com/repos/o/r/issues{/number}",)"
      R"("html_url":"https://github.com/o/r","upload_url":"https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}",)"
      R"("root_url":"https://api.github.com","search_url":"https://api.github.com?x=1",)"
      R"("_links":{"self":{"href":"https://api.github.com/repos/o/r/pulls/1"}},"git" : "https://api.github.com/x",)"
      R"("list":["https://api.github.com/z"]})";
  const url_replacements to{"http://p:8080/api/v3", "http://p:8080/api/uploads"};
  const auto out = rewrite_api_urls(body, github, to);
  const auto json = boost::json::parse(out).as_object();
  EXPECT_EQ(json.at("url").as_string(), "http://p:8080/api/v3/repos/o/r");
  EXPECT_EQ(json.at("issues_url").as_string(), "http://p:8080/api/v3/repos/o/r/issues{/number}");
  EXPECT_EQ(json.at("html_url").as_string(), "https://github.com/o/r");
  EXPECT_EQ(json.at("upload_url").as_string(), "http://p:8080/api/uploads/repos/o/r/releases/1/assets{?name,label}");
  EXPECT_EQ(json.at("root_url").as_string(), "http://p:8080/api/v3");
  EXPECT_EQ(json.at("search_url").as_string(), "http://p:8080/api/v3?x=1");
  EXPECT_EQ(json.at("_links").at("self").at("href").as_string(), "http://p:8080/api/v3/repos/o/r/pulls/1");
  EXPECT_EQ(json.at("git").as_string(), "http://p:8080/api/v3/x");
  EXPECT_EQ(json.at("list").at(0).as_string(), "http://p:8080/api/v3/z");

  url_cuts cuts;
  ASSERT_TRUE(find_api_urls(body, github, cuts));
  EXPECT_EQ(cuts.size(), 8u);
  // A string longer than any URL is not one.
  const std::string long_string = R"({"url":"https://api.github.com/)" + std::string(longest_url, 'a') + R"("})";
  EXPECT_EQ(rewrite_api_urls(long_string, github, to), long_string);
  EXPECT_EQ(rewritten_size(body.size(), cuts, github, to), out.size());
}

TEST(BodyUrls, UserTextAndLongerHostsAreLeftAlone) {
  const std::string body =
      R"({"body":"see https://api.github.com/repos/o/r for details","evil":"https://api.github.com.evil.example/x",)"
      R"("userinfo_url":"https://api.github.com@evil.example/","tail_url":"xhttps://api.github.com/y",)"
      R"("title":"https://api.github.com/repos/o/r is what the user wrote","body":"https://api.github.com/x\nsee?",)"
      R"("quoted":"\"https://api.github.com/x\"",)"
      R"("end_url":"https://api.github.com)";
  url_cuts cuts;
  ASSERT_TRUE(find_api_urls(body, github, cuts));
  EXPECT_TRUE(cuts.empty());
  EXPECT_EQ(rewrite_api_urls(body, github, {"http://p", "http://p/api/uploads"}), body);
}

TEST(BodyUrls, PiecesMakeTheRewrittenTextWithoutCopyingTheBody) {
  const std::string body = R"({"url":"https://api.github.com/a","x":"plain","upload_url":"https://uploads.github.com/b"})";
  url_cuts cuts;
  ASSERT_TRUE(find_api_urls(body, github, cuts));
  const url_replacements to{"http://p", "http://p/api/uploads"};
  std::string joined;
  int pieces = 0;
  for_each_piece(body, cuts, github, to, [&](std::string_view piece) {
    joined.append(piece);
    ++pieces;
  });
  EXPECT_EQ(joined, R"({"url":"http://p/a","x":"plain","upload_url":"http://p/api/uploads/b"})");
  EXPECT_EQ(pieces, 5);
}

// One scan finds both origins: the cuts come out in order, whichever origin
// each is, and an origin that begins the other never takes the other's URL.
TEST(BodyUrls, BothOriginsInOneScanInOrder) {
  const std::string body =
      R"(["https://uploads.github.com/a","https://api.github.com/b","https://github.com/c","https://uploads.github.com/d"])";
  url_cuts cuts;
  ASSERT_TRUE(find_api_urls(body, github, cuts));
  ASSERT_EQ(cuts.size(), 3u);
  EXPECT_TRUE(cuts[0].uploads);
  EXPECT_FALSE(cuts[1].uploads);
  EXPECT_TRUE(cuts[2].uploads);
  EXPECT_LT(cuts[0].at, cuts[1].at);
  EXPECT_LT(cuts[1].at, cuts[2].at);

  const api_origins nested{"https://h", "https://h/uploads"};
  const std::string two = R"(["https://h/uploads/x","https://h/repos/y"])";
  EXPECT_EQ(rewrite_api_urls(two, nested, {"http://p", "http://p/api/uploads"}),
            R"(["http://p/api/uploads/x","http://p/repos/y"])");
}

TEST(BodyUrls, StreamingGivesTheSameTextWhereverThePiecesSplit) {
  std::string body = "[";
  for (int i = 0; i < 200; ++i) {
    body += R"({"url":"https://api.github.com/repos/o/r/git/blobs/)" + std::to_string(i) +
            R"(","note":"https://api.github.com is GitHub","html_url":"https://github.com/x",)"
            R"("a_rather_long_key_name_for_a_url": "https://api.github.com/repos/o/r/x"},)";
  }
  body += R"({"upload_url":"https://uploads.github.com/z"}])";
  const url_replacements to{"https://proxy.example.com/api/v3", "https://proxy.example.com/api/uploads"};
  const auto whole = rewrite_api_urls(body, github, to);
  url_cuts cuts;
  ASSERT_TRUE(find_api_urls(body, github, cuts));
  ASSERT_EQ(cuts.size(), 401u);
  for (std::size_t step : {1u, 2u, 7u, 23u, 24u, 25u, 64u, 4096u}) {
    streaming_url_rewriter rewriter(github, to);
    std::string out;
    for (std::size_t pos = 0; pos < body.size(); pos += step) {
      rewriter.feed(std::string_view(body).substr(pos, step), out);
    }
    rewriter.finish(out);
    EXPECT_EQ(out, whole) << "pieces of " << step;
  }
}

// ---- Link and Location ------------------------------------------------------

TEST(LinkRewrite, PagesComeBackInTheNameFormTheClientUsed) {
  const std::string link =
      R"(<https://api.github.com/repositories/515435940/issues?per_page=3&page=2>; rel="prev", )"
      R"(<https://api.github.com/repositories/515435940/issues?per_page=3&page=4>; rel="next", )"
      R"(<https://api.github.com/repositories/515435940/issues?per_page=3&page=1>; title="a, <b>"; rel="first")";
  EXPECT_EQ(rewrite_link(link, "https://api.github.com", "http://proxy:8080/api/v3", "/repos/o/r/issues"),
            R"(<http://proxy:8080/api/v3/repos/o/r/issues?per_page=3&page=2>; rel="prev", )"
            R"(<http://proxy:8080/api/v3/repos/o/r/issues?per_page=3&page=4>; rel="next", )"
            R"(<http://proxy:8080/api/v3/repos/o/r/issues?per_page=3&page=1>; title="a, <b>"; rel="first")");
  // A client that asked by id keeps the id form.
  EXPECT_EQ(rewrite_link(R"(<https://api.github.com/repositories/1/issues?page=2>; rel="next")",
                         "https://api.github.com", "http://p", "/repositories/1/issues"),
            R"(<http://p/repositories/1/issues?page=2>; rel="next")");
}

TEST(LinkRewrite, OtherOriginsAreDroppedNotPassedThrough) {
  const std::string link =
      R"(<https://uploads.github.com/x>; rel="other", <https://api.github.com.evil.example/x>; rel="evil", )"
      R"(<https://api.github.com/user/repos?page=2>; rel="next")";
  EXPECT_EQ(rewrite_link(link, "https://api.github.com", "http://p", "/user/repos"),
            R"(<http://p/user/repos?page=2>; rel="next")");
  EXPECT_EQ(rewrite_link(R"(<https://elsewhere/x>; rel="next")", "https://api.github.com", "http://p", "/x"), "");
  EXPECT_EQ(rewrite_link("garbage without brackets", "https://a", "http://b", "/x"), "");
}

TEST(LinkRewrite, NameForms) {
  EXPECT_EQ(name_form("/repositories/42/issues", "/repos/o/r/issues"), "/repos/o/r/issues");
  EXPECT_EQ(name_form("/repositories/42", "/repos/o/r"), "/repos/o/r");
  EXPECT_EQ(name_form("/organizations/7/repos", "/orgs/octo-org/repos"), "/orgs/octo-org/repos");
  EXPECT_EQ(name_form("/user/9/repos", "/users/octocat/repos"), "/users/octocat/repos");
  EXPECT_FALSE(name_form("/repositories/42/pulls", "/repos/o/r/issues"));  // another resource
  EXPECT_FALSE(name_form("/repositories/x/issues", "/repos/o/r/issues"));
  EXPECT_FALSE(name_form("/organizations/7/repos", "/repos/o/r/repos"));
  EXPECT_FALSE(name_form("/repositories/42/issues", "/repos/o"));
  EXPECT_FALSE(name_form("/repositories/42/issues", "/reposx/o/r/issues"));
  EXPECT_EQ(name_form("/search/issues", "/search/issues"), "/search/issues");
}

TEST(LocationRewrite, ApiOriginOnlyDownloadsKeepTheirHost) {
  EXPECT_EQ(rewrite_location("https://ghe.corp/api/v3/repositories/1", "https://ghe.corp/api/v3", "https://proxy"),
            "https://proxy/repositories/1");
  EXPECT_EQ(rewrite_location("https://api.github.com", "https://api.github.com", "http://p"), "http://p");
  EXPECT_EQ(rewrite_location("https://codeload.github.com/o/r/legacy.tar.gz/refs/heads/main",
                             "https://api.github.com", "http://p"),
            "https://codeload.github.com/o/r/legacy.tar.gz/refs/heads/main");
  EXPECT_EQ(rewrite_location("https://api.github.comx/y", "https://api.github.com", "http://p"),
            "https://api.github.comx/y");
}

}  // namespace
}  // namespace github_proxy::proxy
