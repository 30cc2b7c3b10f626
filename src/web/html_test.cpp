#include "web/html.hpp"

#include <gtest/gtest.h>

namespace bastion::web {
namespace {

TEST(Html, EscapesEverythingThatCanEndTextOrAnAttribute) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"plain", "plain"},
      {"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
      {"\" onmouseover=\"x", "&quot; onmouseover=&quot;x"},
      {"' autofocus onfocus='x", "&#39; autofocus onfocus=&#39;x"},
      {"a&amp;b", "a&amp;amp;b"},
      {"--><!--", "--&gt;&lt;!--"},
      {std::string("nul\0byte", 8),
       "nul\xEF\xBF\xBD"
       "byte"},
      {"esc\x1b[31m", "esc\xEF\xBF\xBD[31m"},
      {"del\x7f", "del\xEF\xBF\xBD"},
      {"tab\tnl\ncr\r", "tab\tnl\ncr\r"},
      {"한국어 ✓", "한국어 ✓"},
      {"bad\xC0\xAFutf8", "bad\xEF\xBF\xBD\xEF\xBF\xBDutf8"},  // overlong '/'
      {"surrogate\xED\xA0\x80", "surrogate\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"cut\xE2\x82", "cut\xEF\xBF\xBD\xEF\xBF\xBD"},
  };
  for (const auto& c : cases) EXPECT_EQ(escape(c.in).str(), c.out) << c.in;
}

TEST(Html, FormatEscapesTextButNotHtml) {
  Html inner = format("<b>{}</b>", {"<i>"});
  EXPECT_EQ(inner.str(), "<b>&lt;i&gt;</b>");
  std::string name = "Evil\" <img src=x>";
  Html outer = format("<p title=\"{}\">{} {{literal}}</p>", {name, inner});
  EXPECT_EQ(outer.str(),
            "<p title=\"Evil&quot; &lt;img src=x&gt;\"><b>&lt;i&gt;</b> {literal}</p>");
}

TEST(Html, AppendingTextEscapesIt) {
  Html h = Html::trusted("<p>");
  h += std::string_view("<x>");
  h += Html::trusted("</p>");
  EXPECT_EQ(h.str(), "<p>&lt;x&gt;</p>");
}

}  // namespace
}  // namespace bastion::web
