#include "auth/graphql_operation.h"

#include <gtest/gtest.h>

namespace github_proxy::auth {
namespace {

struct document_case {
  const char* name;
  std::string_view document;
  std::optional<std::string_view> operation_name;
  graphql_verdict expected;
};

void PrintTo(const document_case& c, std::ostream* os) { *os << c.name; }

class GraphqlDocument : public testing::TestWithParam<document_case> {};

TEST_P(GraphqlDocument, Classifies) {
  const auto& c = GetParam();
  EXPECT_EQ(to_string(classify_graphql_document(c.document, c.operation_name)),
            to_string(c.expected))
      << c.document;
}

constexpr auto q = graphql_verdict::query;
constexpr auto m = graphql_verdict::mutation;
constexpr auto s = graphql_verdict::subscription;
constexpr auto bad = graphql_verdict::invalid;
constexpr std::nullopt_t none = std::nullopt;

INSTANTIATE_TEST_SUITE_P(
    Graphql, GraphqlDocument,
    testing::Values(
        // Queries.
        document_case{"named_query", "query Viewer { viewer { login } }", none, q},
        document_case{"anonymous_query", "query { viewer { login } }", none, q},
        document_case{"shorthand", "{ viewer { login } }", none, q},
        document_case{
            "variables_defaults_directives",
            "query Q($n: Int = 3, $o: In = {a: [1, 2], b: \"}\"}) @live(if: true) "
            "{ repository(owner: \"a\", name: \"b\") { issues(first: $n) { totalCount } } }",
            none, q},
        document_case{"field_named_mutation", "query { mutation mutationCount }", none, q},
        document_case{"numbers", "query { x(a: 1.5e3, b: -0, c: 0.25E-2, d: 42) }", none, q},
        document_case{"bom_and_commas", "\xEF\xBB\xBFquery,{,x,}", none, q},
        document_case{"crlf", "query\r\n{\r\n  x\r\n}\r\n", none, q},
        // Mutations and subscriptions.
        document_case{"mutation",
                      "mutation { addStar(input: {starrableId: \"x\"}) { clientMutationId } }",
                      none, m},
        document_case{"named_mutation",
                      "mutation Star($id: ID!) { addStar(input: {starrableId: $id}) { x } }", none,
                      m},
        document_case{"mutation_after_comment", "mutation # query\n { x }", none, m},
        document_case{"mutation_after_fragment",
                      "fragment F on Star { id } mutation { addStar { ...F } }", none, m},
        document_case{"subscription", "subscription { x }", none, s},
        // "mutation" where it is not an operation.
        document_case{"comment_mentions_mutation", "# mutation { deleteRepo }\nquery { x }", none,
                      q},
        document_case{"string_holds_mutation", "query { x(arg: \"mutation { y }\") }", none, q},
        document_case{"string_escaped_quote", "query { x(arg: \"\\\" } mutation { y \") }", none,
                      q},
        document_case{"block_string_holds_mutation",
                      "query { x(arg: \"\"\"\n} mutation {\n\"\"\") }", none, q},
        document_case{"block_string_escaped_triple_quote",
                      "query { x(arg: \"\"\" \\\"\"\" } mutation { y \"\"\") }", none, q},
        document_case{"unicode_escape", "query { x(a: \"\\u00e9\\u{1F600}\") }", none, q},
        document_case{"fragment_then_query",
                      "fragment F on User { login } query { viewer { ...F ... on User { id } } }",
                      none, q},
        // Several operations: operationName decides.
        document_case{"two_ops_no_name", "query A { x } mutation B { y }", none, bad},
        document_case{"two_ops_pick_query", "query A { x } mutation B { y }", "A", q},
        document_case{"two_ops_pick_mutation", "query A { x } mutation B { y }", "B", m},
        document_case{"two_ops_unknown_name", "query A { x } mutation B { y }", "C", bad},
        document_case{"one_op_wrong_name", "query A { x }", "B", bad},
        document_case{"one_op_right_name", "mutation A { x }", "A", m},
        document_case{"empty_name_is_absent", "query A { x }", "", q},
        document_case{"empty_name_two_ops", "query A { x } mutation B { y }", "", bad},
        document_case{"duplicate_names", "query A { x } query A { y }", "A", bad},
        document_case{"anonymous_among_others", "{ x } query A { y }", "A", bad},
        document_case{"two_shorthands", "{ x } { y }", none, bad},
        // Garbage and things that are not executable documents.
        document_case{"empty", "", none, bad},
        document_case{"only_comment", "# nothing", none, bad},
        document_case{"word", "garbage", none, bad},
        document_case{"unclosed", "query { x", none, bad},
        document_case{"mismatched", "query { x ) }", none, bad},
        document_case{"extra_close", "query { x } }", none, bad},
        document_case{"type_definition", "type Query { x: Int }", none, bad},
        document_case{"description", "\"doc\" query { x }", none, bad},
        document_case{"capitalised_keyword", "Mutation { x }", none, bad},
        document_case{"leading_zero", "query { x(a: 01) }", none, bad},
        document_case{"number_then_name", "query { x(a: 1x) }", none, bad},
        document_case{"unterminated_string", "query { x(a: \"abc) }", none, bad},
        document_case{"newline_in_string", "query { x(a: \"a\nb\") }", none, bad},
        document_case{"bad_escape", "query { x(a: \"\\q\") }", none, bad},
        document_case{"unterminated_block_string", "query { x(a: \"\"\"abc) }", none, bad},
        document_case{"two_dots", "query { ..F }", none, bad},
        document_case{"nbsp", "query\xC2\xA0{ x }", none, bad},
        document_case{"nul", std::string_view("query { x }\0", 12), none, bad},
        document_case{"fragment_named_on", "fragment on on User { x } query { y }", none, bad},
        document_case{"query_without_selection", "query A", none, bad}),
    [](const testing::TestParamInfo<document_case>& info) { return std::string(info.param.name); });

TEST(GraphqlBody, QueryAndMutation) {
  EXPECT_EQ(classify_graphql_body(R"({"query":"query { viewer { login } }"})"), q);
  EXPECT_EQ(classify_graphql_body(R"({"query":"mutation { addStar { x } }","variables":{}})"), m);
}

TEST(GraphqlBody, OperationNameSelects) {
  const char* both = R"({"query":"query A { x } mutation B { y }","operationName":"%s"})";
  auto body = [&](const char* name) {
    char buffer[128];
    std::snprintf(buffer, sizeof buffer, both, name);
    return std::string(buffer);
  };
  EXPECT_EQ(classify_graphql_body(body("A")), q);
  EXPECT_EQ(classify_graphql_body(body("B")), m);
  EXPECT_EQ(classify_graphql_body(body("C")), bad);
  EXPECT_EQ(classify_graphql_body(R"({"query":"query A { x } mutation B { y }"})"), bad);
}

TEST(GraphqlBody, NullOperationNameMeansAbsent) {
  EXPECT_EQ(classify_graphql_body(R"({"query":"query A { x }","operationName":null})"), q);
}

TEST(GraphqlBody, JsonEscapesAreDecodedBeforeLexing) {
  EXPECT_EQ(classify_graphql_body(R"({"query":"\u006dutation { x }"})"), m);
  EXPECT_EQ(classify_graphql_body(R"({"query":"query { x(a: \"mutation\") }"})"), q);
}

TEST(GraphqlBody, NestedKeysAreNotTheQuery) {
  EXPECT_EQ(classify_graphql_body(
                R"({"variables":{"query":"mutation { x }","operationName":5},"query":"{ x }"})"),
            q);
  EXPECT_EQ(classify_graphql_body(R"({"extensions":[{"query":"{ x }"}]})"), bad);
}

TEST(GraphqlBody, RefusesWhatIsNotASingleClearQuery) {
  EXPECT_EQ(classify_graphql_body(""), bad);
  EXPECT_EQ(classify_graphql_body("query { x }"), bad);  // not JSON
  EXPECT_EQ(classify_graphql_body("{"), bad);
  EXPECT_EQ(classify_graphql_body("[]"), bad);
  EXPECT_EQ(classify_graphql_body(R"([{"query":"{ x }"}])"), bad);  // batches
  EXPECT_EQ(classify_graphql_body(R"("{ x }")"), bad);
  EXPECT_EQ(classify_graphql_body("{}"), bad);
  EXPECT_EQ(classify_graphql_body(R"({"query":5})"), bad);
  EXPECT_EQ(classify_graphql_body(R"({"query":null})"), bad);
  EXPECT_EQ(classify_graphql_body(R"({"query":{"a":1}})"), bad);
  EXPECT_EQ(classify_graphql_body(R"({"query":"{ x }","operationName":5})"), bad);
  EXPECT_EQ(classify_graphql_body(R"({"query":"{ x }","operationName":["A"]})"), bad);
  EXPECT_EQ(classify_graphql_body(R"({"query":"{ x }"} trailing)"), bad);
  EXPECT_EQ(classify_graphql_body(R"({"query":"{ x }",})"), bad);
  EXPECT_EQ(classify_graphql_body(R"({"query":"{ x }" /* c */})"), bad);
}

// One JSON parser keeps the first of a repeated key, another the last: a
// body whose meaning depends on that is refused.
TEST(GraphqlBody, RepeatedKeysAreRefused) {
  EXPECT_EQ(classify_graphql_body(R"({"query":"{ x }","query":"mutation { y }"})"), bad);
  EXPECT_EQ(classify_graphql_body(R"({"query":"mutation { y }","query":"{ x }"})"), bad);
  EXPECT_EQ(
      classify_graphql_body(
          R"({"query":"query A { x } mutation B { y }","operationName":"A","operationName":"B"})"),
      bad);
}

}  // namespace
}  // namespace github_proxy::auth

namespace github_proxy::auth {
namespace {

// A query-only check runs on an I/O thread: bounded documents and
// operation counts, and a uniqueness check that stays linear.
TEST(GraphqlBounds, ManyOperationsOrAHugeDocumentAreRefusedNotWorkedThrough) {
  std::string many;
  for (std::size_t i = 0; i < 20'000; ++i) many += "query q" + std::to_string(i) + " { a }\n";
  ASSERT_LT(many.size(), max_graphql_document_bytes);
  EXPECT_EQ(classify_graphql_document(many, "q1"), graphql_verdict::invalid);

  std::string within;
  for (std::size_t i = 0; i < max_graphql_operations; ++i) within += "query q" + std::to_string(i) + " { a }\n";
  EXPECT_EQ(classify_graphql_document(within, "q7"), graphql_verdict::query);
  EXPECT_EQ(classify_graphql_document("query q1 { a } query q2 { a } mutation q1 { b }", "q2"),
            graphql_verdict::invalid)
      << "a repeated name still makes the document invalid";

  const std::string huge = "query { a }" + std::string(max_graphql_document_bytes, ' ');
  EXPECT_EQ(classify_graphql_document(huge, std::nullopt), graphql_verdict::invalid);
}

}  // namespace
}  // namespace github_proxy::auth
