#include "auth/graphql_operation.h"

#include <unordered_set>

#include <boost/json/basic_parser_impl.hpp>
#include <string>
#include <utility>
#include <vector>

#include "auth/graphql_lexer.h"

namespace github_proxy::auth {
namespace {

// Executable definitions only (§2.2); type-system definitions, which GitHub
// would reject anyway, are invalid here.

struct operation {
  graphql_verdict kind;
  std::optional<std::string_view> name;
};

class document_parser {
 public:
  explicit document_parser(std::string_view source) : lexer_(source) {}

  // Fills `operations`; false when the document is not a valid executable
  // document as far as this walk can tell.
  bool parse(std::vector<operation>& operations) {
    if (!advance()) return false;
    while (current_.kind != graphql_token_kind::end) {
      if (current_.is_punctuator('{')) {
        operations.push_back({graphql_verdict::query, std::nullopt});
        if (!skip_group()) return false;
      } else if (current_.is_name("query")) {
        if (!operation_definition(graphql_verdict::query, operations)) return false;
      } else if (current_.is_name("mutation")) {
        if (!operation_definition(graphql_verdict::mutation, operations)) return false;
      } else if (current_.is_name("subscription")) {
        if (!operation_definition(graphql_verdict::subscription, operations)) return false;
      } else if (current_.is_name("fragment")) {
        if (!fragment_definition()) return false;
      } else {
        return false;
      }
    }
    return true;
  }

 private:
  bool advance() { return lexer_.next(current_); }

  // OperationType Name? VariableDefinitions? Directives? SelectionSet
  bool operation_definition(graphql_verdict kind, std::vector<operation>& operations) {
    if (!advance()) return false;
    std::optional<std::string_view> name;
    if (current_.kind == graphql_token_kind::name) {
      name = current_.text;
      if (!advance()) return false;
    }
    if (current_.is_punctuator('(') && !skip_group()) return false;
    if (!directives() || !current_.is_punctuator('{') || !skip_group()) return false;
    operations.push_back({kind, name});
    return true;
  }

  // fragment FragmentName TypeCondition Directives? SelectionSet
  bool fragment_definition() {
    if (!advance()) return false;
    if (current_.kind != graphql_token_kind::name || current_.text == "on" || !advance())
      return false;
    if (!current_.is_name("on") || !advance()) return false;
    if (current_.kind != graphql_token_kind::name || !advance()) return false;
    return directives() && current_.is_punctuator('{') && skip_group();
  }

  // (@ Name Arguments?)*
  bool directives() {
    while (current_.is_punctuator('@')) {
      if (!advance() || current_.kind != graphql_token_kind::name || !advance()) return false;
      if (current_.is_punctuator('(') && !skip_group()) return false;
    }
    return true;
  }

  // Skips from an opening `{`, `(` or `[` past its matching closer. Strings
  // and comments were consumed by the lexer, so brackets inside them do not
  // count.
  bool skip_group() {
    std::string open;
    do {
      if (current_.kind == graphql_token_kind::end) return false;
      if (current_.kind == graphql_token_kind::punctuator && current_.text.size() == 1) {
        const char c = current_.text[0];
        if (c == '{' || c == '(' || c == '[') {
          open.push_back(c == '{' ? '}' : c == '(' ? ')' : ']');
        } else if (c == '}' || c == ')' || c == ']') {
          if (open.empty() || open.back() != c) return false;
          open.pop_back();
        }
      }
      if (!advance()) return false;
    } while (!open.empty());
    return true;
  }

  graphql_lexer lexer_;
  graphql_token current_;
};

// A Boost.JSON SAX handler that keeps only the top-level `query` and
// `operationName` members and notices repeats, which a DOM would silently
// collapse (last wins) while another parser might pick the first.

class body_handler {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  using error_code = boost::json::error_code;
  using string_view = boost::json::string_view;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }

  bool on_object_begin(error_code&) {
    if (depth_ == 0) root_is_object_ = true;
    container_value();
    ++depth_;
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    --depth_;
    return true;
  }
  bool on_array_begin(error_code&) {
    container_value();
    ++depth_;
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    --depth_;
    return true;
  }

  bool on_key_part(string_view s, std::size_t, error_code&) {
    if (depth_ == 1) key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code&) {
    if (depth_ != 1) return true;
    key_.append(s.data(), s.size());
    if (key_ == "query") {
      pending_ = field::query;
      if (std::exchange(saw_query_key_, true)) invalid_ = true;
    } else if (key_ == "operationName") {
      pending_ = field::operation_name;
      if (std::exchange(saw_operation_name_key_, true)) invalid_ = true;
    } else {
      pending_ = field::other;
    }
    key_.clear();
    return true;
  }

