// A lexer for GraphQL documents, per the GraphQL spec (October 2021) §2.1:
// ignored tokens (BOM, whitespace, line terminators, commas, comments),
// punctuators (including `...`), names, int and float values (with their
// lookahead rules), strings with escapes, and block strings. Pure; used to
// find which operation a request runs (graphql_operation.h), so it only
// needs each token's kind and text, and fails on anything the spec does not
// allow rather than guessing.
#pragma once

#include <cstddef>
#include <string_view>

namespace github_proxy::auth {

enum class graphql_token_kind { end, punctuator, name, number, string };

struct graphql_token {
  graphql_token_kind kind = graphql_token_kind::end;
  std::string_view text;  // a view into the source

  bool is_punctuator(char c) const {
    return kind == graphql_token_kind::punctuator && text.size() == 1 && text[0] == c;
  }
  bool is_name(std::string_view name) const {
    return kind == graphql_token_kind::name && text == name;
  }
};

class graphql_lexer {
 public:
  explicit graphql_lexer(std::string_view source) : src_(source) {}

  // The next token (kind `end` at the end of the source), or false on a
  // lexical error.
  bool next(graphql_token& out);

 private:
  char peek(std::size_t ahead = 0) const {
    return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0';
  }
  bool at_end() const { return pos_ >= src_.size(); }
  void skip_ignored();
  bool lex_spread(graphql_token& out);
  bool lex_name(graphql_token& out);
  std::size_t digits();
  bool lex_number(graphql_token& out);
  bool lex_string(graphql_token& out);
  bool lex_unicode_escape();
  bool lex_block_string(graphql_token& out);

  std::string_view src_;
  std::size_t pos_ = 0;
};

}  // namespace github_proxy::auth
