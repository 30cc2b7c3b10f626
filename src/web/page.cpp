#include "web/page.hpp"

#include "web/csrf.hpp"

namespace bastion::web {

namespace {

// Light and dark palettes; every text/background pair is at least 4.5:1
// (WCAG AA), buttons and focus rings at least 3:1 against their surround.
constexpr std::string_view kStylesheet = R"css(:root{color-scheme:light dark;
--bg:#f3f4f6;--fg:#15171c;--muted:#4a5160;--card:#fff;--border:#cfd4dc;--accent:#1d4ed8;
--accent-fg:#fff;--accent-hover:#1e40af;--focus:#1d4ed8;--err-bg:#fdecea;--err-fg:#8a1c12;
--warn-bg:#fff4e0;--warn-fg:#6b3a00;--ok-bg:#e7f6ec;--ok-fg:#14532d;--info-bg:#eaf0ff;--info-fg:#1e3a8a}
@media (prefers-color-scheme:dark){:root{--bg:#0f1115;--fg:#e9ebef;--muted:#aeb5c2;--card:#191c22;
--border:#363c48;--accent:#8aaaff;--accent-fg:#0a0f1f;--accent-hover:#a9c0ff;--focus:#a9c0ff;
--err-bg:#3a1714;--err-fg:#ffb4ab;--warn-bg:#34260c;--warn-fg:#ffd48a;--ok-bg:#0f2c1a;
--ok-fg:#a6e3bb;--info-bg:#16203a;--info-fg:#c4d4ff}}
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);
font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK KR",sans-serif}
.page{min-height:100vh;display:flex;flex-direction:column;align-items:center;padding:2.5rem 1rem}
.brand{display:flex;align-items:center;gap:.5rem;font-weight:700;font-size:1.125rem;
margin:0 0 1.25rem;color:var(--fg)}
.brand svg{width:1.75rem;height:1.75rem;color:var(--accent)}
main{width:100%;max-width:30rem}
.card{background:var(--card);border:1px solid var(--border);border-radius:14px;padding:1.75rem;
box-shadow:0 1px 2px rgba(0,0,0,.05),0 4px 16px rgba(0,0,0,.04)}
h1{font-size:1.375rem;line-height:1.3;margin:0 0 1rem}
h2{font-size:1rem;margin:1.25rem 0 .5rem}
p{margin:0 0 1rem}
a{color:var(--accent);text-underline-offset:2px}
label{display:block;font-weight:600;margin:1rem 0 .375rem}
input[type=text],input[type=password],input[type=email]{display:block;width:100%;min-height:44px;
font:inherit;color:var(--fg);background:var(--card);border:1px solid var(--muted);
border-radius:8px;padding:.5rem .75rem}
input[type=checkbox]{width:1.25rem;height:1.25rem;margin:.125rem 0 0;flex:none;
accent-color:var(--accent)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
input:focus-visible{outline-offset:0}
button,.button{display:inline-flex;align-items:center;justify-content:center;min-height:44px;
padding:.5rem 1.125rem;border-radius:8px;border:1px solid transparent;font:inherit;
font-weight:600;cursor:pointer;text-decoration:none}
.primary{background:var(--accent);color:var(--accent-fg)}
.primary:hover{background:var(--accent-hover)}
.secondary{background:transparent;color:var(--fg);border-color:var(--muted)}
.secondary:hover{background:var(--bg)}
.link{background:none;border:0;padding:0;min-height:0;color:var(--accent);font-weight:400;
text-decoration:underline;text-underline-offset:2px}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.5rem}
.actions>*{flex:1 1 9rem}
.stack>*+*{margin-top:.75rem}
.wide{width:100%}
.notice{border-radius:8px;padding:.75rem 1rem;margin:0 0 1rem;border-left:4px solid}
.notice p:last-child{margin:0}
.notice.error{background:var(--err-bg);color:var(--err-fg)}
.notice.warning{background:var(--warn-bg);color:var(--warn-fg)}
.notice.success{background:var(--ok-bg);color:var(--ok-fg)}
.notice.info{background:var(--info-bg);color:var(--info-fg)}
.muted{color:var(--muted);font-size:.9375rem}
.small{font-size:.875rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.875em;
overflow-wrap:anywhere}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.375rem 1rem;margin:0 0 1rem}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere;font-weight:600}
ul.scopes{list-style:none;margin:.5rem 0 0;padding:0;border:1px solid var(--border);
border-radius:10px}
ul.scopes li{display:flex;gap:.75rem;align-items:flex-start;padding:.75rem .875rem;
border-top:1px solid var(--border)}
ul.scopes li:first-child{border-top:0}
ul.scopes label{margin:0;font-weight:400;display:flex;gap:.75rem;align-items:flex-start;width:100%;
cursor:pointer}
ul.scopes .what{display:block;font-weight:600}
ul.scopes .detail{display:block;color:var(--muted);font-size:.875rem}
.check{display:flex;gap:.625rem;align-items:flex-start;font-weight:400;margin:1.25rem 0 0;
cursor:pointer}
.divider{display:flex;align-items:center;gap:.75rem;color:var(--muted);font-size:.875rem;
margin:1.5rem 0 1rem}
.divider::before,.divider::after{content:"";flex:1;border-top:1px solid var(--border)}
.grants{list-style:none;margin:0;padding:0}
.grants>li{border:1px solid var(--border);border-radius:10px;padding:1rem;margin-top:.75rem}
.grants h2{margin:0 0 .25rem}
.grants form{margin-top:.75rem}
footer{margin-top:1.25rem;text-align:center;color:var(--muted);font-size:.875rem}
footer form{display:inline}
@media (max-width:480px){.page{padding:1.25rem .75rem}.card{padding:1.25rem;border-radius:12px}
dl.facts{grid-template-columns:1fr;gap:0}dl.facts dd{margin-bottom:.5rem}h1{font-size:1.25rem}}
@media (prefers-reduced-motion:reduce){*{transition:none!important}}
)css";

