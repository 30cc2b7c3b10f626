#include "pii/patterns.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace bastion::pii {

extern const std::string_view kDefaultPiiPatternsJson;

namespace json = boost::json;

namespace {

[[noreturn]] void fail(std::string_view source, std::string_view what) {
  throw PatternError(fmt::format("pii patterns {}: {}", source, what));
}

std::vector<std::string> string_list(const json::object& o, std::string_view key,
                                     std::string_view source) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (!v) return out;
  if (!v->is_array()) fail(source, fmt::format("'{}' must be an array of strings", key));
  for (const auto& e : v->get_array()) {
    if (!e.is_string()) fail(source, fmt::format("'{}' must be an array of strings", key));
    out.emplace_back(e.get_string());
  }
  return out;
}

CustomPattern custom_entry(std::string_view name, const json::value& v, std::string_view source) {
  if (v.is_string()) return translate_python_regex(name, v.get_string(), source);
  if (!v.is_object()) fail(source, fmt::format("pattern '{}' must be a string or object", name));
  const auto& o = v.get_object();
  const json::value* re = o.if_contains("regex");
  if (!re || !re->is_string())
    fail(source, fmt::format("pattern '{}' needs a string 'regex'", name));
  CustomPattern p = translate_python_regex(name, re->get_string(), source);
  if (const json::value* c = o.if_contains("confidence")) {
    if (!c->is_number())
      fail(source, fmt::format("pattern '{}': confidence must be a number", name));
    p.confidence = c->to_number<double>();
    if (p.confidence < 0 || p.confidence > 1)
      fail(source, fmt::format("pattern '{}': confidence must be within 0..1", name));
  }
  return p;
}

}  // namespace

void PatternSet::merge(const PatternSet& o) {
  anchors.insert(anchors.end(), o.anchors.begin(), o.anchors.end());
  secret_keys.insert(secret_keys.end(), o.secret_keys.begin(), o.secret_keys.end());
  korean_surnames.insert(korean_surnames.end(), o.korean_surnames.begin(), o.korean_surnames.end());
  name_stop_words.insert(name_stop_words.end(), o.name_stop_words.begin(), o.name_stop_words.end());
  custom.insert(custom.end(), o.custom.begin(), o.custom.end());
}

std::string_view default_patterns_json() { return kDefaultPiiPatternsJson; }

const PatternSet& default_patterns() {
  static const PatternSet set = parse_patterns_text(kDefaultPiiPatternsJson, "default");
  return set;
}

CustomPattern translate_python_regex(std::string_view name, std::string_view re,
                                     std::string_view source) {
  auto bad = [&](std::string_view why) {
    fail(source, fmt::format("pattern '{}': {} (Vectorscan cannot run it; rewrite the pattern)",
                             name, why));
  };
  CustomPattern out{std::string(name), {}, {}, 0.8, std::string(source)};
  std::string body;
  body.reserve(re.size());
  bool in_class = false;
  // Positions (in `body`) of open groups, and whether each is a lookahead.
  struct Open {
    std::size_t at;
    bool lookahead;
  };
  std::vector<Open> open;
  std::size_t lookahead_at = std::string::npos;  // where the trailing (?=...) began
  for (std::size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    if (c == '\\' && i + 1 < re.size()) {
      char n = re[i + 1];
      if (!in_class && n >= '1' && n <= '9') bad("backreferences are not supported");
      body += c;
      body += n;
      ++i;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      body += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      body += c;
      if (i + 1 < re.size() && re[i + 1] == '^') body += re[++i];
      if (i + 1 < re.size() && re[i + 1] == ']') body += re[++i];
      continue;
    }
    if (c == '(') {
      std::string_view rest = re.substr(i);
      if (rest.starts_with("(?<=") || rest.starts_with("(?<!")) bad("lookbehind is not supported");
      if (rest.starts_with("(?!")) bad("negative lookahead is not supported");
      if (rest.starts_with("(?P=")) bad("named backreferences are not supported");
      if (rest.starts_with("(?P<")) {  // Python named group -> plain group
        std::size_t close = rest.find('>');
        if (close == std::string_view::npos) bad("unterminated group name");
        open.push_back({body.size(), false});
        body += "(?:";
        i += close;
        continue;
      }
      bool look = rest.starts_with("(?=");
      if (look && !open.empty() && open.back().lookahead) bad("nested lookahead is not supported");
      open.push_back({body.size(), look});
      if (look) {
        body += "(?:";
        i += 2;
      } else {
        body += c;
      }
      continue;
    }
    if (c == ')') {
      if (open.empty()) bad("unbalanced ')'");
      Open o = open.back();
      open.pop_back();
      body += c;
      if (o.lookahead) {
        if (i + 1 != re.size() || !open.empty())
          bad("lookahead is only supported at the end of the pattern");
        lookahead_at = o.at;
      }
      continue;
    }
    if (lookahead_at != std::string::npos) bad("text after a lookahead");
    body += c;
  }
  if (!open.empty() || in_class) bad("unbalanced brackets");
  if (lookahead_at != std::string::npos) {
    // body = prefix + "(?:" + X + ")": keep X for the post-match check.
    out.lookahead = body.substr(lookahead_at + 3, body.size() - lookahead_at - 4);
    body.resize(lookahead_at);
  }
  if (body.starts_with("\\b")) {
    out.word_start = true;
    body.erase(0, 2);
  }
  if (body.size() >= 2 && body.ends_with("\\b") &&
      (body.size() == 2 || body[body.size() - 3] != '\\')) {
    out.word_end = true;
    body.resize(body.size() - 2);
  }
  if (body.empty()) bad("empty pattern");
  out.regex = std::move(body);
  return out;
}

