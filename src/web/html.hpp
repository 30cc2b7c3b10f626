// HTML that is safe by construction: text from anywhere (a client's name, a
// redirect host, a scope, a user name) can only enter markup escaped.
//
//   web::Html row = web::format("<li>{} <code>{}</code></li>", {client_name, host});
//   web::Html list = web::format("<ul>{}</ul>", {row});   // Html arguments are not escaped again
//
// `format` replaces each "{}" of a template (a literal of our own code, never
// data) with the next argument: std::string_view arguments are escaped,
// Html arguments are inserted as they are. There is no other way to turn a
// string into Html than escape() and Html::trusted(), and trusted() is for
// literals only (grep for it in review).
//
// Escaping covers text and double- or single-quoted attribute values:
// & < > " ' become entities; NUL and other C0 controls (but tab, LF, CR) and
// DEL become U+FFFD, so no input can end an element, an attribute or a
// comment early. Invalid UTF-8 is replaced too (a browser would guess).
// Never put data into an unquoted attribute, a URL attribute without
// checking its scheme, a <script> or a <style>: these pages have none.
//
// Thread-safety: values and free functions only; reentrant.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace bastion::web {

class Html {
 public:
  Html() = default;
  // Markup written by us (a literal, or Html we built). Never data.
  static Html trusted(std::string markup) {
    Html h;
    h.s_ = std::move(markup);
    return h;
  }
  Html& operator+=(const Html& o) {
    s_ += o.s_;
    return *this;
  }
  // Appends `text` escaped.
  Html& operator+=(std::string_view text);
  friend Html operator+(Html a, const Html& b) { return a += b; }

  const std::string& str() const { return s_; }
  bool empty() const { return s_.empty(); }

 private:
  std::string s_;
};

// `text` escaped for an HTML text node or a quoted attribute value.
Html escape(std::string_view text);

// One argument of format(): text to escape, or markup to insert.
class Arg {
 public:
  Arg(std::string_view text) : v_(text) {}                      // NOLINT: implicit by design
  Arg(const std::string& text) : v_(std::string_view(text)) {}  // NOLINT
  Arg(const char* text) : v_(std::string_view(text)) {}         // NOLINT
  Arg(const Html& html) : v_(&html) {}                          // NOLINT

 private:
  friend Html format(std::string_view, std::initializer_list<Arg>);
  std::variant<std::string_view, const Html*> v_;
};

// Fills each "{}" of `tmpl` with the next argument (see above). "{{" and "}}"
// stand for literal braces. A count mismatch is a programming error (assert;
// in release builds missing arguments become empty, extra ones are dropped).
Html format(std::string_view tmpl, std::initializer_list<Arg> args);

}  // namespace bastion::web