// The mark: a shield, inline (no request, nothing for the CSP to allow).
constexpr std::string_view kMark =
    R"(<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" )"
    R"(d="M12 1.5 3.5 5v6.2c0 5.2 3.6 10 8.5 11.3 4.9-1.3 8.5-6.1 8.5-11.3V5L12 1.5Zm0 2.2 )"
    R"(6.5 2.7v4.8c0 4.2-2.8 8.1-6.5 9.3-3.7-1.2-6.5-5.1-6.5-9.3V6.4L12 3.7Zm-1.2 11.7 5.6-5.6-1.4-1.4 )"
    R"(-4.2 4.2-2-2-1.4 1.4 3.4 3.4Z"/></svg>)";

}  // namespace

std::string_view stylesheet() { return kStylesheet; }

Html render(const Document& doc) {
  return format(
      "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
      "<meta name=\"referrer\" content=\"no-referrer\">"
      "<meta name=\"robots\" content=\"noindex,nofollow\">"
      "<title>{} · Bastion</title><link rel=\"stylesheet\" href=\"{}\"></head>"
      "<body><div class=\"page\"><div class=\"brand\">{}<span>Bastion</span></div>"
      "<main>{}</main>{}</div></body></html>\n",
      {doc.lang, doc.title, doc.stylesheet, Html::trusted(std::string(kMark)), doc.body,
       doc.footer.empty() ? Html{} : format("<footer>{}</footer>", {doc.footer})});
}

std::string content_security_policy(const Document& doc, const PageSecurity& sec) {
  std::string style = doc.stylesheet.empty() ? "'none'" : doc.stylesheet;
  std::string csp =
      "default-src 'none'; style-src " + style + "; img-src data:; form-action 'self'";
  for (const auto& t : sec.form_targets) {
    // Only what a CSP source list can hold: an origin or a scheme.
    bool ok = !t.empty();
    for (char c : t)
      if (c == ' ' || c == ';' || c == ',' || c == '\'' || static_cast<unsigned char>(c) < 0x21 ||
          static_cast<unsigned char>(c) > 0x7E)
        ok = false;
    if (ok) csp += " " + t;
  }
  csp += "; frame-ancestors 'none'; base-uri 'none'";
  return csp;
}

void set_security_headers(Response& res, const std::string& csp) {
  res.set("Content-Security-Policy", csp);
  res.set("X-Frame-Options", "DENY");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set(http::field::cache_control, "no-store");
  res.set(http::field::pragma, "no-cache");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
  res.set("Cross-Origin-Resource-Policy", "same-origin");
  res.set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
}

Response html_response(unsigned version, http::status status, const Document& doc,
                       const PageSecurity& sec) {
  Response res{status, version};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  set_security_headers(res, content_security_policy(doc, sec));
  res.body() = render(doc).str();
  res.prepare_payload();
  return res;
}

Response see_other(unsigned version, std::string_view location) {
  Response res{http::status::see_other, version};
  set_security_headers(res, "default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
  res.set(http::field::location, location);
  res.prepare_payload();
  return res;
}

Response stylesheet_response(unsigned version) {
  Response res{http::status::ok, version};
  res.set(http::field::content_type, "text/css; charset=utf-8");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Cross-Origin-Resource-Policy", "same-origin");
  res.set(http::field::cache_control, "public, max-age=86400");
  res.body() = std::string(kStylesheet);
  res.prepare_payload();
  return res;
}

Html card(std::string_view heading, const Html& content) {
  return format("<div class=\"card\"><h1>{}</h1>{}</div>", {heading, content});
}

Html notice(std::string_view kind, const Html& content) {
  std::string_view k = kind == "error" || kind == "warning" || kind == "success" ? kind : "info";
  return format(kind == "error" ? "<div class=\"notice {}\" role=\"alert\">{}</div>"
                                : "<div class=\"notice {}\">{}</div>",
                {k, content});
}

Document message_page(std::string title, std::string_view stylesheet_url, std::string_view kind,
                      std::string_view heading, std::string_view text, const Html& extra) {
  Document d;
  d.title = std::move(title);
  d.stylesheet = std::string(stylesheet_url);
  d.body = card(heading, notice(kind, format("<p>{}</p>", {text})) + extra);
  return d;
}

}  // namespace bastion::web
