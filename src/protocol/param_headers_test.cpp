#include "protocol/param_headers.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "protocol/jsonrpc.hpp"

namespace bastion::protocol {
namespace {

struct Case {
  const char* name;
  const char* schema;
  const char* problem;  // nullptr: valid; else a substring of the reason
  std::size_t headers = 0;
};

TEST(ParamHeaders, ValidatesAnnotationsAsTheTransportSpecSays) {
  const Case cases[] = {
      {"none", R"({"type":"object","properties":{"q":{"type":"string"}}})", nullptr, 0},
      {"spec example",
       R"({"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"},"query":{"type":"string"}}})",
       nullptr, 1},
      {"nested properties chain",
       R"({"type":"object","properties":{"t":{"type":"object","properties":{"id":{"type":"integer","x-mcp-header":"Tenant-Id"}}},"on":{"type":"boolean","x-mcp-header":"On"}}})",
       nullptr, 2},
      {"empty", R"({"properties":{"a":{"type":"string","x-mcp-header":""}}})", "empty"},
      {"not a token", R"({"properties":{"a":{"type":"string","x-mcp-header":"Re gion"}}})",
       "token"},
      {"CRLF", R"({"properties":{"a":{"type":"string","x-mcp-header":"A\r\nX-Injected"}}})",
       "token"},
      {"not a string", R"({"properties":{"a":{"type":"string","x-mcp-header":7}}})",
       "not a string"},
      {"duplicate, other case",
       R"({"properties":{"a":{"type":"string","x-mcp-header":"Region"},"b":{"type":"string","x-mcp-header":"region"}}})",
       "twice"},
      {"number type", R"({"properties":{"a":{"type":"number","x-mcp-header":"N"}}})",
       "type 'number'"},
      {"object type", R"({"properties":{"a":{"type":"object","x-mcp-header":"O"}}})",
       "type 'object'"},
      {"no type", R"({"properties":{"a":{"x-mcp-header":"O"}}})", "unspecified"},
      {"through items",
       R"({"properties":{"a":{"type":"array","items":{"type":"string","x-mcp-header":"I"}}}})",
       "reachable"},
      {"through anyOf", R"({"anyOf":[{"properties":{"a":{"type":"string","x-mcp-header":"A"}}}]})",
       "reachable"},
      {"through then",
       R"({"if":{},"then":{"properties":{"a":{"type":"string","x-mcp-header":"A"}}}})",
       "reachable"},
      {"in $defs behind $ref",
       R"({"$defs":{"r":{"type":"string","x-mcp-header":"R"}},"properties":{"a":{"$ref":"#/$defs/r"}}})",
       "reachable"},
      {"on the root", R"({"type":"string","x-mcp-header":"Root"})", "root"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_json(c.schema);
    ASSERT_TRUE(parsed) << c.name;
    auto r = param_headers(parsed.value());
    if (!c.problem) {
      EXPECT_FALSE(r.problem) << c.name << ": " << *r.problem;
      EXPECT_EQ(r.headers.size(), c.headers) << c.name;
    } else {
      ASSERT_TRUE(r.problem) << c.name;
      EXPECT_NE(r.problem->find(c.problem), std::string::npos) << c.name << ": " << *r.problem;
      EXPECT_TRUE(r.headers.empty()) << c.name;
    }
  }
}

TEST(ParamHeaders, AnAnnotationCannotHideDeeperThanTheWalk) {
  // parse_json caps depth on the wire; a value built in code is not capped.
  boost::json::value deep = boost::json::object{{"type", "string"}, {"x-mcp-header", "Deep"}};
  for (int i = 0; i < 70; ++i) deep = boost::json::object{{"items", deep}};
  auto r = param_headers(deep);
  ASSERT_TRUE(r.problem);
  EXPECT_TRUE(r.headers.empty());
}

TEST(ParamHeaders, PathsAndTypes) {
  auto r = param_headers(parse_json(
      R"({"properties":{"t":{"type":"object","properties":{"id":{"type":"integer","x-mcp-header":"Tenant-Id"}}}}})").value());
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].name, "Tenant-Id");
  EXPECT_EQ(r.headers[0].path, (std::vector<std::string>{"t", "id"}));
  EXPECT_EQ(r.headers[0].type, "integer");
}

boost::json::value js(const char* text) {
  auto parsed = parse_json(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed ? parsed.value() : boost::json::value();
}

TEST(ParamHeaders, EncodesValuesAsTheSpecTableSays) {
  struct Enc {
    const char* value;   // JSON
    const char* header;  // nullptr: no header form
  };
  const Enc cases[] = {
      {R"("us-west1")", "us-west1"},
      {R"("Hello, 世界")", "=?base64?SGVsbG8sIOS4lueVjA==?="},
      {R"(" padded ")", "=?base64?IHBhZGRlZCA=?="},
      {R"("line1\nline2")", "=?base64?bGluZTEKbGluZTI=?="},
      {R"("=?base64?literal?=")", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="},
      {R"("=?base64?no-suffix")", "=?base64?PT9iYXNlNjQ/bm8tc3VmZml4?="},
      {R"("\tlead-tab")", "=?base64?CWxlYWQtdGFi?="},
      {R"("a\r\nX-Injected: 1")", "=?base64?YQ0KWC1JbmplY3RlZDogMQ==?="},
      {R"("in ner")", "in ner"},
      {R"("")", ""},
      {"42", "42"},
      {"-7", "-7"},
      {"42.0", "42"},
      {"18446744073709551615", "18446744073709551615"},
      {"true", "true"},
      {"false", "false"},
      {"1.5", nullptr},
      {"1e300", nullptr},
      {"{}", nullptr},
      {"[1]", nullptr},
      {"null", nullptr},
  };
  for (const auto& c : cases) {
    auto r = encode_header_value(js(c.value));
    if (!c.header) {
      EXPECT_FALSE(r.ok()) << c.value;
      continue;
    }
    ASSERT_TRUE(r.ok()) << c.value << ": " << r.reason();
    EXPECT_EQ(r.value(), c.header) << c.value;
    // What Bastion sends, Bastion (and any server) reads back as the body value.
    auto back = decode_header_value(r.value());
    ASSERT_TRUE(back) << c.value;
  }
}

TEST(ParamHeaders, DecodesOnlyTheWholeSentinelAndStrictBase64) {
  EXPECT_EQ(decode_header_value("=?base64?SGVsbG8=?="), "Hello");
  EXPECT_EQ(decode_header_value("SGVsbG8="), "SGVsbG8=");                    // no prefix: literal
  EXPECT_EQ(decode_header_value("=?base64?SGVsbG8="), "=?base64?SGVsbG8=");  // no suffix: literal
  EXPECT_EQ(decode_header_value("=?base64?="), "=?base64?=");  // prefix and suffix overlap
  EXPECT_EQ(decode_header_value("=?base64?"
                                "?="),
            "");                                                // (split: a trigraph)
  EXPECT_FALSE(decode_header_value("=?base64?SGVsbG8?="));      // padding missing
  EXPECT_FALSE(decode_header_value("=?base64?SGVs!!!bG8=?="));  // not the alphabet
  EXPECT_FALSE(decode_header_value("=?base64?SGVsbG8-?="));     // URL-safe alphabet
  EXPECT_EQ(decode_header_value("=?BASE64?SGVsbG8=?="),
            "=?BASE64?SGVsbG8=?=");  // markers are case-sensitive
}

std::vector<ParamHeader> annotations_of(const char* schema) {
  auto r = param_headers(js(schema));
  EXPECT_FALSE(r.problem) << *r.problem;
  return r.headers;
}

constexpr const char* kSchema =
    R"({"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"},)"
    R"("priority":{"type":"integer","x-mcp-header":"Priority"},)"
    R"("verbose":{"type":"boolean","x-mcp-header":"Verbose"},)"
    R"("target":{"type":"object","properties":{"zone":{"type":"string","x-mcp-header":"Zone"}}},)"
    R"("query":{"type":"string"}}})";

TEST(ParamHeaders, ServerChecksHeadersAgainstTheArguments) {
  struct Check {
    const char* name;
    const char* arguments;  // JSON, or nullptr for none
    ReceivedParamHeaders headers;
    const char* problem;  // nullptr: accepted; else a substring of the reason
  };
  const Check cases[] = {
      {"nothing annotated sent", R"({"query":"x"})", {}, nullptr},
      {"no arguments at all", nullptr, {}, nullptr},
      {"plain string", R"({"region":"us-west1"})", {{"Region", "us-west1"}}, nullptr},
      {"name case-insensitive", R"({"region":"us-west1"})", {{"rEGION", "us-west1"}}, nullptr},
      {"OWS trimmed", R"({"region":"us-west1"})", {{"Region", " \tus-west1 "}}, nullptr},
      {"Base64 form", R"({"region":"Hello"})", {{"Region", "=?base64?SGVsbG8=?="}}, nullptr},
      {"non-ASCII in Base64",
       R"({"region":"Hello, 世界"})",
       {{"Region", "=?base64?SGVsbG8sIOS4lueVjA==?="}},
       nullptr},
      {"literal that looks like Base64",
       R"({"region":"SGVsbG8="})",
       {{"Region", "SGVsbG8="}},
       nullptr},
      {"integer", R"({"priority":42})", {{"Priority", "42"}}, nullptr},
      {"integer 42.0 vs 42", R"({"priority":42})", {{"Priority", "42.0"}}, nullptr},
      {"body 42.0 vs header 42", R"({"priority":42.0})", {{"Priority", "42"}}, nullptr},
      {"negative integer", R"({"priority":-7})", {{"Priority", "-7"}}, nullptr},
      {"boolean", R"({"verbose":false})", {{"Verbose", "false"}}, nullptr},
      {"nested", R"({"target":{"zone":"b"}})", {{"Zone", "b"}}, nullptr},
      {"null needs no header", R"({"verbose":null,"region":"r"})", {{"Region", "r"}}, nullptr},
      {"empty string", R"({"region":""})", {{"Region", ""}}, nullptr},
      {"header name in another case", R"({"region":"r"})", {{"rEGION", "r"}}, nullptr},
      {"all at once",
       R"({"region":"r","priority":1,"verbose":true,"target":{"zone":"z"}})",
       {{"Zone", "z"}, {"Verbose", "true"}, {"Priority", "1"}, {"Region", "r"}},
       nullptr},

      {"mismatch", R"({"region":"us-west1"})", {{"Region", "eu-west1"}}, "does not match"},
      {"missing", R"({"region":"us-west1"})", {}, "is required"},
      {"missing nested", R"({"target":{"zone":"z"}})", {}, "arguments.target.zone"},
      {"header for an absent argument", R"({"query":"x"})", {{"Region", "r"}}, "without a value"},
      {"header for a null argument", R"({"region":null})", {{"Region", "r"}}, "without a value"},
      {"header of no annotated parameter", R"({"query":"x"})", {{"Query", "x"}}, "names no"},
      {"empty name part", R"({})", {{"", "x"}}, "names no"},
      {"repeated", R"({"region":"r"})", {{"Region", "r"}, {"region", "r"}}, "more than once"},
      {"CR LF in the value", R"({"region":"a"})", {{"Region", "a\r\nX-Evil: 1"}}, "invalid"},
      {"NUL in the value", R"({"region":"a"})", {{"Region", std::string("a\0b", 3)}}, "invalid"},
      {"DEL in the value", R"({"region":"a\u007f"})", {{"Region", "a\x7f"}}, "invalid"},
      {"raw UTF-8 in the value", R"({"region":"é"})", {{"Region", "é"}}, "invalid"},
      {"Base64 without padding",
       R"({"region":"Hello"})",
       {{"Region", "=?base64?SGVsbG8?="}},
       "not valid Base64"},
      {"Base64 outside the alphabet",
       R"({"region":"Hello"})",
       {{"Region", "=?base64?SGVs!!!bG8=?="}},
       "not valid Base64"},
      {"Base64 of bytes that are not UTF-8",
       R"({"region":"\u00ff"})",
       {{"Region", "=?base64?/w==?="}},
       "does not match"},
      {"Base64 sentinel hiding a different value",
       R"({"region":"us-west1"})",
       {{"Region", "=?base64?ZXUtd2VzdDE=?="}},
       "does not match"},
      {"leading blanks are not part of the value",
       R"({"region":" r"})",
       {{"Region", " r"}},
       "does not match"},
      {"integer mismatch", R"({"priority":42})", {{"Priority", "43"}}, "does not match"},
      {"integer as hex", R"({"priority":16})", {{"Priority", "0x10"}}, "does not match"},
      {"integer as inf", R"({"priority":1})", {{"Priority", "inf"}}, "does not match"},
      {"beyond 2^53 compared exactly",
       R"({"priority":9007199254740993})",
       {{"Priority", "9007199254740992"}},
       "does not match"},
      {"beyond 2^53 not numerically",
       R"({"priority":9007199254740993})",
       {{"Priority", "9007199254740993.0"}},
       "does not match"},
      {"boolean spelled otherwise", R"({"verbose":true})", {{"Verbose", "True"}}, "does not match"},
      {"boolean as 1", R"({"verbose":true})", {{"Verbose", "1"}}, "does not match"},
      {"string type carrying a number",
       R"({"region":"42"})",
       {{"Region", "42.0"}},
       "does not match"},
      {"object value", R"({"region":{"a":1}})", {{"Region", "{}"}}, "does not match"},
  };
  auto annotations = annotations_of(kSchema);
  ASSERT_EQ(annotations.size(), 4u);
  for (const auto& c : cases) {
    boost::json::value args = c.arguments ? js(c.arguments) : boost::json::value();
    auto r = check_param_headers(annotations, c.headers, c.arguments ? &args : nullptr);
    if (!c.problem) {
      EXPECT_FALSE(r) << c.name << ": " << *r;
    } else {
      ASSERT_TRUE(r) << c.name;
      EXPECT_NE(r->find(c.problem), std::string::npos) << c.name << ": " << *r;
    }
  }
}

TEST(ParamHeaders, NoAnnotationsRefuseAnyParamHeader) {
  boost::json::value args = js(R"({"region":"r"})");
  EXPECT_FALSE(check_param_headers({}, {}, &args));
  EXPECT_TRUE(check_param_headers({}, {{"Region", "r"}}, &args));
}

TEST(ParamHeaders, MirrorsWhatTheServerCheckAccepts) {
  auto annotations = annotations_of(kSchema);
  const char* calls[] = {
      R"({"region":"us-west1","priority":42,"verbose":true,"target":{"zone":"z"},"query":"q"})",
      R"({"region":"Hello, 世界","priority":-1,"verbose":null})",
      R"({"region":"=?base64?literal?=","target":{}})",
      R"({"region":" a\r\nX-Injected: 1 ","priority":42.0})",
      R"({"query":"only unannotated"})",
      // Above INT64_MAX Boost.JSON reads a uint64 (fuzz finding, regress-uint64).
      R"({"priority":9333333333333333332})",
      R"({"priority":18446744073709551615})",
      R"({"priority":-9223372036854775808})",
  };
  for (const char* text : calls) {
    boost::json::value args = js(text);
    auto m = mirror_param_headers(annotations, &args);
    ASSERT_TRUE(m.ok()) << text << ": " << m.reason();
    ReceivedParamHeaders received;
    for (auto& [name, value] : m.value()) {
      ASSERT_TRUE(name.starts_with(kParamHeaderPrefix)) << name;
      // Never a byte an HTTP header cannot carry.
      for (char c : value) EXPECT_TRUE((c >= 0x21 && c <= 0x7e) || c == ' ') << text;
      received.emplace_back(name.substr(kParamHeaderPrefix.size()), value);
    }
    EXPECT_FALSE(check_param_headers(annotations, received, &args)) << text;
  }
  boost::json::value none;
  EXPECT_TRUE(mirror_param_headers(annotations, nullptr).value().empty());
  EXPECT_TRUE(mirror_param_headers(annotations, &none).value().empty());
}

TEST(ParamHeaders, MirroringRefusesWhatAHeaderCannotCarry) {
  auto annotations = annotations_of(kSchema);
  boost::json::value object_arg = js(R"({"region":{"nested":"object"}})");
  auto m = mirror_param_headers(annotations, &object_arg);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.reason().find("Mcp-Param-Region"), std::string::npos) << m.reason();
  boost::json::value fraction = js(R"({"priority":1.5})");
  EXPECT_FALSE(mirror_param_headers(annotations, &fraction).ok());

  // Bounded per header and in all; the limit is on the encoded form.
  boost::json::value big = boost::json::object{{"region", std::string(kMaxParamHeaderValue, 'a')}};
  EXPECT_TRUE(mirror_param_headers(annotations, &big).ok());
  big.as_object()["region"] = std::string(kMaxParamHeaderValue + 1, 'a');
  m = mirror_param_headers(annotations, &big);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.reason().find("too long"), std::string::npos) << m.reason();
  EXPECT_EQ(m.reason().find("aaaa"), std::string::npos) << "the value is not in the reason";
  big.as_object()["region"] = std::string(kMaxParamHeaderValue * 3 / 4, '\x01');  // grows in Base64
  EXPECT_FALSE(mirror_param_headers(annotations, &big).ok());
  boost::json::value two = boost::json::object{
      {"region", std::string(kMaxParamHeaderValue, 'a')},
      {"target", boost::json::object{{"zone", std::string(kMaxParamHeaderValue, 'b')}}}};
  EXPECT_FALSE(mirror_param_headers(annotations, &two).ok());
}

}  // namespace
}  // namespace bastion::protocol