PatternSet parse_patterns(const json::value& v, std::string_view source) {
  if (!v.is_object()) fail(source, "top level must be a JSON object");
  const auto& o = v.get_object();
  PatternSet set;
  const json::value* format = o.if_contains("format");
  if (!format) {
    // The seed's flat map: name -> Python regex.
    for (const auto& [k, val] : o) {
      if (!val.is_string())
        fail(source, fmt::format("pattern '{}' must be a regex string", std::string_view(k)));
      set.custom.push_back(translate_python_regex(k, val.get_string(), source));
    }
    return set;
  }
  if (!format->is_string() || format->get_string() != "bastion-pii/1")
    fail(source, "'format' must be \"bastion-pii/1\"");
  static constexpr std::string_view kKnown[] = {"format",      "comment",         "anchors",
                                                "secret_keys", "korean_surnames", "name_stop_words",
                                                "patterns"};
  for (const auto& [k, val] : o) {
    bool known = false;
    for (auto n : kKnown) known |= (k == n);
    if (!known) fail(source, fmt::format("unknown key '{}'", std::string_view(k)));
  }
  if (const json::value* a = o.if_contains("anchors")) {
    if (!a->is_array()) fail(source, "'anchors' must be an array");
    for (const auto& e : a->get_array()) {
      const json::object* eo = e.if_object();
      const json::value* val = eo ? eo->if_contains("validator") : nullptr;
      const json::value* re = eo ? eo->if_contains("regex") : nullptr;
      const json::value* native = eo ? eo->if_contains("native") : nullptr;
      if (native && (!native->is_bool() || !native->get_bool() || re || !val || !val->is_string() ||
                     (val->get_string() != "number" && val->get_string() != "ipv6" &&
                      val->get_string() != "email")))
        fail(source,
             "a native anchor is {\"validator\": \"number\", \"ipv6\" or \"email\", "
             "\"native\": true}");
      if (native) {
        set.anchors.push_back(AnchorSpec{std::string(val->get_string()), "", false, true});
        continue;
      }
      if (!val || !val->is_string() || !re || !re->is_string())
        fail(source, "each anchor needs string 'validator' and 'regex'");
      AnchorSpec s{std::string(val->get_string()), std::string(re->get_string()), false};
      static constexpr std::string_view kValidators[] = {"email",
                                                         "number",
                                                         "ipv6",
                                                         "iban",
                                                         "korean_name",
                                                         "aws_access_key",
                                                         "secret_assignment",
                                                         "bearer",
                                                         "jwt",
                                                         "private_key",
                                                         "github_token",
                                                         "slack_token"};
      bool known = false;
      for (auto n : kValidators) known |= (s.validator == n);
      if (!known)
        fail(source, fmt::format("anchor '{}': unknown validator '{}'", s.regex, s.validator));
      if (const json::value* c = eo->if_contains("caseless")) {
        if (!c->is_bool()) fail(source, "anchor 'caseless' must be a boolean");
        s.caseless = c->get_bool();
      }
      set.anchors.push_back(std::move(s));
    }
  }
  set.secret_keys = string_list(o, "secret_keys", source);
  set.korean_surnames = string_list(o, "korean_surnames", source);
  set.name_stop_words = string_list(o, "name_stop_words", source);
  if (const json::value* p = o.if_contains("patterns")) {
    if (!p->is_object()) fail(source, "'patterns' must be an object");
    for (const auto& [k, val] : p->get_object()) set.custom.push_back(custom_entry(k, val, source));
  }
  return set;
}

PatternSet parse_patterns_text(std::string_view text, std::string_view source) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) fail(source, fmt::format("invalid JSON: {}", ec.message()));
  return parse_patterns(v, source);
}

PatternSet load_patterns_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_patterns_text(ss.str(), path);
}

}  // namespace bastion::pii
