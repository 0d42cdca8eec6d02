// The client registry seen from outside, over real sockets (docs/contract.md §4, §5
// "Authentication" and "Scopes"): who gets 401 / 403 and that nothing of it
// reaches GitHub, the token forms, GraphQL read-only, expiry, hot reload
// under load (atomic rename, invalid edits, a ConfigMap symlink swap), and
// the check-registry / hash-token / new-token commands.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "support/harness.h"

namespace ghp_test {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

using header_list = std::vector<std::pair<std::string, std::string>>;

const std::string ci_token = "ghpx_test_ci_token";
const std::string scoped_token = "ghpx_test_scoped_token";
const std::string gql_token = "ghpx_test_gql_token";
const std::string expired_token = "ghpx_test_expired_token";
const std::string future_token = "ghpx_test_future_token";

std::pair<std::string, std::string> token_auth(const std::string& token) {
  return {"Authorization", "token " + token};
}

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');  // EVP_EncodeBlock writes a NUL
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                     reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(length));
  return out;
}

json::object json_body(const http_response& res) {
  json::error_code ec;
  auto value = json::parse(res.body(), ec);
  if (ec || !value.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << res.body();
    return {};
  }
  return value.as_object();
}

void expect_bad_credentials(const http_response& res, const std::string& what) {
  EXPECT_EQ(res.result_int(), 401) << what << ": " << res.body();
  EXPECT_EQ(res[http::field::content_type], "application/json; charset=utf-8") << what;
  const auto body = json_body(res);
  ASSERT_TRUE(body.contains("message")) << what;
  EXPECT_EQ(body.at("message").as_string(), "Bad credentials") << what;
  ASSERT_TRUE(body.contains("documentation_url")) << what;
  EXPECT_TRUE(body.at("documentation_url").as_string().starts_with("https://docs.github.com/")) << what;
}

// A proxy with a registry of several kinds of client in front of the fake.
class Registry : public ::testing::Test {
 protected:
  static std::vector<test_client> default_clients() {
    return {
        {"ci", ci_token, ""},
        {"scoped", scoped_token,
         "    scopes:\n"
         "      - {method: GET|HEAD, path: \"/repos/octo-org/repo-1(/.*)?\"}\n"},
        {"gql", gql_token,
         "    scopes:\n"
         "      - {method: POST, path: /graphql, graphql: query}\n"},
        {"expired", expired_token, "    expires: 2020-01-01\n"},
        {"future", future_token, "    expires: 2099-12-31\n"},
    };
  }

  void start(std::vector<test_client> clients, std::vector<std::string> fake_args = {}) {
    fake_github::options fake_opts;
    fake_opts.extra_args = std::move(fake_args);
    fake_ = std::make_unique<fake_github>(dir_, fake_opts);
    proxy_process::options opts;
    opts.upstream_url = fake_->url();
    opts.clients = std::move(clients);
    proxy_ = std::make_unique<proxy_process>(dir_, opts);
    registry_name_ = fs::path(proxy_->registry_path()).filename().string();
  }

  http_response get(const std::string& path, const header_list& headers) {
    return request(proxy_->where(), "GET", path, headers);
  }
  unsigned status_with(const std::string& token, const std::string& path = "/repos/octo-org/repo-1") {
    return get(path, {token_auth(token)}).result_int();
  }

  void clear_upstream_log() { fake_->control("DELETE", "/_fake/requests"); }
  // Targets the fake GitHub received since the last clear, oldest first.
  std::vector<std::string> upstream_targets() {
    std::vector<std::string> out;
    const auto log = fake_->requests(1000);
    for (const auto& r : log.as_array()) {
      out.emplace_back(r.at("method").as_string().c_str() + std::string(" ") +
                       r.at("target").as_string().c_str());
    }
    return out;
  }
  static std::string upstream_header(const json::object& req, std::string_view name) {
    for (const auto& h : req.at("headers").as_array()) {
      const auto& pair = h.as_array();
      if (boost::beast::iequals(std::string_view(pair[0].as_string()), name)) {
        return std::string(pair[1].as_string());
      }
    }
    return "<absent>";
  }

  // Replaces the registry the proxy reads, atomically (write + rename).
  void write_registry(const std::string& yaml) { dir_.write(registry_name_, yaml); }

  double reloads(const std::string& result) {
    return proxy_->metric("github_proxy_registry_reloads_total", {{"result", result}});
  }
  double client_gauge() { return proxy_->metric("github_proxy_registry_clients"); }

