#include "gateway/definition.hpp"

#include <gtest/gtest.h>

namespace bastion::gateway {
namespace {

namespace json = boost::json;
using server::Kind;

TEST(Definition, KeepsThePinnedFieldsOnly) {
  auto item = json::parse(R"({"name":"add","title":"Add","description":"Adds.",
      "inputSchema":{"type":"object"},"outputSchema":{"type":"object"},
      "annotations":{"readOnlyHint":true},"_meta":{"x":1},"icons":[]})")
                  .as_object();
  auto def = pinned_definition(Kind::kTool, item);
  EXPECT_EQ(def.size(), 6u);
  EXPECT_FALSE(def.contains("_meta"));
  auto prompt = pinned_definition(
      Kind::kPrompt,
      json::parse(R"({"name":"p","description":"d","arguments":[{"name":"a"}],"x":1})")
          .as_object());
  EXPECT_EQ(prompt.size(), 3u);
  auto tmpl = pinned_definition(
      Kind::kResourceTemplate,
      json::parse(R"({"uriTemplate":"file:///{p}","name":"f","mimeType":"text/plain"})")
          .as_object());
  EXPECT_EQ(tmpl.size(), 3u);
}

TEST(Definition, HashIgnoresKeyOrderButNothingElse) {
  auto a = json::parse(R"({"name":"t","inputSchema":{"type":"object","properties":{"x":{}}}})")
               .as_object();
  auto b = json::parse(R"({"inputSchema":{"properties":{"x":{}},"type":"object"},"name":"t"})")
               .as_object();
  EXPECT_EQ(definition_hash(a), definition_hash(b));
  EXPECT_EQ(definition_hash(a).size(), 64u);
  struct Case {
    const char* label;
    const char* other;
  } cases[] = {
      {"description added", R"({"name":"t","description":"","inputSchema":{"type":"object",
          "properties":{"x":{}}}})"},
      {"property renamed", R"({"name":"t","inputSchema":{"type":"object","properties":{"y":{}}}})"},
      {"type changed", R"({"name":"t","inputSchema":{"type":"array","properties":{"x":{}}}})"},
      {"keyword added", R"({"name":"t","inputSchema":{"type":"object","properties":{"x":{}},
          "maxItems":1}})"},
  };
  for (auto& c : cases)
    EXPECT_NE(definition_hash(a), definition_hash(json::parse(c.other).as_object())) << c.label;
}

TEST(Definition, DiffNamesEachChangedPath) {
  auto before = json::parse(R"({"name":"t","description":"Adds.","inputSchema":{"type":"object",
      "properties":{"a":{"type":"number"}},"required":["a"]}})");
  auto after = json::parse(R"({"name":"t","description":"Adds. <IMPORTANT>x</IMPORTANT>",
      "inputSchema":{"type":"object","properties":{"a":{"type":"number"},
      "side/note":{"type":"string"}},"required":["a","side/note"]}})");
  auto changes = diff_definitions(before, after);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].path, "/description");
  EXPECT_TRUE(changes[0].before && changes[0].after);
  EXPECT_EQ(changes[1].path, "/inputSchema/properties/side~1note");
  EXPECT_FALSE(changes[1].before);
  EXPECT_EQ(changes[2].path, "/inputSchema/required/1");
  EXPECT_TRUE(diff_definitions(before, before).empty());
  // Removed fields and shortened arrays show as removals.
  auto back = diff_definitions(after, before);
  ASSERT_EQ(back.size(), 3u);
  EXPECT_FALSE(back[1].after);
  std::string text = render_diff(changes);
  EXPECT_NE(text.find("~ /description"), std::string::npos);
  EXPECT_NE(text.find("+ /inputSchema/properties/side~1note"), std::string::npos);
}

TEST(Definition, RenderedDiffShowsHiddenCharactersEscaped) {
  auto changes = diff_definitions(json::parse(R"({"d":"a"})"),
                                  json::parse("{\"d\":\"a\\u202e\\u200b\\u001b[8m\"}"));
  std::string text = render_diff(changes);
  EXPECT_NE(text.find("\\u202e"), std::string::npos) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace bastion::gateway
