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
    ASSERT_EQ(parsed.index(), 0u) << c.name;
    auto r = param_headers(std::get<0>(parsed));
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
  auto r = param_headers(std::get<0>(parse_json(
      R"({"properties":{"t":{"type":"object","properties":{"id":{"type":"integer","x-mcp-header":"Tenant-Id"}}}}})")));
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].name, "Tenant-Id");
  EXPECT_EQ(r.headers[0].path, (std::vector<std::string>{"t", "id"}));
  EXPECT_EQ(r.headers[0].type, "integer");
}

}  // namespace
}  // namespace bastion::protocol