  temp_dir dir_;
  std::unique_ptr<fake_github> fake_;
  std::unique_ptr<proxy_process> proxy_;
  std::string registry_name_;
};

// 1. Missing and unknown tokens: 401 with GitHub's body, nothing upstream.
TEST_F(Registry, UnknownOrMissingTokenIs401AndNothingGoesUpstream) {
  start(default_clients());
  clear_upstream_log();

  expect_bad_credentials(get("/repos/octo-org/repo-1", {}), "no Authorization");
  expect_bad_credentials(get("/repos/octo-org/repo-1", {token_auth("ghpx_unknown")}), "unknown token");
  expect_bad_credentials(get("/repos/octo-org/repo-1", {{"Authorization", "Bearer ghpx_unknown"}}),
                         "unknown bearer");
  expect_bad_credentials(
      get("/repos/octo-org/repo-1", {{"Authorization", "Basic " + base64("x-access-token:ghpx_unknown")}}),
      "unknown basic");
  expect_bad_credentials(get("/repos/octo-org/repo-1", {{"Authorization", "token"}}), "empty token");
  expect_bad_credentials(get("/repos/octo-org/repo-1", {{"Authorization", "token " + ci_token + "x"}}),
                         "token with a suffix");
  // The upstream credential itself is not a proxy token.
  expect_bad_credentials(get("/repos/octo-org/repo-1", {token_auth("upstream-token-1")}),
                         "the upstream token");
  // Not only GETs: a POST with a body and GraphQL are refused the same way.
  expect_bad_credentials(request(proxy_->where(), "POST", "/repos/octo-org/repo-1/issues",
                                 {{"Content-Type", "application/json"}}, R"({"title":"x"})"),
                         "anonymous POST");
  expect_bad_credentials(request(proxy_->where(), "POST", "/graphql", {token_auth("ghpx_unknown")},
                                 R"({"query":"{ viewer { login } }"})"),
                         "unknown token on GraphQL");

  EXPECT_TRUE(upstream_targets().empty()) << "a rejected request reached GitHub";
  EXPECT_GE(proxy_->metric("github_proxy_rejected_requests_total", {{"client", "unauthenticated"}}), 9);
}

// 2. `token`, `Bearer` and HTTP Basic forms identify the client; GitHub sees
// the pool credential, never the proxy token.
TEST_F(Registry, TokenBearerAndBasicFormsAreAccepted) {
  start(default_clients());
  const std::vector<std::pair<std::string, std::string>> forms{
      {"token", "token " + ci_token},
      {"Bearer", "Bearer " + ci_token},
      {"bearer (lower case)", "bearer " + ci_token},
      {"Basic x-access-token:T", "Basic " + base64("x-access-token:" + ci_token)},
      {"Basic T:", "Basic " + base64(ci_token + ":")},
      {"Basic T:x-oauth-basic", "Basic " + base64(ci_token + ":x-oauth-basic")},
  };
  for (const auto& [label, value] : forms) {
    clear_upstream_log();
    const auto res = get("/repos/octo-org/repo-1", {{"Authorization", value}});
    EXPECT_EQ(res.result_int(), 200) << label << ": " << res.body();
    const auto seen = fake_->requests(10).as_array();
    ASSERT_EQ(seen.size(), 1u) << label;
    const auto& upstream = seen.back().as_object();
    EXPECT_EQ(upstream_header(upstream, "Authorization"), "token upstream-token-1") << label;
    std::ostringstream all_headers;
    all_headers << upstream.at("headers");
    EXPECT_EQ(all_headers.str().find(ci_token), std::string::npos) << label << ": proxy token sent upstream";
  }
  // Counted once the response is written: poll.
  EXPECT_TRUE(poll_until([&] {
    return proxy_->metric("github_proxy_requests_total", {{"client", "ci"}, {"code", "200"}}) ==
           static_cast<double>(forms.size());
  })) << proxy_->metric("github_proxy_requests_total", {{"client", "ci"}, {"code", "200"}});
}

