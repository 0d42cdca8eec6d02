// Which GraphQL operation a request would run, for scopes with
// `graphql: query` (docs/contract.md §4). Pure functions; no I/O.
//
// The document is lexed per the GraphQL spec (October 2021, §2.1: ignored
// tokens, punctuators, names, numbers, strings and block strings) and its
// top-level definitions are walked: operations (`query`, `mutation`,
// `subscription`, named or anonymous, and the `{ … }` shorthand) and
// fragments. Nothing is guessed: a document that does not lex or parse, an
// unknown definition, or an ambiguous choice of operation is `invalid`, and
// the caller refuses everything but `query`.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace github_proxy::auth {

// Bounds of what is classified (beyond them: invalid, so refused for a
// query-only client). Real CI documents are a few KiB with one operation.
inline constexpr std::size_t max_graphql_document_bytes = 512 * 1024;
inline constexpr std::size_t max_graphql_operations = 64;

enum class graphql_verdict {
  query,  // the operation that would run is a query: allowed
  mutation,
  subscription,
  invalid,  // unparseable, unknown or ambiguous: refused
};

std::string_view to_string(graphql_verdict verdict);

// `operation_name`: the request's `operationName`; nullopt or empty when
// absent or null.
// With a name, the operation of that name decides; without one, the
// document must hold exactly one operation.
graphql_verdict classify_graphql_document(std::string_view document,
                                          std::optional<std::string_view> operation_name);

// A JSON request body `{"query": "...", "operationName": "...", ...}`
// (parsed with Boost.JSON). Not an object, no `query` string, a non-string
// `operationName`, or a repeated `query`/`operationName` key → invalid.
graphql_verdict classify_graphql_body(std::string_view json_body);

}  // namespace github_proxy::auth