  bool on_string_part(string_view s, std::size_t, error_code&) {
    if (captures()) value_.append(s.data(), s.size());
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code&) {
    if (captures()) {
      value_.append(s.data(), s.size());
      if (pending_ == field::query) {
        query_ = std::move(value_);
      } else {
        operation_name_ = std::move(value_);
      }
      value_.clear();
    }
    pending_ = field::none;
    return true;
  }

  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t, string_view, error_code&) { return scalar_value(); }
  bool on_uint64(std::uint64_t, string_view, error_code&) { return scalar_value(); }
  bool on_double(double, string_view, error_code&) { return scalar_value(); }
  bool on_bool(bool, error_code&) { return scalar_value(); }
  bool on_null(error_code&) {
    // `"operationName": null` means no name was chosen.
    if (depth_ == 1 && pending_ == field::operation_name) {
      pending_ = field::none;
      return true;
    }
    return scalar_value();
  }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }

  graphql_verdict verdict() const {
    if (invalid_ || !root_is_object_ || !query_) return graphql_verdict::invalid;
    return classify_graphql_document(
        *query_,
        operation_name_ ? std::optional<std::string_view>(*operation_name_) : std::nullopt);
  }

 private:
  enum class field { none, query, operation_name, other };

  bool captures() const {
    return depth_ == 1 && (pending_ == field::query || pending_ == field::operation_name);
  }
  // A non-string where `query` or `operationName` must be a string.
  bool scalar_value() {
    if (depth_ == 0) root_is_object_ = false;
    if (captures()) invalid_ = true;
    if (depth_ == 1) pending_ = field::none;
    return true;
  }
  void container_value() {
    if (captures()) invalid_ = true;
    if (depth_ == 1) pending_ = field::none;
  }

  int depth_ = 0;
  bool root_is_object_ = false;
  bool invalid_ = false;
  bool saw_query_key_ = false;
  bool saw_operation_name_key_ = false;
  field pending_ = field::none;
  std::string key_;
  std::string value_;
  std::optional<std::string> query_;
  std::optional<std::string> operation_name_;
};

}  // namespace

std::string_view to_string(graphql_verdict verdict) {
  switch (verdict) {
    case graphql_verdict::query:
      return "query";
    case graphql_verdict::mutation:
      return "mutation";
    case graphql_verdict::subscription:
      return "subscription";
    case graphql_verdict::invalid:
      return "invalid";
  }
  return "invalid";
}

graphql_verdict classify_graphql_document(std::string_view document,
                                          std::optional<std::string_view> operation_name) {
  // Bounded work on the I/O thread: a document past these is not one a CI
  // job sends, and is refused before it is lexed.
  if (document.size() > max_graphql_document_bytes) return graphql_verdict::invalid;
  std::vector<operation> operations;
  if (!document_parser(document).parse(operations) || operations.empty() ||
      operations.size() > max_graphql_operations) {
    return graphql_verdict::invalid;
  }
  // Validation rules §5.2.1.1 (unique names) and §5.2.2.1 (a lone anonymous
  // operation): a document breaking them is one GitHub would not run, and
  // one where "the operation that runs" is not well defined. One pass over
  // a hash set: the check stays linear in the number of operations.
  std::unordered_set<std::string_view> names;
  names.reserve(operations.size());
  for (const auto& op : operations) {
    if (!op.name) {
      if (operations.size() > 1) return graphql_verdict::invalid;
      continue;
    }
    if (!names.insert(*op.name).second) return graphql_verdict::invalid;
  }
  // An empty name selects nothing, like an absent one.
  if (!operation_name || operation_name->empty()) {
    return operations.size() == 1 ? operations.front().kind : graphql_verdict::invalid;
  }
  for (const auto& op : operations) {
    if (op.name == *operation_name) return op.kind;
  }
  return graphql_verdict::invalid;
}

graphql_verdict classify_graphql_body(std::string_view json_body) {
  boost::json::basic_parser<body_handler> parser(boost::json::parse_options{});
  boost::json::error_code ec;
  const std::size_t used = parser.write_some(false, json_body.data(), json_body.size(), ec);
  if (ec || used != json_body.size()) return graphql_verdict::invalid;
  return parser.handler().verdict();
}

}  // namespace github_proxy::auth
