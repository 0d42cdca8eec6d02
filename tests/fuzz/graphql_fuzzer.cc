// The GraphQL operation classifier (auth/graphql_lexer.h,
// auth/graphql_operation.h). Input: operationName \n document. The document
// is classified alone, with and without the name, and as a JSON body.
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "auth/graphql_lexer.h"
#include "auth/graphql_operation.h"
#include "fuzz_input.h"

using namespace github_proxy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = fuzz::as_text(data, size);
  const auto [name, document] = fuzz::split_lines<2>(input);

  // The lexer alone: every token is a view inside the source, and it ends.
  auth::graphql_lexer lexer(input);
  auth::graphql_token token;
  for (std::size_t steps = 0; lexer.next(token) && token.kind != auth::graphql_token_kind::end; ++steps) {
    if (token.text.data() < input.data() || token.text.data() + token.text.size() > input.data() + input.size()) {
      std::abort();
    }
    if (token.text.empty() || steps > input.size()) std::abort();  // no progress
  }

  (void)auth::classify_graphql_document(document, std::nullopt);
  (void)auth::classify_graphql_document(document, name);
  (void)auth::classify_graphql_document(input, std::nullopt);
  // The whole input as a request body, and the pieces wrapped as one.
  (void)auth::classify_graphql_body(input);
  boost::json::object body;
  body["query"] = document;
  if (!name.empty()) body["operationName"] = name;
  (void)auth::classify_graphql_body(boost::json::serialize(body));
  return 0;
}
