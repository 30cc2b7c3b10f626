#include "config/config.hpp"

#include <gtest/gtest.h>

namespace bastion::config {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, ReadsTypedValuesWithDefaults) {
  auto doc =
      Document::parse("http:\n  port: 9000\n  timeout: 250ms\n  body: 4MiB\nname: x\n", "t.yaml");
  Reader r(doc, "");
  Reader http = r.child("http");
  EXPECT_EQ(http.integer("port", 1, 0, 65535), 9000);
  EXPECT_EQ(http.duration("timeout", {}).count(), 250);
  EXPECT_EQ(http.bytes("body", 0), 4u << 20);
  EXPECT_EQ(http.boolean("missing", true), true);
  http.finish();
  EXPECT_EQ(r.str("name", ""), "x");
  r.finish();
}

TEST(Config, UnknownKeyNamesFileLineAndKnownKeys) {
  auto doc = Document::parse("http:\n  port: 9000\n  prot: 1\n", "cfg.yaml");
  Reader r(doc, "");
  Reader http = r.child("http");
  http.integer("port", 1, 0, 65535);
  auto msg = error_of([&] { http.finish(); });
  EXPECT_NE(msg.find("cfg.yaml:3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key 'prot'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("port"), std::string::npos) << msg;
}

TEST(Config, BadValuesAreRejectedWithTheirLine) {
  auto doc = Document::parse("a: 1\nport: seventy\nlevel: loud\nwait: 3 weeks\n", "c.yaml");
  Reader r(doc, "");
  EXPECT_NE(error_of([&] { r.integer("port", 0, 0, 65535); }).find("c.yaml:2:"), std::string::npos);
  EXPECT_NE(error_of([&] {
              r.choice("level", "info", {"info", "debug"});
            }).find("one of"),
            std::string::npos);
  EXPECT_NE(error_of([&] { r.duration("wait", {}); }).find("c.yaml:4:"), std::string::npos);
  EXPECT_NE(error_of([&] { r.integer("a", 5, 2, 3); }).find("between 2 and 3"), std::string::npos);
}

TEST(Config, ListsOfMappingsCheckEachElement) {
  auto doc = Document::parse("xs:\n  - {a: 1}\n  - {a: 2, b: 3}\nys: 5\nzs: [1]\n", "l.yaml");
  Reader r(doc, "");
  auto xs = r.list("xs");
  ASSERT_EQ(xs.size(), 2u);
  EXPECT_EQ(xs[0].integer("a", 0, 0, 9), 1);
  xs[0].finish();
  EXPECT_EQ(xs[1].integer("a", 0, 0, 9), 2);
  EXPECT_EQ(error_of([&] { xs[1].finish(); }).rfind("l.yaml:3:15: unknown key 'b'", 0), 0u);
  EXPECT_TRUE(r.list("absent").empty());
  EXPECT_EQ(error_of([&] { r.list("ys"); }).rfind("l.yaml:4:5: must be a list of mappings", 0), 0u);
  EXPECT_EQ(error_of([&] { r.list("zs"); }), "l.yaml:5:6: must be a mapping (zs.0)");
}

TEST(Config, WordsAreAListOrOneSpaceSeparatedString) {
  auto doc = Document::parse("a: [x, y]\nb: ' x  y '\nc: [1, [2]]\n", "w.yaml");
  Reader r(doc, "");
  EXPECT_EQ(r.words("a"), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(r.words("b"), (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(r.words("absent").empty());
  EXPECT_EQ(error_of([&] { r.words("c"); }).rfind("w.yaml:3:", 0), 0u);
  r.finish();
  auto doc2 = Document::parse("a: [x]\nz: 1\n", "w.yaml");
  Reader r2(doc2, "");
  r2.words("a");
  r2.words("a");
  EXPECT_NE(error_of([&] { r2.finish(); }).find("(known keys: a)"), std::string::npos);
}

TEST(Config, SyntaxErrorsAndDuplicateKeys) {
  EXPECT_NE(error_of([] { Document::parse("a: [1, 2\n", "s.yaml"); }).find("s.yaml:"),
            std::string::npos);
  EXPECT_NE(error_of([] { Document::parse("a: 1\na: 2\n", "d.yaml"); }).find("duplicate key"),
            std::string::npos);
  EXPECT_NE(error_of([] { Document::parse("- 1\n- 2\n", "l.yaml"); }).find("mapping"),
            std::string::npos);
}

TEST(Config, EnvironmentVariablesFillValues) {
  ::setenv("BASTION_TEST_PORT", "9123", 1);
  ::setenv("BASTION_TEST_HOST", "gw.example", 1);
  ::unsetenv("BASTION_TEST_UNSET");
  auto doc = Document::parse(
      "port: ${env:BASTION_TEST_PORT}\n"
      "url: http://${env:BASTION_TEST_HOST}:${env:BASTION_TEST_PORT}/mcp\n"
      "fallback: ${env:BASTION_TEST_UNSET:-http://127.0.0.1:8080}\n"
      "quoted: '${env:BASTION_TEST_PORT}'\n"
      "plain: ${CONFIG_DIR}/x\n",
      "t.yaml");
  Reader r(doc, "");
  EXPECT_EQ(r.integer("port", 0, 0, 65535), 9123);  // typed after substitution
  EXPECT_EQ(r.str("url", ""), "http://gw.example:9123/mcp");
  EXPECT_EQ(r.str("fallback", ""), "http://127.0.0.1:8080");
  EXPECT_EQ(r.raw("quoted")->as_string(), "9123");   // quoted stays a string
  EXPECT_EQ(r.str("plain", ""), "${CONFIG_DIR}/x");  // not ours: left for the gateway
  EXPECT_EQ(error_of([] { Document::parse("a: 1\nb: ${env:BASTION_TEST_UNSET}\n", "t.yaml"); }),
            "t.yaml:2:4: environment variable BASTION_TEST_UNSET is not set (write "
            "${env:BASTION_TEST_UNSET:-DEFAULT} for a default)");
  EXPECT_EQ(error_of([] { Document::parse("b: ${env:BAD-NAME}\n", "t.yaml"); }),
            "t.yaml:1:4: ${env:...} names no environment variable (a name is letters, digits and "
            "_, not starting with a digit)");
  EXPECT_EQ(error_of([] { Document::parse("b: ${env:X\n", "t.yaml"); }),
            "t.yaml:1:4: unterminated ${env:...} (no closing '}')");
}

// A malformed ${env:...} is reported by its place alone: a credential
// pasted where the variable's name belongs, or next to it in the value, and
// terminal control bytes never reach the error (and so the log).
TEST(Config, EnvErrorsNeverEchoTheValue) {
  const std::string secret = "sk-live-4f9c2a7be1d04c88a3e5";
  for (const std::string& yaml :
       {"token: ${env:" + secret + "}\n", "auth: \"Bearer " + secret + " ${env:TOKEN\"\n",
        "auth: \"\x1b[2J${env:" + secret + "\"\n"}) {
    std::string e = error_of([&] { Document::parse(yaml, "s.yaml"); });
    EXPECT_NE(e.find("s.yaml:1:"), std::string::npos) << e;
    EXPECT_EQ(e.find("sk-live"), std::string::npos) << e;
    EXPECT_EQ(e.find('\x1b'), std::string::npos) << e;
  }
}

TEST(Config, QuotedScalarsStayStrings) {
  auto doc = Document::parse("a: \"123\"\nb: 123\nc: 'true'\n", "q.yaml");
  EXPECT_TRUE(doc.root().at("a").is_string());
  EXPECT_TRUE(doc.root().at("b").is_int64());
  EXPECT_TRUE(doc.root().at("c").is_string());
}

TEST(Config, DurationsAndSizes) {
  EXPECT_EQ(parse_duration("2h")->count(), 7200000);
  EXPECT_EQ(parse_duration("90d")->count(), 90LL * 86400000);
  EXPECT_EQ(parse_duration("1.5s")->count(), 1500);
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("5 parsecs"));
  EXPECT_EQ(*parse_bytes("64KiB"), 65536u);
  EXPECT_FALSE(parse_bytes("12 lots"));
}

TEST(Config, DurationsAndSizesOutOfRangeAreRefused) {
  // fuzz/config: a duration past int64 milliseconds was converted with
  // undefined behaviour (UBSan); infinity and NaN parse as doubles too.
  EXPECT_FALSE(parse_duration("50222222222222222222222222222222"));
  EXPECT_FALSE(parse_duration("inf"));
  EXPECT_FALSE(parse_duration("infd"));
  EXPECT_FALSE(parse_duration("nan"));
  EXPECT_FALSE(parse_duration("36501d"));  // the bound: 100 years
  EXPECT_EQ(parse_duration("36500d")->count(), 36500LL * 86400000);
  // A plain number of seconds has the same bound (fuzz/config: seconds to
  // milliseconds overflowed int64, undefined behaviour).
  auto doc = Document::parse(
      "huge: 1502222222222222220\nover: 3153600001\nmost: 3153600000\nbig: 18446744073709551615\n",
      "d.yaml");
  Reader r(doc, "");
  EXPECT_NE(error_of([&] { r.duration("huge", {}); }).find("d.yaml:1:"), std::string::npos);
  EXPECT_NE(error_of([&] { r.duration("over", {}); }).find("at most 100 years"), std::string::npos);
  EXPECT_EQ(r.duration("most", {}).count(), 3153600000LL * 1000);
  EXPECT_NE(error_of([&] { r.duration("big", {}); }).find("d.yaml:4:"), std::string::npos);
  // Sizes wrapped around silently: 2^34 GiB is 2^64 bytes, read as 0.
  EXPECT_FALSE(parse_bytes("17179869184GiB"));
  EXPECT_FALSE(parse_bytes("18446744073709551615KB"));
  EXPECT_EQ(*parse_bytes("18446744073709551615"), 18446744073709551615ull);
  EXPECT_EQ(*parse_bytes("17179869183GiB"), 17179869183ull << 30);
}

}  // namespace
}  // namespace bastion::config
