// authorize(): token → client → expiry → normalised path → scopes (docs/contract.md §4,
// §5 "Authentication" and "Scopes"). A pure decision over an immutable
// snapshot; the pipeline carries the verdict out.

#include <spdlog/fmt/fmt.h>

#include <boost/url/parse_query.hpp>

#include "auth/graphql_operation.h"
#include "common/http_fields.h"
#include "auth/path_normalizer.h"
#include "auth/registry_snapshot.h"
#include "auth/token.h"

namespace github_proxy::auth {
namespace {

constexpr std::string_view bad_credentials = "Bad credentials";

verdict make_verdict(verdict_kind kind, std::shared_ptr<const registry_snapshot> snapshot,
                     const client* who, std::string message) {
  verdict result;
  result.kind = kind;
  result.snapshot = std::move(snapshot);
  result.who = who;
  result.message = std::move(message);
  return result;
}

// The GraphQL-over-HTTP parameters of a query string; nullopt when the
// query string is malformed, holds a ';', or repeats one of them (ambiguous).
struct graphql_url_params {
  std::optional<std::string> query;
  std::optional<std::string> operation_name;
};

std::optional<graphql_url_params> graphql_params_of(std::string_view target) {
  graphql_url_params params;
  const auto question = target.find('?');
  if (question == std::string_view::npos) return params;
  // Some servers (Rails among them) also split a query on ';': a `query=`
  // hidden behind one would be GitHub's parameter and not ours. Ambiguous.
  if (target.find(';', question) != std::string_view::npos) return std::nullopt;
  // A copy, not a view: Boost.URL 1.81's parse_query validates the view it
  // is given but then iterates `strlen(s.data())` bytes (its query_ref is
  // built from s.data() alone). A target is a view into the request's
  // buffer, so the parameters read would run past the target into whatever
  // follows in memory. The copy ends in NUL, and a valid query holds none.
  const std::string query(target.substr(question + 1));
  const auto encoded = boost::urls::parse_query(query);
  if (!encoded) return std::nullopt;
  boost::urls::encoding_opts form;  // application/x-www-form-urlencoded
  form.space_as_plus = true;
  for (const auto param : *encoded) {
    const std::string key = param.key.decode(form);
    if (key == "query" || key == "operationName") {
      auto& slot = key == "query" ? params.query : params.operation_name;
      if (slot) return std::nullopt;
      slot = param.value.decode(form);
    }
  }
  return params;
}

// What the GraphQL endpoint would run for this request. The document comes
// from the JSON body; a GET may carry it in the query string instead
// (GraphQL over HTTP), and a bare GET is GitHub's schema introspection,
// which changes nothing. A request carrying GraphQL parameters in both
// places, or only half of them, is ambiguous and refused.
graphql_verdict classify_graphql_request(const request_view& request) {
  const auto url = graphql_params_of(request.target);
  if (!url) return graphql_verdict::invalid;
  const bool in_url = url->query || url->operation_name;
  const bool is_get = request.method == "GET" || request.method == "HEAD";
  if (!is_get || !request.body.empty()) {
    if (in_url || !common::media_type_is(request.content_type, "application/json")) return graphql_verdict::invalid;
    return classify_graphql_body(request.body);
  }
  if (url->query) {
    return classify_graphql_document(
        *url->query,
        url->operation_name ? std::optional<std::string_view>(*url->operation_name) : std::nullopt);
  }
  return url->operation_name ? graphql_verdict::invalid : graphql_verdict::query;
}

// For the 403 message, which the pipeline renders as JSON: bytes outside
// printable ASCII (decoded from escapes, possibly not UTF-8) stay escaped.
std::string printable(std::string_view path) {
  std::string text;
  text.reserve(path.size());
  for (const char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      text.push_back(c);
    } else {
      text += fmt::format("%{:02X}", byte);
    }
  }
  return text;
}

}  // namespace

verdict authorize(std::shared_ptr<const registry_snapshot> snapshot, const request_view& request,
                  std::chrono::system_clock::time_point now) {
  if (!snapshot) {
    return make_verdict(verdict_kind::unauthenticated, nullptr, nullptr,
                        std::string(bad_credentials));
  }
  const auto digest = presented_token_digest(request.authorization);
  const client* who = digest ? snapshot->find(*digest) : nullptr;
  if (who == nullptr) {
    return make_verdict(verdict_kind::unauthenticated, std::move(snapshot), nullptr,
                        std::string(bad_credentials));
  }
  if (who->expires && now >= *who->expires) {
    return make_verdict(verdict_kind::unauthenticated, std::move(snapshot), who,
                        std::string(bad_credentials));
  }

  auto normalized = normalize_path(request.target);
  if (!normalized.ok) {
    return make_verdict(verdict_kind::bad_request, std::move(snapshot), who,
                        "Invalid request path: " + normalized.reason);
  }

  const client_rules& rules = snapshot->rules[who->index];
  bool allowed = !rules.scopes.has_value();
  bool refused_graphql = false;
  const bool is_graphql = normalized.path == graphql_path;
  std::optional<graphql_verdict> operation;  // computed at most once
  if (!allowed) {
    const std::string matched = scope_path(normalized.path);
    for (const compiled_scope& scope : *rules.scopes) {
      if (!RE2::FullMatch(request.method, *scope.method) ||
          !RE2::FullMatch(matched, *scope.path)) {
        continue;
      }
      if (is_graphql && scope.graphql == graphql_policy::query_only && !request.body_pending) {
        if (!operation) operation = classify_graphql_request(request);
        if (*operation != graphql_verdict::query) {
          refused_graphql = true;
          continue;  // another scope may still allow it
        }
      }
      allowed = true;
      break;
    }
  }

  verdict result;
  if (allowed) {
    result = make_verdict(verdict_kind::allowed, std::move(snapshot), who, {});
    if (is_graphql && !request.body_pending) {
      if (!operation) operation = classify_graphql_request(request);
      result.graphql_cost = *operation == graphql_verdict::query      ? graphql_operation_cost::query
                            : *operation == graphql_verdict::mutation ? graphql_operation_cost::mutation
                                                                      : graphql_operation_cost::unknown;
    }
  } else if (refused_graphql) {
    result = make_verdict(verdict_kind::forbidden, std::move(snapshot), who,
                          fmt::format("Client '{}' may not {} {}: only GraphQL queries are allowed",
                                      who->name, request.method, printable(normalized.path)));
  } else {
    result = make_verdict(verdict_kind::forbidden, std::move(snapshot), who,
                          fmt::format("Client '{}' may not {} {}", who->name, request.method,
                                      printable(normalized.path)));
  }
  result.path = std::move(normalized.path);
  return result;
}

bool is_graphql_request(std::string_view target) {
  const auto normalized = normalize_path(target);
  return normalized.ok && normalized.path == graphql_path;
}

std::size_t client_count(const registry_snapshot& snapshot) { return snapshot.clients.size(); }

const std::vector<client>& clients(const registry_snapshot& snapshot) { return snapshot.clients; }

}  // namespace github_proxy::auth