// 3. Scopes: allowed requests pass, others get 403 naming client, method and
// path, and nothing goes upstream; dot segments cannot escape a scope.
TEST_F(Registry, ScopesAllowRefuseAndCannotBeEscaped) {
  start(default_clients());
  const auto scoped = token_auth(scoped_token);

  clear_upstream_log();
  EXPECT_EQ(get("/repos/octo-org/repo-1", {scoped}).result_int(), 200);
  EXPECT_EQ(get("/repos/octo-org/repo-1/issues?per_page=2", {scoped}).result_int(), 200);
  EXPECT_EQ(get("/api/v3/repos/octo-org/repo-1", {scoped}).result_int(), 200);
  EXPECT_EQ(upstream_targets().size(), 3u);
  // The target goes upstream byte for byte (docs/contract.md §5), so the
  // scope is decided on exactly those bytes: a dot segment, even one that
  // would resolve inside the scope, is refused (400) and nothing is sent.
  for (const char* inside : {"/repos/octo-org/repo-1/./issues/1", "/repos/octo-org/repo-2/../repo-1"}) {
    clear_upstream_log();
    const auto res = get(inside, {scoped});
    EXPECT_EQ(res.result_int(), 400) << inside << ": " << res.body();
    EXPECT_TRUE(upstream_targets().empty()) << inside;
  }

  clear_upstream_log();
  {
    const auto res = get("/repos/octo-org/repo-2", {scoped});
    EXPECT_EQ(res.result_int(), 403) << res.body();
    EXPECT_EQ(res[http::field::content_type], "application/json; charset=utf-8");
    const auto message = std::string(json_body(res).at("message").as_string());
    EXPECT_NE(message.find("scoped"), std::string::npos) << message;
    EXPECT_NE(message.find("GET"), std::string::npos) << message;
    EXPECT_NE(message.find("/repos/octo-org/repo-2"), std::string::npos) << message;
    EXPECT_TRUE(json_body(res).contains("documentation_url"));
  }
  {
    const auto res = request(proxy_->where(), "DELETE", "/repos/octo-org/repo-1", {scoped});
    EXPECT_EQ(res.result_int(), 403) << res.body();
    const auto message = std::string(json_body(res).at("message").as_string());
    EXPECT_NE(message.find("scoped"), std::string::npos) << message;
    EXPECT_NE(message.find("DELETE"), std::string::npos) << message;
    EXPECT_NE(message.find("/repos/octo-org/repo-1"), std::string::npos) << message;
  }
  {
    const auto res = request(proxy_->where(), "POST", "/repos/octo-org/repo-1/issues",
                             {scoped, {"Content-Type", "application/json"}}, R"({"title":"x"})");
    EXPECT_EQ(res.result_int(), 403) << res.body();
  }
  // A prefix is not a match: the pattern is anchored at both ends.
  EXPECT_EQ(get("/repos/octo-org/repo-10", {scoped}).result_int(), 403);

  // Escapes: every spelling of `..` (raw, encoded, beside an encoded
  // slash, double-encoded) and every empty segment is refused (400).
  for (const char* refused : {"/repos/octo-org/repo-1/../repo-2",
                              "/repos/octo-org/repo-1/%2e%2e/repo-2",
                              "/repos/octo-org/repo-1/%2E%2E/repo-2",
                              "/repos/octo-org/repo-1/.%2e/repo-2",
                              "/repos/octo-org/repo-1/%2e%2e%2frepo-2",
                              "/repos/octo-org/repo-1%2f..%2frepo-2",
                              "/api/v3/repos/octo-org/repo-1/../repo-2",
                              "/repos/octo-org/repo-1/issues/../../repo-2/issues",
                              "/repos/octo-org/repo-1/..//repo-2",
                              "/repos/octo-org/repo-1/%252e%252e/repo-2",
                              "/repos/octo-org/repo-1/..;/repo-2",
                              "/repos/octo-org/repo-1/..%5crepo-2",
                              "/repos/../../repos/octo-org/repo-1"}) {
    const auto res = get(refused, {scoped});
    EXPECT_EQ(res.result_int(), 400) << refused << ": " << res.body();
  }
  EXPECT_TRUE(upstream_targets().empty()) << "a refused request reached GitHub: " << upstream_targets().front();

  // An unscoped client may use any path.
  EXPECT_EQ(status_with(ci_token, "/repos/octo-org/repo-2"), 200);
  EXPECT_GE(proxy_->metric("github_proxy_rejected_requests_total", {{"client", "scoped"}}), 1);
}

