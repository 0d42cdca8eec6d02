#include "common/logging.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace github_proxy::logging {
namespace {

TEST(Logging, ValidUtf8PassesThrough) {
  EXPECT_EQ(valid_utf8("/repos/o/r"), "/repos/o/r");
  EXPECT_EQ(valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
}

TEST(Logging, EveryIllFormedByteBecomesAReplacementCharacter) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(valid_utf8("/a\xFF"), "/a" + r);
  EXPECT_EQ(valid_utf8("\x80"), r);                   // stray continuation
  EXPECT_EQ(valid_utf8("\xC0\xAF"), r + r);           // overlong '/'
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), r + r + r);   // a UTF-16 surrogate
  EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80"), r + r + r + r);  // past U+10FFFF
  EXPECT_EQ(valid_utf8("\xE2\x82"), r + r);           // cut short
}

TEST(Logging, JsonQuoteIsAlwaysParseableJson) {
  for (std::string_view hostile : {"/repos/\xFF\xFE", "\"quoted\"\n", "\x01\x7F", "\xC3", "ok"}) {
    const auto quoted = json_quote(hostile);
    boost::system::error_code ec;
    const auto parsed = boost::json::parse(quoted, ec);
    EXPECT_FALSE(ec) << quoted;
    EXPECT_TRUE(parsed.is_string()) << quoted;
  }
}

}  // namespace
}  // namespace github_proxy::logging
