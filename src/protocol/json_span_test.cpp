#include "protocol/json_span.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <optional>
#include <string>

#include "protocol/jsonrpc.hpp"

namespace bastion::protocol {
namespace {

namespace json = boost::json;

struct SpanCase {
  const char* text;
  std::optional<std::string_view> result;  // nullopt: the caller must rebuild
};

// Upstream responses as a hostile or merely unusual server may write them.
const SpanCase kCases[] = {
    // The ordinary shapes, byte for byte (1.50 is not rewritten to 1.5).
    {R"({"jsonrpc":"2.0","id":1,"result":{"v":1.50}})", R"({"v":1.50})"},
    {R"({"result":{"v":1.50},"jsonrpc":"2.0","id":1})", R"({"v":1.50})"},
    {R"({"jsonrpc":"2.0","result":[1E2, 2],"id":"x"})", "[1E2, 2]"},
    {R"({"result":true})", "true"},
    {R"({"result":-0.0e-0})", "-0.0e-0"},
    {R"({"result":"a\"}b"})", R"("a\"}b")"},
    // Whitespace around tokens, tabs and newlines outside the value.
    {" \n\t{ \"id\" : 1 ,\r\n \"result\"\t:\t{ \"a\" : [ ] } \n}\n ", R"({ "a" : [ ] })"},
    // "result" inside strings, nested objects and arrays is not the member.
    {R"({"id":"\"result\":9","result":{"result":{"x":"}"}}})", R"({"result":{"x":"}"}})"},
    {R"({"meta":{"result":1},"list":["result",{"result":2}],"result":3})", "3"},
    {R"({"meta":{"result":1}})", std::nullopt},
    {R"({"k":"\\","result":{"s":"\\\\\""}})", R"({"s":"\\\\\""})"},
    {R"({"result":{"u":"\u00e9\ud83d\ude00"}})", R"({"u":"\u00e9\ud83d\ude00"})"},
    {R"({"result":{"deep":[[[{"a":[{}]}]]]},"after":[{"}":"]"}]})", R"({"deep":[[[{"a":[{}]}]]]})"},
    // Doubtful: rebuilt from the parsed value instead.
    {R"({"res\u0075lt":{"v":1.50}})", std::nullopt},                // escaped key
    {R"({"result":{"v":1},"res\u0075lt":{"v":2}})", std::nullopt},  // a duplicate once decoded
    {R"({"result":{"v":1},"result":{"v":2}})", std::nullopt},       // a plain duplicate
    {R"({"a\"b":1,"result":2})", std::nullopt},                     // any escaped key
    {"{\"result\":{\"a\":\n1}}", std::nullopt},                     // a newline inside the value
    {"{\"result\":{\"a\":\r1}}", std::nullopt},
    {R"({})", std::nullopt},
    {R"([{"result":1}])", std::nullopt},
    {R"("result")", std::nullopt},
    // Not what parse_json accepts: no crash, no read past the end.
    {R"({"result":1} {"result":2})", std::nullopt},  // trailing document
    {R"({"result":1,})", std::nullopt},
    {R"({"result":)", std::nullopt},
    {R"({"result":{"a":1})", std::nullopt},
    {R"({"result":"abc)", std::nullopt},
    {R"({"result":"abc\)", std::nullopt},
    {R"({"result" 1})", std::nullopt},
    {R"({"result":1 "x":2})", std::nullopt},
    {"{", std::nullopt},
    {"", std::nullopt},
    {"{\"", std::nullopt},
};

TEST(MemberText, FindsTheTopLevelMemberOrDeclines) {
  for (const auto& c : kCases) {
    EXPECT_EQ(member_text(c.text, "result"), c.result) << c.text;
  }
}

// What the gateway relies on: for every text parse_json accepts, a span
// found parses to the very member the parsed object holds.
TEST(MemberText, SpanOfAcceptedTextIsTheParsedMember) {
  int checked = 0;
  for (const auto& c : kCases) {
    auto parsed = parse_json(c.text);
    if (!parsed || !parsed->is_object()) continue;
    const json::object& o = parsed->get_object();
    auto span = member_text(c.text, "result");
    if (!span) continue;
    auto alone = parse_json(*span);
    ASSERT_TRUE(alone) << *span;
    EXPECT_EQ(alone.value(), o.at("result")) << c.text;
    ++checked;
  }
  EXPECT_GE(checked, 12);
}

// parse_json refuses the duplicates outright (at any depth, after decoding),
// so a channel never even gets to the scan with them; the scan declines them
// on its own too (above).
TEST(MemberText, ParserRefusesWhatTheScanCouldMisread) {
  EXPECT_FALSE(parse_json(R"({"result":{"v":1},"res\u0075lt":{"v":2}})"));
  EXPECT_FALSE(parse_json(R"({"result":{"v":1},"result":{"v":2}})"));
  EXPECT_FALSE(parse_json("{\"result\":\"\xff\"}"));  // invalid UTF-8
  EXPECT_FALSE(parse_json(R"({"result":1,})"));
  EXPECT_FALSE(parse_json(R"({"result":1} {"result":2})"));
}

TEST(MemberText, OtherKeys) {
  EXPECT_EQ(member_text(R"({"id":"7","result":{}})", "id"), R"("7")");
  EXPECT_EQ(member_text(R"({"id":"7","result":{}})", "error"), std::nullopt);
}

}  // namespace
}  // namespace bastion::protocol