// 4. `graphql: query`: queries pass, mutations (however spelled) are 403.
TEST_F(Registry, GraphqlQueryOnlyClientCannotMutate) {
  start(default_clients());
  const header_list gql{token_auth(gql_token), {"Content-Type", "application/json"}};
  auto post = [&](const std::string& path, const std::string& body) {
    return request(proxy_->where(), "POST", path, gql, body);
  };

  clear_upstream_log();
  EXPECT_EQ(post("/graphql", R"({"query":"query { viewer { login } }"})").result_int(), 200);
  EXPECT_EQ(post("/graphql", R"({"query":"{ viewer { login } }"})").result_int(), 200);
  EXPECT_EQ(post("/api/graphql", R"({"query":"query Q { viewer { login } }","operationName":"Q"})").result_int(),
            200);
  EXPECT_EQ(upstream_targets().size(), 3u);

  clear_upstream_log();
  const std::string mutation = R"(mutation { addStar(input: {starrableId: \"R_1\"}) { clientMutationId } })";
  {
    const auto res = post("/graphql", R"({"query":")" + mutation + R"("})");
    EXPECT_EQ(res.result_int(), 403) << res.body();
    const auto message = std::string(json_body(res).at("message").as_string());
    EXPECT_NE(message.find("gql"), std::string::npos) << message;
    EXPECT_NE(message.find("POST"), std::string::npos) << message;
    EXPECT_NE(message.find("/graphql"), std::string::npos) << message;
  }
  for (const std::string& body : std::vector<std::string>{
           R"({"query":")" + mutation + R"("})",  // on /api/graphql below
           R"({"query":"query A { viewer { login } } mutation B { addStar(input: {starrableId: \"R_1\"}) { clientMutationId } }","operationName":"B"})",
           R"({"query":"query A { viewer { login } } mutation B { addStar(input: {starrableId: \"R_1\"}) { clientMutationId } }"})",
           R"({"query":"subscription { x }"})",
           R"({"query":"mutation"})",
           R"(not json)",
       }) {
    EXPECT_EQ(post("/api/graphql", body).result_int(), 403) << body;
  }
  // The same document in the query string of a GET (GraphQL over HTTP).
  EXPECT_EQ(request(proxy_->where(), "GET", "/graphql?query=mutation%20%7B%20x%20%7D", gql).result_int(), 403);
  // Nothing but GraphQL is in its scopes.
  EXPECT_EQ(get("/repos/octo-org/repo-1", {token_auth(gql_token)}).result_int(), 403);
  EXPECT_TRUE(upstream_targets().empty()) << "a refused request reached GitHub: " << upstream_targets().front();

  // An unscoped client may mutate.
  EXPECT_EQ(request(proxy_->where(), "POST", "/graphql", {token_auth(ci_token)}, R"({"query":")" + mutation + R"("})")
                .result_int(),
            200);
}

// 5. An expired client is refused exactly like an unknown token.
TEST_F(Registry, ExpiredClientIs401) {
  start(default_clients());
  clear_upstream_log();
  expect_bad_credentials(get("/repos/octo-org/repo-1", {token_auth(expired_token)}), "expired");
  expect_bad_credentials(get("/repos/octo-org/repo-1", {{"Authorization", "Bearer " + expired_token}}),
                         "expired bearer");
  EXPECT_TRUE(upstream_targets().empty());
  EXPECT_EQ(status_with(future_token), 200) << "a client that expires later is served";
}

// An expiry after 2262-04-11, where a nanosecond system_clock ends, is still
// in the future: a client registered "forever" is served (registry_values.cc
// parse_expiry clamps it to the clock's end; it used to wrap into 1830 and
// the client was refused with 401).
TEST(RegistryExpiry, FarFutureExpiryIsNotInThePast) {
  temp_dir dir;
  fake_github fake(dir);
  proxy_process::options opts;
  opts.upstream_url = fake.url();
  opts.clients = {{"forever", "ghpx_test_forever_token", "    expires: 2999-12-31\n"},
                  {"forever-instant", "ghpx_test_forever2_token", "    expires: 9999-12-31T23:59:59Z\n"}};
  proxy_process proxy(dir, opts);
  EXPECT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-1", {token_auth("ghpx_test_forever_token")})
                .result_int(),
            200);
  EXPECT_EQ(request(proxy.where(), "GET", "/repos/octo-org/repo-1", {token_auth("ghpx_test_forever2_token")})
                .result_int(),
            200);
}

// 6. Hot reload under load: a new client appears and a removed one goes,
// while a steady client's requests all succeed.
TEST_F(Registry, HotReloadUnderLoadLosesNoRequest) {
  const test_client steady{"steady", "ghpx_test_steady_token", ""};
  const test_client doomed{"doomed", "ghpx_test_doomed_token", ""};
  const test_client newbie{"newbie", "ghpx_test_newbie_token", ""};
  start({steady, doomed}, {"--core-limit", "100000000"});
  ASSERT_EQ(status_with(doomed.token), 200);
  ASSERT_EQ(status_with(newbie.token), 401);
  const double success_before = reloads("success");
  EXPECT_EQ(client_gauge(), 2);

  constexpr int threads = 4;
  constexpr int max_requests_per_thread = 20000;  // hard cap
  const auto hard_deadline = std::chrono::steady_clock::now() + 15s;
  std::atomic<bool> stop{false};
  std::atomic<long> sent{0};
  std::atomic<long> failed{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;  // first few, for the message
  auto note_failure = [&](std::string what) {
    ++failed;
    std::lock_guard lock(failures_mutex);
    if (failures.size() < 5) failures.push_back(std::move(what));
  };
  std::vector<std::thread> load;
  for (int t = 0; t < threads; ++t) {
    load.emplace_back([&, t] {
      std::optional<http_connection> conn;
      for (int i = 0; i < max_requests_per_thread && !stop && std::chrono::steady_clock::now() < hard_deadline;
           ++i) {
        try {
          // Thread 0 opens a connection per request, the others keep theirs alive.
          if (!conn || t == 0) conn.emplace(proxy_->where(), 5s);
          http_request req{http::verb::get, i % 2 ? "/repos/octo-org/repo-1" : "/repos/octo-org/repo-2/issues/1", 11};
          req.set(http::field::host, "127.0.0.1");
          req.set(http::field::authorization, (t % 2 ? "Bearer " : "token ") + steady.token);
          const auto res = conn->send(std::move(req));
          ++sent;
          if (res.result_int() != 200) {
            note_failure("status " + std::to_string(res.result_int()) + ": " + res.body());
          }
          if (!res.keep_alive()) conn.reset();
        } catch (const std::exception& e) {
          note_failure(std::string("exception: ") + e.what());
          conn.reset();
        }
      }
    });
  }
  auto wait_for_more_load = [&](long extra) {
    const long target = sent + extra;
    return poll_until([&] { return sent >= target || failed > 0; });
  };

  ASSERT_TRUE(wait_for_more_load(100)) << "the load threads do not get answers";

  // Add a client.
  write_registry(registry_yaml({steady, doomed, newbie}));
  EXPECT_TRUE(poll_until([&] { return status_with(newbie.token) == 200; })) << "the new client never got in";
  // The metrics are updated just after the new snapshot is published: poll.
  EXPECT_TRUE(poll_until([&] { return reloads("success") >= success_before + 1; })) << reloads("success");
  EXPECT_TRUE(poll_until([&] { return client_gauge() == 3; })) << client_gauge();
  EXPECT_TRUE(wait_for_more_load(100));

  // Remove another one.
  write_registry(registry_yaml({steady, newbie}));
  EXPECT_TRUE(poll_until([&] { return status_with(doomed.token) == 401; })) << "the removed client still works";
  EXPECT_EQ(status_with(doomed.token), 401) << "the removed client came back";
  EXPECT_EQ(status_with(newbie.token), 200);
  EXPECT_TRUE(poll_until([&] { return reloads("success") >= success_before + 2; })) << reloads("success");
  EXPECT_TRUE(poll_until([&] { return client_gauge() == 2; })) << client_gauge();
  EXPECT_TRUE(wait_for_more_load(100));

  stop = true;
  for (auto& thread : load) thread.join();
  EXPECT_EQ(failed.load(), 0) << "of " << sent.load() << " steady requests; first: "
                              << (failures.empty() ? "" : failures.front());
  EXPECT_GT(sent.load(), 300);
  RecordProperty("steady_requests", static_cast<int>(sent.load()));
  EXPECT_EQ(reloads("error"), 0);
  EXPECT_TRUE(proxy_->process().running());
}

// 7. An invalid edit is counted and the previous registry keeps serving; a
// later valid edit is still picked up.
TEST_F(Registry, InvalidEditKeepsTheOldRegistry) {
  const test_client ci{"ci", ci_token, ""};
  const test_client newbie{"newbie", "ghpx_test_newbie_token", ""};
  start({ci});
  ASSERT_EQ(reloads("error"), 0);

  // A duplicate name (and a new client that must therefore not appear).
  write_registry(registry_yaml({ci, newbie, {"ci", "ghpx_another_token", ""}}));
  EXPECT_TRUE(poll_until([&] { return reloads("error") >= 1; })) << "the invalid edit was not noticed";
  EXPECT_EQ(status_with(ci_token), 200);
  EXPECT_EQ(status_with(newbie.token), 401);
  EXPECT_EQ(client_gauge(), 1);

  // Broken YAML.
  write_registry("version: 1\nclients:\n  - name: ci\n    token_sha256: [" + sha256_hex(ci_token) + "\n");
  EXPECT_TRUE(poll_until([&] { return reloads("error") >= 2; })) << "the broken YAML was not noticed";
  EXPECT_EQ(status_with(ci_token), 200);
  EXPECT_EQ(request(proxy_->admin(), "GET", "/readyz").result_int(), 200);
  EXPECT_EQ(reloads("success"), 0);

  // An empty file (a half-finished edit) is invalid too.
  write_registry("");
  EXPECT_TRUE(poll_until([&] { return reloads("error") >= 3; })) << "the empty file was not noticed";
  EXPECT_EQ(status_with(ci_token), 200);

  // Fixed: the reloader still works.
  write_registry(registry_yaml({ci, newbie}));
  EXPECT_TRUE(poll_until([&] { return status_with(newbie.token) == 200; }));
  EXPECT_TRUE(poll_until([&] { return reloads("success") == 1; })) << reloads("success");
  EXPECT_TRUE(poll_until([&] { return client_gauge() == 2; })) << client_gauge();
  EXPECT_EQ(reloads("error"), 3);
  EXPECT_EQ(status_with(ci_token), 200);
  const auto log = proxy_->process().log();
  EXPECT_NE(log.find("duplicate client name 'ci'"), std::string::npos) << log;
}

// 8. A Kubernetes ConfigMap mount: registry.yaml → ..data/registry.yaml,
// ..data → ..<timestamp>/, and an update swaps ..data atomically.
TEST_F(Registry, ConfigMapSymlinkSwapIsFollowed) {
  const test_client ci{"ci", ci_token, ""};
  const test_client first{"first", "ghpx_test_first_token", ""};
  const test_client second{"second", "ghpx_test_second_token", ""};
  start({ci});
  const fs::path root = dir_.path();

  auto make_version = [&](const std::string& name, const std::vector<test_client>& clients) {
    fs::create_directory(root / name);
    std::ofstream(root / name / "registry.yaml") << registry_yaml(clients);
  };
  // The first version, then the harness's file replaced by the mount's link.
  make_version("..2024_01_01_00_00_00.1", {ci, first});
  fs::create_directory_symlink("..2024_01_01_00_00_00.1", root / "..data");
  fs::create_symlink("..data/registry.yaml", root / "registry.yaml.link-tmp");
  fs::rename(root / "registry.yaml.link-tmp", proxy_->registry_path());
  ASSERT_TRUE(fs::is_symlink(proxy_->registry_path()));
  EXPECT_TRUE(poll_until([&] { return status_with(first.token) == 200; })) << "the symlinked file was not read";
  EXPECT_EQ(status_with(ci_token), 200);

  // The kubelet's update: a new directory, a new ..data link renamed over
  // the old one, the old directory removed.
  make_version("..2024_01_02_00_00_00.2", {ci, second});
  fs::create_directory_symlink("..2024_01_02_00_00_00.2", root / "..data_tmp");
  fs::rename(root / "..data_tmp", root / "..data");
  fs::remove_all(root / "..2024_01_01_00_00_00.1");
  EXPECT_TRUE(poll_until([&] { return status_with(second.token) == 200; })) << "the swap was not seen";
  EXPECT_EQ(status_with(first.token), 401);
  EXPECT_EQ(status_with(ci_token), 200);
  EXPECT_TRUE(poll_until([&] { return reloads("success") >= 2; })) << reloads("success");
  EXPECT_TRUE(poll_until([&] { return client_gauge() == 2; })) << client_gauge();
  EXPECT_EQ(reloads("error"), 0);
}

// 9. The command-line tools.
std::string run_tool(const temp_dir& dir, const std::string& log_name, const std::vector<std::string>& argv,
                     int expected_status) {
  child_process tool(argv, dir.file(log_name));
  const auto status = tool.wait(10s);
  EXPECT_TRUE(status.has_value()) << log_name << " did not finish";
  EXPECT_EQ(status.value_or(-1), expected_status) << tool.log();
  return tool.log();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(RegistryTools, CheckRegistryReportsEveryMistakeWithItsLine) {
  temp_dir dir;
  // Line numbers matter: mistakes on lines 5, 9 and 10.
  dir.write("registry.yaml",
            "version: 1\n"                                                   // 1
            "clients:\n"                                                     // 2
            "  - name: alpha\n"                                              // 3
            "    scopes: [{method: GET, path: /repos/.*}]\n"                 // 4
            "    token_sha256: not-a-hash\n"                                 // 5
            "  - name: beta\n"                                               // 6
            "    token_sha256: " + sha256_hex("beta") + "\n"                 // 7
            "    scopes:\n"                                                  // 8
            "      - {method: GET, path: \"/repos/(oops\"}\n"                // 9
            "  - name: alpha\n"                                              // 10
            "    token_sha256: " + sha256_hex("alpha-2") + "\n");           // 11
  const auto file = dir.file("registry.yaml");
  const auto out = run_tool(dir, "check.log", {proxy_binary(), "check-registry", file}, 1);
  const auto lines = lines_of(out);
  auto line_with = [&](const std::string& prefix, const std::string& words) {
    for (const auto& l : lines) {
      if (l.starts_with(prefix) && l.find(words) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(line_with(file + ":5: ", "token_sha256")) << out;
  EXPECT_TRUE(line_with(file + ":9: ", "invalid path pattern")) << out;
  EXPECT_TRUE(line_with(file + ":10: ", "duplicate client name 'alpha'")) << out;
  EXPECT_NE(out.find("3 errors"), std::string::npos) << out;

  // The same file fixed passes.
  dir.write("fixed.yaml", "version: 1\nclients:\n  - name: alpha\n    token_sha256: " + sha256_hex("a") + "\n");
  const auto ok = run_tool(dir, "check-ok.log", {proxy_binary(), "check-registry", dir.file("fixed.yaml")}, 0);
  EXPECT_NE(ok.find("ok, 1 client"), std::string::npos) << ok;
}

TEST(RegistryTools, HashTokenReadsStandardInput) {
  temp_dir dir;
  const auto out = run_tool(dir, "hash.log",
                            {"/bin/sh", "-c", "printf tok | '" + proxy_binary() + "' hash-token"}, 0);
  EXPECT_EQ(out, "sha256:" + sha256_hex("tok") + "\n");
  // A trailing newline (echo, a file) is not part of the token.
  const auto with_newline = run_tool(dir, "hash-nl.log",
                                     {"/bin/sh", "-c", "printf 'tok\\n' | '" + proxy_binary() + "' hash-token"}, 0);
  EXPECT_EQ(with_newline, "sha256:" + sha256_hex("tok") + "\n");
}

TEST(RegistryTools, NewTokenPrintsATokenAndItsHash) {
  temp_dir dir;
  const auto out = run_tool(dir, "new.log", {proxy_binary(), "new-token", "--client", "x"}, 0);
  const auto lines = lines_of(out);
  ASSERT_FALSE(lines.empty());
  const std::string token = lines.front();
  EXPECT_TRUE(token.starts_with("ghpx_")) << out;
  EXPECT_EQ(token.size(), 5u + 43u) << "256 bits in base62: " << token;
  EXPECT_EQ(token.find_first_not_of("ghpx_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
            std::string::npos)
      << token;
  bool has_name = false;
  std::string hash_line;
  for (const auto& l : lines) {
    if (l.find("- name: x") != std::string::npos) has_name = true;
    if (l.find("token_sha256:") != std::string::npos) hash_line = l;
  }
  EXPECT_TRUE(has_name) << out;
  EXPECT_EQ(hash_line, "  token_sha256: " + sha256_hex(token)) << out;
  EXPECT_EQ(out.find(token, token.size()), std::string::npos) << "the token is printed once";

  // Two runs never give the same token.
  const auto again = run_tool(dir, "new2.log", {proxy_binary(), "new-token", "--client", "x"}, 0);
  EXPECT_NE(lines_of(again).front(), token);
}

}  // namespace
}  // namespace ghp_test
