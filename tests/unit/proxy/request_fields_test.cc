#include "proxy/request_fields.h"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>

namespace github_proxy::proxy {
namespace {

namespace http = boost::beast::http;

request make(std::vector<std::pair<std::string, std::string>> fields) {
  request req{http::verb::get, "/repos/o/r/contents/README.md", 11};
  for (const auto& [name, value] : fields) req.insert(name, value);
  return req;
}

TEST(RequestFields, OrdinaryRequestsPassUnchanged) {
  auto req = make({{"Accept", "application/vnd.github.raw"}, {"Connection", "keep-alive"}});
  EXPECT_EQ(normalise_request_fields(req), "");
  EXPECT_EQ(req[http::field::accept], "application/vnd.github.raw");
}

TEST(RequestFields, ConnectionMayNotNameAFieldTheKeyHolds) {
  for (const auto* named : {"Accept", "accept", "close, ACCEPT", "X-GitHub-Api-Version", "Accept-Encoding"}) {
    auto req = make({{"Accept", "application/vnd.github.raw"}, {"Connection", named}});
    EXPECT_NE(normalise_request_fields(req), "") << named;
  }
}

TEST(RequestFields, RepeatedAcceptLinesAreMergedIntoWhatIsSentAndKeyed) {
  auto req = make({{"Accept", "application/vnd.github.raw"}, {"Accept", " application/json "}});
  EXPECT_EQ(normalise_request_fields(req), "");
  EXPECT_EQ(req.count(http::field::accept), 1u);
  EXPECT_EQ(req[http::field::accept], "application/vnd.github.raw, application/json");
}

TEST(RequestFields, RepeatedApiVersionIsRefused) {
  auto req = make({{"X-GitHub-Api-Version", "2022-11-28"}, {"X-GitHub-Api-Version", "2026-03-10"}});
  EXPECT_NE(normalise_request_fields(req), "");
}

TEST(RequestFields, ConnectionOptionsAreBounded) {
  std::string many;
  for (int i = 0; i < 40; ++i) many += "x-opt-" + std::to_string(i) + ",";
  auto req = make({{"Connection", many}});
  EXPECT_EQ(normalise_request_fields(req), "Too many Connection options");
  auto few = make({{"Connection", "a, b, c, a, a, a"}});
  EXPECT_EQ(normalise_request_fields(few), "");
}

TEST(RequestFields, MethodOverridesAreStrippedOrRefused) {
  auto req = make({{"X-HTTP-Method-Override", "DELETE"}, {"x-http-method", "DELETE"}, {"X-Method-Override", "PUT"}});
  EXPECT_EQ(normalise_request_fields(req), "");
  EXPECT_EQ(req.count("X-HTTP-Method-Override"), 0u);
  EXPECT_EQ(req.count("X-HTTP-Method"), 0u);
  EXPECT_EQ(req.count("X-Method-Override"), 0u);
  for (const char* target : {"/repos/o/r?_method=DELETE", "/repos/o/r?a=1&_METHOD=delete", "/repos/o/r?%5Fmethod=x"}) {
    request with_query{http::verb::post, target, 11};
    EXPECT_NE(normalise_request_fields(with_query), "") << target;
  }
  request hidden{http::verb::post, "/repos/o/r?a=1;_method=DELETE", 11};
  EXPECT_NE(normalise_request_fields(hidden), "");
  request form{http::verb::post, "/repos/o/r/issues/1/labels", 11};
  form.set(http::field::content_type, "application/x-www-form-urlencoded");
  form.body() = "labels=x&_method=DELETE";
  EXPECT_NE(normalise_request_fields(form), "");
  request json_body{http::verb::post, "/repos/o/r/issues", 11};
  json_body.set(http::field::content_type, "application/json");
  json_body.body() = R"({"title":"_method=DELETE"})";
  EXPECT_EQ(normalise_request_fields(json_body), "");
  request ordinary{http::verb::get, "/repos/o/r?method=x&per_page=2", 11};
  EXPECT_EQ(normalise_request_fields(ordinary), "");
}

}  // namespace
}  // namespace github_proxy::proxy
