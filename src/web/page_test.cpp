#include "web/page.hpp"

#include <gtest/gtest.h>

namespace bastion::web {
namespace {

TEST(Page, EveryPageIsLockedDown) {
  Document d{.title = "Sign <in>",
             .stylesheet = "https://b.example/signin/assets/bastion.css",
             .body = card("Hello", format("<p>{}</p>", {"<script>x</script>"}))};
  auto res =
      html_response(11, http::status::ok, d, {.form_targets = {"https://claude.ai", "bad value"}});
  std::string csp(res["Content-Security-Policy"]);
  EXPECT_EQ(csp,
            "default-src 'none'; style-src https://b.example/signin/assets/bastion.css; "
            "img-src data:; form-action 'self' https://claude.ai; frame-ancestors 'none'; "
            "base-uri 'none'");
  EXPECT_EQ(csp.find("script"), std::string::npos);
  EXPECT_EQ(res["X-Frame-Options"], "DENY");
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(res["Referrer-Policy"], "no-referrer");
  EXPECT_EQ(res[http::field::cache_control], "no-store");
  EXPECT_EQ(res[http::field::content_type], "text/html; charset=utf-8");
  const std::string& body = res.body();
  EXPECT_NE(body.find("<html lang=\"en\">"), std::string::npos);
  EXPECT_NE(body.find("<title>Sign &lt;in&gt; · Bastion</title>"), std::string::npos);
  EXPECT_NE(body.find("&lt;script&gt;x&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(body.find("<script"), std::string::npos);
  EXPECT_NE(body.find("name=\"viewport\""), std::string::npos);
}

TEST(Page, StylesheetAndRedirects) {
  auto css = stylesheet_response(11);
  EXPECT_EQ(css[http::field::content_type], "text/css; charset=utf-8");
  EXPECT_NE(css.body().find(":focus-visible"), std::string::npos);
  EXPECT_NE(css.body().find("prefers-color-scheme:dark"), std::string::npos);
  auto r = see_other(11, "https://b.example/account/");
  EXPECT_EQ(r.result(), http::status::see_other);
  EXPECT_EQ(r[http::field::location], "https://b.example/account/");
  EXPECT_NE(std::string(r["Content-Security-Policy"]).find("frame-ancestors 'none'"),
            std::string::npos);
}

TEST(Page, NoticesAnnounceErrors) {
  EXPECT_NE(notice("error", escape("x")).str().find("role=\"alert\""), std::string::npos);
  EXPECT_EQ(notice("info", escape("x")).str().find("role="), std::string::npos);
  EXPECT_EQ(notice("\"><script>", escape("x")).str(), "<div class=\"notice info\">x</div>");
}

}  // namespace
}  // namespace bastion::web
