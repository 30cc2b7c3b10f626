#include "gateway/catalogue.hpp"

#include <gtest/gtest.h>

namespace bastion::gateway {
namespace {

namespace json = boost::json;
using server::Kind;

TEST(ExposedName, PrefixesWithDoubleUnderscore) {
  EXPECT_EQ(exposed_name("weather", "get_forecast"), "weather__get_forecast");
  EXPECT_EQ(exposed_name("", "test_simple_text"), "test_simple_text");
}

TEST(ExposedName, LongNamesAreShortenedDeterministicallyTo64KeepingThePrefix) {
  std::string tool(80, 'a');
  std::string a = exposed_name("server", tool);
  EXPECT_EQ(a.size(), kMaxToolName);
  EXPECT_EQ(a, exposed_name("server", tool));  // stable across calls and restarts
  EXPECT_NE(a, exposed_name("server", tool + "b"));
  EXPECT_EQ(a.substr(0, 8), "server__");
  std::string exact(64 - 8, 'x');
  EXPECT_EQ(exposed_name("server", exact).size(), 64u);
  EXPECT_EQ(exposed_name("server", exact), "server__" + exact);  // fits: untouched
  // The longest prefix allowed still starts every shortened name intact.
  std::string prefix(kMaxPrefix, 'p');
  EXPECT_TRUE(under_prefix(exposed_name(prefix, std::string(128, 'n')), prefix));
}

struct NameCase {
  const char* label;
  json::value name;
  bool ok;
};

TEST(NameProblem, FollowsTheSpecificationsToolNameRules) {
  const NameCase cases[] = {
      {"plain", json::value("getUser"), true},
      {"underscore digits", json::value("DATA_EXPORT_v2"), true},
      {"dots", json::value("admin.tools.list"), true},
      {"dash", json::value("get-sum"), true},
      {"128 characters", json::value(std::string(128, 'x')), true},
      {"129 characters", json::value(std::string(129, 'x')), false},
      {"empty", json::value(""), false},
      {"number", json::value(42), false},
      {"null", json::value(nullptr), false},
      {"object", json::value(json::object{{"a", 1}}), false},
      {"NUL", json::value(std::string("a\0b", 3)), false},
      {"bidi override",
       json::value("\xe2\x80\xae"
                   "exe.txt"),
       false},
      {"zero width", json::value("to\xe2\x80\x8bol"), false},
      {"markup", json::value("<img src=x>"), false},
      {"path", json::value("../etc/passwd"), false},
      {"space", json::value("get weather"), false},
      {"slash", json::value("a/b"), false},
      {"newline", json::value("a\nb"), false},
      {"non-ASCII letter", json::value("caf\xc3\xa9"), false},
  };
  for (const auto& c : cases) EXPECT_EQ(!name_problem(c.name), c.ok) << c.label;
}

TEST(UriProblem, NeedsASchemeAndNoInvisibleCharacters) {
  EXPECT_FALSE(uri_problem(json::value("file:///tmp/a.txt")));
  EXPECT_FALSE(uri_problem(json::value("test://template/{id}/data")));
  EXPECT_FALSE(uri_problem(json::value("notes://caf%C3%A9/\xed\x95\x9c")));  // non-ASCII is fine
  EXPECT_TRUE(uri_problem(json::value("")));
  EXPECT_TRUE(uri_problem(json::value(7)));
  EXPECT_TRUE(uri_problem(json::value("no-scheme")));
  EXPECT_TRUE(uri_problem(json::value("{+any}")));
  EXPECT_FALSE(uri_problem(json::value("{+any}"), true));  // a template may start with one
  EXPECT_TRUE(uri_problem(json::value("1x://a")));
  EXPECT_TRUE(uri_problem(json::value("file:///a b")));
  EXPECT_TRUE(uri_problem(json::value(std::string("file:///a\0b", 11))));
  EXPECT_TRUE(
      uri_problem(json::value("file:///\xe2\x80\xae"
                              "fdp.exe")));
  EXPECT_TRUE(uri_problem(json::value("x://" + std::string(kMaxUri, 'a'))));
}

std::vector<std::string> originals(const AdmittedCatalogue& c) {
  std::vector<std::string> out;
  for (auto& e : c.entries) out.push_back(e.original);
  return out;
}

TEST(Admit, RefusesBadNamesInsteadOfCollapsingThemIntoOne) {
  std::vector<json::object> tools;
  for (json::value n :
       {json::value("ok"), json::value(""), json::value(1), json::value(2),
        json::value(std::string("\0", 1)), json::value("<b>x</b>"), json::value("../up"),
        json::value("\xe2\x80\xae"
                    "x")})
    tools.push_back(json::object{{"name", n}, {"inputSchema", json::object{{"type", "object"}}}});
  tools.push_back(json::object{{"description", "no name at all"}});
  auto c = admit(Kind::kTool, tools, "srv", {});
  EXPECT_EQ(originals(c), std::vector<std::string>{"ok"});
  EXPECT_EQ(c.entries[0].exposed, "srv__ok");
  EXPECT_EQ(c.entries[0].item.at("name"), "srv__ok");
  EXPECT_EQ(c.entries[0].item.at("title"), "ok");
  EXPECT_EQ(c.notes.size(), 8u);
  for (auto& n : c.notes) {
    EXPECT_TRUE(n.refused);
    for (char ch : n.name) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << n.name;  // printable in logs
  }
}

TEST(Admit, ANameDeclaredTwiceIsRefusedBothTimes) {
  std::vector<json::object> tools{json::object{{"name", "dup"}, {"description", "first"}},
                                  json::object{{"name", "dup"}, {"description", "second"}},
                                  json::object{{"name", "solo"}}};
  auto c = admit(Kind::kTool, tools, "", {});
  EXPECT_EQ(originals(c), std::vector<std::string>{"solo"});
  ASSERT_EQ(c.notes.size(), 1u);
  EXPECT_EQ(c.notes[0].reason, "declared 2 times");
}

TEST(Admit, AToolWithInvalidXMcpHeaderAnnotationsIsRefused) {
  // Spec 2026-07-28: a Streamable HTTP client must drop such a tool from
  // tools/list; the gateway drops it for every client behind it.
  auto tool = [](std::string_view name, std::string_view type, std::string_view header) {
    return json::object{
        {"name", name},
        {"inputSchema",
         json::object{
             {"type", "object"},
             {"properties",
              json::object{{"region", json::object{{"type", type}, {"x-mcp-header", header}}}}}}}};
  };
  std::vector<json::object> tools{tool("good", "string", "Region"), tool("number", "number", "N"),
                                  tool("crlf", "string", "A\r\nX-Injected: 1"),
                                  json::object{{"name", "plain"}}};
  auto c = admit(Kind::kTool, tools, "", {});
  EXPECT_EQ(originals(c), (std::vector<std::string>{"good", "plain"}));
  // What is admitted keeps its annotations (checked and mirrored by them).
  ASSERT_EQ(c.entries[0].param_headers.size(), 1u);
  EXPECT_EQ(c.entries[0].param_headers[0].name, "Region");
  EXPECT_EQ(c.entries[0].param_headers[0].path, (std::vector<std::string>{"region"}));
  EXPECT_TRUE(c.entries[1].param_headers.empty());
  ASSERT_EQ(c.notes.size(), 2u);
  for (const auto& n : c.notes) {
    EXPECT_TRUE(n.refused);
    EXPECT_TRUE(n.reason.starts_with("invalid x-mcp-header: ")) << n.reason;
  }
}

TEST(Admit, CutsLongDescriptionsOnACharacterBoundaryAndRefusesHugeSchemas) {
  CatalogueLimits limits;
  limits.max_description = 1000;
  limits.max_schema = 2000;
  std::string desc;
  while (desc.size() < 8 * 1024 * 1024) desc += "\xea\xb0\x80";  // 3-byte characters
  json::object big_schema{
      {"type", "object"},
      {"properties", json::object{{"x", json::object{{"description", std::string(3000, 'd')}}}}}};
  std::vector<json::object> tools{json::object{{"name", "wordy"}, {"description", desc}},
                                  json::object{{"name", "schema"}, {"inputSchema", big_schema}},
                                  json::object{{"name", "fine"}, {"description", "short"}}};
  auto c = admit(Kind::kTool, tools, "s", limits);
  EXPECT_EQ(originals(c), (std::vector<std::string>{"wordy", "fine"}));
  std::string cut(c.entries[0].item.at("description").as_string());
  EXPECT_LT(cut.size(), 1100u);
  EXPECT_EQ(cut.substr(0, 999), desc.substr(0, 999));  // 333 whole characters
  EXPECT_NE(cut.find("cut by Bastion: 8388609 bytes"), std::string::npos) << cut.substr(990);
  ASSERT_EQ(c.notes.size(), 2u);
  EXPECT_FALSE(c.notes[0].refused);  // cut, kept
  EXPECT_TRUE(c.notes[1].refused);
  EXPECT_NE(c.notes[1].reason.find("max_schema"), std::string::npos);
}

TEST(Admit, ResourcesKeepTheirUrisAndBadOnesAreRefused) {
  std::vector<json::object> res{json::object{{"uri", "notes://a"}, {"name", "a"}},
                                json::object{{"uri", "not a uri"}, {"name", "b"}},
                                json::object{{"uri", "notes://a"}, {"name", "again"}},
                                json::object{{"uri", "notes://c"}, {"name", "c"}}};
  auto c = admit(Kind::kResource, res, "srv", {});
  EXPECT_EQ(originals(c), std::vector<std::string>{"notes://c"});
  EXPECT_EQ(c.entries[0].exposed, "notes://c");
  EXPECT_EQ(c.entries[0].item.at("name"), "c");  // resource names are left alone
  auto t = admit(Kind::kResourceTemplate,
                 {json::object{{"uriTemplate", "notes://{id}"}, {"name", "n"}}}, "srv", {});
  EXPECT_EQ(originals(t), std::vector<std::string>{"notes://{id}"});
}

}  // namespace
}  // namespace bastion::gateway
