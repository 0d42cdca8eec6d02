#include "auth/graphql_lexer.h"

namespace github_proxy::auth {
namespace {

using kind = graphql_token_kind;

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_continue(char c) { return is_name_start(c) || is_digit(c); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
// SourceCharacter excludes control characters other than tab, LF and CR.
bool is_source_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7f;
}

}  // namespace

bool graphql_lexer::next(graphql_token& out) {
  skip_ignored();
  if (pos_ >= src_.size()) {
    out = {kind::end, {}};
    return true;
  }
  const char c = src_[pos_];
  if (c == '.') return lex_spread(out);
  if (std::string_view("!$&():=@[]{|}").find(c) != std::string_view::npos) {
    out = {kind::punctuator, src_.substr(pos_++, 1)};
    return true;
  }
  if (is_name_start(c)) return lex_name(out);
  if (c == '-' || is_digit(c)) return lex_number(out);
  if (c == '"') {
    return src_.substr(pos_, 3) == "\"\"\"" ? lex_block_string(out) : lex_string(out);
  }
  return false;
}

// Ignored: UnicodeBOM, whitespace, line terminators, commas, comments.
void graphql_lexer::skip_ignored() {
  while (!at_end()) {
    const char c = src_[pos_];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',') {
      ++pos_;
    } else if (src_.substr(pos_, 3) == "\xEF\xBB\xBF") {
      pos_ += 3;
    } else if (c == '#') {
      while (!at_end() && src_[pos_] != '\n' && src_[pos_] != '\r') ++pos_;
    } else {
      return;
    }
  }
}

bool graphql_lexer::lex_spread(graphql_token& out) {
  if (src_.substr(pos_, 3) != "...") return false;
  out = {kind::punctuator, src_.substr(pos_, 3)};
  pos_ += 3;
  return true;
}

bool graphql_lexer::lex_name(graphql_token& out) {
  const std::size_t start = pos_;
  while (!at_end() && is_name_continue(src_[pos_])) ++pos_;
  out = {kind::name, src_.substr(start, pos_ - start)};
  return true;
}

std::size_t graphql_lexer::digits() {
  const std::size_t start = pos_;
  while (!at_end() && is_digit(src_[pos_])) ++pos_;
  return pos_ - start;
}

// IntValue / FloatValue (§2.9.1, §2.9.2), with their lookahead rules.
bool graphql_lexer::lex_number(graphql_token& out) {
  const std::size_t start = pos_;
  if (peek() == '-') ++pos_;
  if (peek() == '0') {
    ++pos_;
    if (is_digit(peek())) return false;
  } else if (digits() == 0) {
    return false;
  }
  if (peek() == '.') {
    ++pos_;
    if (digits() == 0) return false;
  }
  if (peek() == 'e' || peek() == 'E') {
    ++pos_;
    if (peek() == '+' || peek() == '-') ++pos_;
    if (digits() == 0) return false;
  }
  if (peek() == '.' || is_name_start(peek())) return false;
  out = {kind::number, src_.substr(start, pos_ - start)};
  return true;
}

// StringValue (§2.9.4): no line terminators; escapes checked.
bool graphql_lexer::lex_string(graphql_token& out) {
  const std::size_t start = pos_++;
  while (!at_end()) {
    const char c = src_[pos_];
    if (c == '"') {
      ++pos_;
      out = {kind::string, src_.substr(start, pos_ - start)};
      return true;
    }
    if (c == '\n' || c == '\r' || is_source_control(c)) return false;
    if (c != '\\') {
      ++pos_;
      continue;
    }
    const char escaped = peek(1);
    if (std::string_view("\"\\/bfnrt").find(escaped) != std::string_view::npos) {
      pos_ += 2;
    } else if (escaped == 'u') {
      pos_ += 2;
      if (!lex_unicode_escape()) return false;
    } else {
      return false;
    }
  }
  return false;  // unterminated
}

// `\uXXXX`, or the `\u{X…}` form of the current working draft.
bool graphql_lexer::lex_unicode_escape() {
  if (peek() == '{') {
    ++pos_;
    std::size_t count = 0;
    while (is_hex(peek())) ++pos_, ++count;
    if (count == 0 || count > 6 || peek() != '}') return false;
    ++pos_;
    return true;
  }
  for (int i = 0; i < 4; ++i) {
    if (!is_hex(peek())) return false;
    ++pos_;
  }
  return true;
}

// BlockString (§2.9.4): anything up to an unescaped `"""`.
bool graphql_lexer::lex_block_string(graphql_token& out) {
  const std::size_t start = pos_;
  pos_ += 3;
  while (!at_end()) {
    if (src_.substr(pos_, 4) == "\\\"\"\"") {
      pos_ += 4;
    } else if (src_.substr(pos_, 3) == "\"\"\"") {
      pos_ += 3;
      out = {kind::string, src_.substr(start, pos_ - start)};
      return true;
    } else if (is_source_control(src_[pos_])) {
      return false;
    } else {
      ++pos_;
    }
  }
  return false;  // unterminated
}

}  // namespace github_proxy::auth
