#include "protocol/form.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

namespace bastion::protocol {
namespace {

TEST(Form, DecodesBrowserFormsWithRepeatedNames) {
  auto f = parse_form("id=abc&scope=mcp%3Atool%3Aa%2Fb&scope=offline_access&name=J+D%C3%A9&e=");
  ASSERT_TRUE(f);
  EXPECT_EQ(*f->get("id"), "abc");
  EXPECT_EQ(*f->get("name"), "J Dé");
  EXPECT_EQ(*f->get("e"), "");
  EXPECT_EQ(f->get("scope"), nullptr);  // repeated: not a single value
  EXPECT_EQ(f->all("scope"), (std::vector<std::string>{"mcp:tool:a/b", "offline_access"}));
  EXPECT_EQ(f->get("missing"), nullptr);
}

TEST(Form, RefusesMalformedAndOversizedBodies) {
  EXPECT_FALSE(parse_form("a=%zz"));
  EXPECT_FALSE(parse_form("a=%4"));
  EXPECT_FALSE(parse_form(std::string(70000, 'a')));
  std::string many;
  for (int i = 0; i < 300; ++i) many += "a=1&";
  EXPECT_FALSE(parse_form(many));
  EXPECT_TRUE(parse_form(""));
}

TEST(Form, QueryAndPathOfATarget) {
  auto q = parse_query("/signin/consent?id=x%2By&a=1#frag");
  ASSERT_TRUE(q);
  EXPECT_EQ(*q->get("id"), "x+y");
  EXPECT_TRUE(parse_query("/p")->fields.empty());
  EXPECT_EQ(target_path("/a/b?c#d"), "/a/b");
  EXPECT_EQ(target_path("/a/b#d?x"), "/a/b");
}

// A request target is a view into a larger buffer (the request line goes on
// after it): the last value must end where the view ends.
TEST(Form, TheLastValueEndsWithTheView) {
  std::string line = "/signin/consent?id=abc%2Bd+e HTTP/1.1\r\nHost: x";
  std::string_view target(line.data(), line.find(' '));
  auto q = parse_query(target);
  ASSERT_TRUE(q);
  ASSERT_TRUE(q->get("id"));
  EXPECT_EQ(*q->get("id"), "abc+d e");
  auto f = parse_form(std::string_view(line.data() + 16, 12));
  ASSERT_TRUE(f);
  EXPECT_EQ(*f->get("id"), "abc+d e");
}

// Beast keeps a request target in a buffer of its own with no NUL after it:
// nothing may read past the view (AddressSanitizer reports the byte after).
TEST(Form, NothingIsReadPastAnUnterminatedTarget) {
  auto unterminated = [](std::string_view text) {
    auto buf = std::make_unique<char[]>(text.size());  // exactly the target, no terminator
    std::memcpy(buf.get(), text.data(), text.size());
    return buf;
  };
  const std::string_view good = "/signin/login?return=/console";
  auto a = unterminated(good);
  auto q = parse_query(std::string_view(a.get(), good.size()));
  ASSERT_TRUE(q);
  ASSERT_TRUE(q->get("return"));
  EXPECT_EQ(*q->get("return"), "/console");
  const std::string_view bad = "/signin/login?return=%zz";
  auto b = unterminated(bad);
  EXPECT_FALSE(parse_query(std::string_view(b.get(), bad.size())));
}

TEST(Form, EncodesWhatItParses) {
  EXPECT_EQ(url_encode("a b/c?d=e&~_.-"), "a%20b%2Fc%3Fd%3De%26~_.-");
  std::string body = encode_form({{"redirect_uri", "http://127.0.0.1/cb?x=1"},
                                  {"scope", "openid mcp:tool:a/b"},
                                  {"empty", ""}});
  EXPECT_EQ(body,
            "redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb%3Fx%3D1&scope=openid%20mcp%3Atool%3Aa%2Fb");
  auto back = parse_form(body);
  ASSERT_TRUE(back);
  ASSERT_NE(back->get("scope"), nullptr);
  EXPECT_EQ(*back->get("scope"), "openid mcp:tool:a/b");
  EXPECT_EQ(back->get("empty"), nullptr);  // left out, as OAuth reads an empty one
}

TEST(Form, DecodesComponentsAndTakesRawCharactersAsTheyAre) {
  EXPECT_EQ(form_decode("a+b%20c%2B"), "a b c+");
  EXPECT_FALSE(form_decode("%"));
  EXPECT_FALSE(form_decode("%2"));
  EXPECT_FALSE(form_decode("%zz"));
  EXPECT_EQ(form_decode("%00"), std::string(1, '\0'));
  auto f = parse_form("q=a b|<c>&=x&k");
  ASSERT_TRUE(f);
  EXPECT_EQ(*f->get("q"), "a b|<c>");
  EXPECT_EQ(*f->get(""), "x");
  EXPECT_EQ(*f->get("k"), "");
  EXPECT_FALSE(parse_form("a=1&b=2", FormLimits{.max_bytes = 64, .max_fields = 1}));
  EXPECT_TRUE(parse_form("a=1&&", FormLimits{.max_bytes = 64, .max_fields = 1}));
}

}  // namespace
}  // namespace bastion::protocol
