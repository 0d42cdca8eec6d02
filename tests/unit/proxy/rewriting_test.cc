#include "proxy/rewriting.h"
#include "proxy/routing.h"

#include <boost/beast/http/fields.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace github_proxy::proxy {
namespace {

namespace http = boost::beast::http;

TEST(ForwardingRoute, BothLayoutsAndGraphql) {
  struct row {
    std::string_view target, prefix, path;
    bool graphql;
  };
  const row rows[] = {
      {"/repos/a/b", "", "/repos/a/b", false},
      {"/api/v3/repos/a/b?x=1", "/api/v3", "/repos/a/b?x=1", false},
      {"/api/v3", "/api/v3", "", false},
      {"/api/v3?per_page=1", "/api/v3", "?per_page=1", false},
      {"/api/v3x/repos", "", "/api/v3x/repos", false},  // not the prefix: a segment boundary is needed
      {"/graphql", "", "/graphql", true},
      {"/api/graphql", "/api", "/graphql", true},
      {"/api/v3/graphql", "/api/v3", "/graphql", true},
      {"/graphqlx", "", "/graphqlx", false},
      {"/", "", "/", false},
  };
  for (const auto& r : rows) {
    routed_path out;
    ASSERT_TRUE(route_target(r.target, out)) << r.target;
    EXPECT_EQ(out.client_prefix, r.prefix) << r.target;
    EXPECT_EQ(out.path_and_query, r.path) << r.target;
    EXPECT_EQ(out.graphql, r.graphql) << r.target;
  }
  routed_path out;
  EXPECT_FALSE(route_target("http://evil.example/x", out));
  EXPECT_FALSE(route_target("*", out));
  EXPECT_FALSE(route_target("", out));
}

TEST(ForwardingRoute, UpstreamTargets) {
  EXPECT_EQ(upstream_target("", "/repos/a?x=%2F&x=2"), "/repos/a?x=%2F&x=2");
  EXPECT_EQ(upstream_target("/api/v3", "/repos/a"), "/api/v3/repos/a");
  EXPECT_EQ(upstream_target("", ""), "/");
  EXPECT_EQ(upstream_target("/api/v3", "?a=1"), "/api/v3/?a=1");
  EXPECT_EQ(graphql_upstream_target("/graphql", "/graphql"), "/graphql");
  EXPECT_EQ(graphql_upstream_target("/api/graphql", "/graphql?x=1"), "/api/graphql?x=1");
  EXPECT_EQ(graphql_upstream_target("", "/graphql"), "/graphql");
}

TEST(ForwardingHeaders, RequestHopByHopAndOwnedFieldsAreDropped) {
  http::fields in;
  in.set(http::field::host, "proxy");
  in.set(http::field::authorization, "token secret");
  in.set(http::field::user_agent, "curl/8");
  in.set(http::field::connection, "keep-alive, X-Private");
  in.set("X-Private", "1");
  in.set(http::field::keep_alive, "timeout=5");
  in.set(http::field::te, "trailers");
  in.set(http::field::transfer_encoding, "chunked");
  in.set(http::field::upgrade, "h2c");
  in.set(http::field::proxy_authorization, "Basic x");
  in.set("Proxy-Connection", "keep-alive");
  in.set(http::field::expect, "100-continue");
  in.set(http::field::content_length, "10");
  in.set(http::field::accept, "application/vnd.github+json");
  in.insert("X-Repeated", "a");
  in.insert("X-Repeated", "b");
  in.set("X-GitHub-Api-Version", "2022-11-28");

  http::fields out;
  copy_request_fields(in, out);
  std::vector<std::string> names;
  for (const auto& f : out) names.emplace_back(f.name_string());
  EXPECT_EQ(names, (std::vector<std::string>{"Accept", "X-Repeated", "X-Repeated", "X-GitHub-Api-Version"}));
  EXPECT_EQ(out.count("X-Repeated"), 2u);
}

TEST(ForwardingHeaders, ResponseHopByHopStripped) {
  http::fields f;
  f.set(http::field::connection, "close, X-Trace");
  f.set("X-Trace", "1");
  f.set(http::field::transfer_encoding, "chunked");
  f.set(http::field::etag, "\"abc\"");
  f.set("X-RateLimit-Remaining", "4999");
  strip_response_hop_by_hop(f);
  EXPECT_EQ(f.count(http::field::connection), 0u);
  EXPECT_EQ(f.count("X-Trace"), 0u);
  EXPECT_EQ(f.count(http::field::transfer_encoding), 0u);
  EXPECT_EQ(f[http::field::etag], "\"abc\"");
  EXPECT_EQ(f["X-RateLimit-Remaining"], "4999");
}

TEST(ForwardingErrors, GithubShapedBody) {
  const auto body = boost::json::parse(error_body(http::status::bad_gateway, "GitHub is \"down\""));
  EXPECT_EQ(body.at("message").as_string(), "GitHub is \"down\"");
  EXPECT_EQ(body.at("documentation_url").as_string(), "https://docs.github.com/rest");
  EXPECT_EQ(body.at("status").as_string(), "502");
}

TEST(ForwardingLog, QueryValuesAreRemoved) {
  EXPECT_EQ(loggable_target("/repos/a/b"), "/repos/a/b");
  EXPECT_EQ(loggable_target("/search/issues?q=secret+stuff&page=2"), "/search/issues?q=&page=");
  EXPECT_EQ(loggable_target("/x?flag&k=v=w"), "/x?flag&k=");
}

}  // namespace
}  // namespace github_proxy::proxy
