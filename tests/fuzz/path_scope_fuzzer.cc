// The path normaliser and the scope matcher (auth/path_normalizer.h,
// auth/authorize.cc). Input: method \n target \n Authorization \n body.
// Checks the normaliser's documented promises and runs `authorize` against a
// registry of regex scopes, GraphQL query-only scopes and an expired client.
#include <cstdlib>

#include "auth/path_normalizer.h"
#include "fuzz_input.h"
#include "github_proxy/auth/registry.h"

namespace {

using namespace github_proxy;

const std::shared_ptr<const auth::registry_snapshot>& registry() {
  static const auto snapshot = [] {
    auto loaded = auth::load_registry_from_string(R"(version: 1
clients:
  - name: release-bot
    token: release-token
    scopes:
      - method: GET|HEAD
        path: /repos/babylon/[^/]+(/.*)?
      - method: POST
        path: /repos/babylon/[^/]+/releases
      - method: PATCH
        path: /repos/babylon/[^/]+/releases/[0-9]+
  - name: reporter
    token: reporter-token
    scopes:
      - method: POST|GET
        path: /graphql
        graphql: query
  - name: org-reader
    token: org-token
    scopes:
      - method: GET
        path: /orgs/babylon(/.*)?
      - method: GET
        path: /users/[^/]+
  - name: admin
    token: admin-token
  - name: gone
    token: gone-token
    expires: 2020-01-01
)",
                                                  "registry.yaml");
    if (!loaded.snapshot) std::abort();
    return loaded.snapshot;
  }();
  return snapshot;
}

void check_normalized(std::string_view target) {
  const auto n = auth::normalize_path(target);
  if (n.ok) {
    // normalized_path: starts with '/', no query, no trailing '/'.
    if (n.path.empty() || n.path.front() != '/') std::abort();
    if (n.path.size() > 1 && n.path.back() == '/') std::abort();
    const auto scoped = auth::scope_path(n.path);
    if (scoped.size() != n.path.size()) std::abort();  // lower-casing keeps the length
    (void)auth::account_segments(n.path);
  } else if (n.reason.empty()) {
    std::abort();  // a refusal says why
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = fuzz::as_text(data, size);
  const auto [method, target, authorization, body] = fuzz::split_lines<4>(input);
  check_normalized(target);
  check_normalized(input);
  (void)auth::is_graphql_request(target);

  for (const bool body_pending : {false, true}) {
    auth::request_view request{method, target, authorization, body, "application/json", body_pending};
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'780'000'000));
    const auto v = auth::authorize(registry(), request, now);
    if (v.kind == auth::verdict_kind::allowed && v.who == nullptr) std::abort();
  }
  return 0;
}
