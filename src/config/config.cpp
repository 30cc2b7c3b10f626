#include "config/config.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "protocol/json_pointer.hpp"

namespace bastion::config {

namespace {

// YAML 1.2 core schema for plain scalars; quoted scalars stay strings.
json::value scalar_value(const std::string& s, bool quoted) {
  if (quoted) return json::string(s);
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  std::int64_t i = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && p == s.data() + s.size()) return i;
  if (s.find_first_of("0123456789") != std::string::npos &&
      s.find_first_not_of("0123456789+-.eE") == std::string::npos) {
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (end && *end == '\0' && std::isfinite(d)) return d;
  }
  return json::string(s);
}

}  // namespace

struct Converter {
  Document& doc;
  // ${env:NAME} and ${env:NAME:-default} take the value from the
  // environment (before the scalar is typed, so `port: ${env:PORT}` is a
  // number); an unset variable without a default is an error. Errors name
  // the place, never the value's text: it may hold a credential (a token
  // pasted where a variable's name belongs) or terminal control bytes.
  std::string expand_env(const std::string& text, const YAML::Mark& m) const {
    static constexpr std::string_view kOpen = "${env:";
    if (text.find(kOpen) == std::string::npos) return text;
    std::string out;
    std::size_t pos = 0;
    for (auto at = text.find(kOpen); at != std::string::npos; at = text.find(kOpen, pos)) {
      out.append(text, pos, at - pos);
      auto end = text.find('}', at);
      if (end == std::string::npos)
        throw ConfigError(fmt::format("{}:{}:{}: unterminated ${{env:...}} (no closing '}}')",
                                      doc.name_, m.line + 1, m.column + 1));
      std::string spec = text.substr(at + kOpen.size(), end - at - kOpen.size());
      std::optional<std::string> fallback;
      if (auto d = spec.find(":-"); d != std::string::npos) {
        fallback = spec.substr(d + 2);
        spec.resize(d);
      }
      bool valid = !spec.empty() && !std::isdigit(static_cast<unsigned char>(spec[0]));
      for (char c : spec)
        valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
      if (!valid)
        throw ConfigError(fmt::format(
            "{}:{}:{}: ${{env:...}} names no environment variable (a name is letters, digits "
            "and _, not starting with a digit)",
            doc.name_, m.line + 1, m.column + 1));
      const char* value = std::getenv(spec.c_str());
      if (value && *value)
        out += value;
      else if (fallback)
        out += *fallback;
      else
        throw ConfigError(fmt::format(
            "{}:{}:{}: environment variable {} is not set (write ${{env:{}:-DEFAULT}} for a "
            "default)",
            doc.name_, m.line + 1, m.column + 1, spec, spec));
      pos = end + 1;
    }
    out.append(text, pos);
    return out;
  }
  json::value convert(const YAML::Node& n, const std::string& ptr) {
    auto m = n.Mark();
    if (m.line >= 0) doc.marks_[ptr] = {m.line + 1, m.column + 1};
    switch (n.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return nullptr;
      case YAML::NodeType::Scalar:
        return scalar_value(expand_env(n.Scalar(), m), n.Tag() == "!");
      case YAML::NodeType::Sequence: {
        json::array a;
        std::size_t i = 0;
        for (const auto& e : n) a.push_back(convert(e, ptr + "/" + std::to_string(i++)));
        return a;
      }
      case YAML::NodeType::Map: {
        json::object o;
        for (const auto& kv : n) {
          if (!kv.first.IsScalar()) {
            auto km = kv.first.Mark();
            throw ConfigError(fmt::format("{}:{}:{}: mapping keys must be plain strings", doc.name_,
                                          km.line + 1, km.column + 1));
          }
          std::string key = kv.first.Scalar();
          std::string child = ptr + "/" + protocol::json_pointer_token(key);
          if (o.contains(key)) {
            auto km = kv.first.Mark();
            throw ConfigError(fmt::format("{}:{}:{}: duplicate key '{}'", doc.name_, km.line + 1,
                                          km.column + 1, key));
          }
          // Point errors about a key at the key itself.
          auto km = kv.first.Mark();
          json::value v = convert(kv.second, child);
          if (km.line >= 0 && (kv.second.IsMap() || kv.second.IsSequence()))
            doc.marks_[child] = {km.line + 1, km.column + 1};
          o[key] = std::move(v);
        }
        return o;
      }
    }
    return nullptr;
  }
};

Document Document::parse(std::string_view text, std::string name) {
  Document doc;
  doc.name_ = std::move(name);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw ConfigError(
        fmt::format("{}:{}:{}: {}", doc.name_, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  Converter c{doc};
  doc.root_ = c.convert(root, "");
  if (doc.root_.is_null()) doc.root_ = json::object{};
  if (!doc.root_.is_object()) doc.fail("", "the top level must be a mapping");
  return doc;
}

Document Document::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot read the configuration file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

Document Document::empty(std::string name) {
  Document d;
  d.name_ = std::move(name);
  d.root_ = json::object{};
  return d;
}

std::string Document::where(const std::string& pointer) const {
  // The closest known ancestor gives the best line for a missing key.
  std::string p = pointer;
  for (;;) {
    auto it = marks_.find(p);
    if (it != marks_.end())
      return fmt::format("{}:{}:{}", name_, it->second.first, it->second.second);
    if (p.empty()) break;
    p = p.substr(0, p.rfind('/'));
  }
  return name_;
}

void Document::fail(const std::string& pointer, const std::string& reason) const {
  std::string key = pointer.empty() ? "" : fmt::format(" ({})", pointer.substr(1));
  std::replace(key.begin(), key.end(), '/', '.');
  throw ConfigError(fmt::format("{}: {}{}", where(pointer), reason, key));
}

// The longest duration a configuration may give (100 years), as text or as
// a plain number of seconds.
constexpr std::int64_t kMaxDurationSeconds = 100LL * 365 * 86400;

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || v < 0) return std::nullopt;
  std::string_view unit(p, static_cast<std::size_t>(s.data() + s.size() - p));
  double ms;
  if (unit.empty() || unit == "s")
    ms = v * 1000;
  else if (unit == "ms")
    ms = v;
  else if (unit == "m")
    ms = v * 60000;
  else if (unit == "h")
    ms = v * 3600000;
  else if (unit == "d")
    ms = v * 86400000;
  else
    return std::nullopt;
  // At most 100 years: past int64 milliseconds the conversion was undefined
  // ("5e31s", "infs", "nans": found by fuzz/config), and a bound this size
  // also keeps the value within any clock's nanoseconds. !(a <= b): NaN fails.
  constexpr double kMaxMs = static_cast<double>(kMaxDurationSeconds) * 1000;
  if (!(ms <= kMaxMs)) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

std::optional<std::uint64_t> parse_bytes(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc()) return std::nullopt;
  std::string_view unit(p, static_cast<std::size_t>(s.data() + s.size() - p));
  static const std::map<std::string_view, std::uint64_t> kUnits = {
      {"", 1},      {"B", 1},        {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
      {"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) return std::nullopt;
  if (v > std::numeric_limits<std::uint64_t>::max() / it->second) return std::nullopt;  // wrapped
  return v * it->second;
}

Reader::Reader(const Document& doc, std::string pointer) : doc_(doc), pointer_(std::move(pointer)) {
  boost::system::error_code ec;
  const json::value* v = pointer_.empty() ? &doc_.root() : doc_.root().find_pointer(pointer_, ec);
  if (v && !v->is_null()) {
    if (!v->is_object()) doc_.fail(pointer_, "must be a mapping");
    obj_ = &v->get_object();
  }
}

std::string Reader::child_pointer(std::string_view key) const {
  return pointer_ + "/" + protocol::json_pointer_token(key);
}

bool Reader::has(std::string_view key) const { return obj_ && obj_->contains(key); }

const json::value* Reader::get(std::string_view key) {
  seen_.emplace_back(key);
  if (!obj_) return nullptr;
  auto* v = obj_->if_contains(key);
  return (v && !v->is_null()) ? v : nullptr;
}

const json::value* Reader::raw(std::string_view key) { return get(key); }

void Reader::fail(std::string_view key, const std::string& reason) const {
  doc_.fail(child_pointer(key), reason);
}

std::string Reader::str(std::string_view key, std::string def) {
  auto o = opt_str(key);
  return o ? *o : std::move(def);
}

std::optional<std::string> Reader::opt_str(std::string_view key) {
  auto* v = get(key);
  if (!v) return std::nullopt;
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64() || v->is_double()) return json::serialize(*v);
  fail(key, "must be a string");
}

std::int64_t Reader::integer(std::string_view key, std::int64_t def, std::int64_t min,
                             std::int64_t max) {
  auto* v = get(key);
  if (!v) return def;
  if (!v->is_int64()) fail(key, "must be an integer");
  auto i = v->get_int64();
  if (i < min || i > max) fail(key, fmt::format("must be between {} and {}", min, max));
  return i;
}

double Reader::number(std::string_view key, double def, double min, double max) {
  auto* v = get(key);
  if (!v) return def;
  if (!v->is_number()) fail(key, "must be a number");
  double d = v->to_number<double>();
  if (d < min || d > max) fail(key, fmt::format("must be between {} and {}", min, max));
  return d;
}

bool Reader::boolean(std::string_view key, bool def) {
  auto* v = get(key);
  if (!v) return def;
  if (!v->is_bool()) fail(key, "must be true or false");
  return v->get_bool();
}

std::chrono::milliseconds Reader::duration(std::string_view key, std::chrono::milliseconds def) {
  auto* v = get(key);
  if (!v) return def;
  // A plain number is seconds, bounded as text is: seconds to milliseconds
  // past int64 was undefined (fuzz/config, "read_timeout: 1502222222222222220").
  if (v->is_int64() && v->get_int64() >= 0 && v->get_int64() <= kMaxDurationSeconds)
    return std::chrono::seconds(v->get_int64());
  if (v->is_string())
    if (auto d = parse_duration(v->get_string())) return *d;
  fail(key, "must be a duration such as 500ms, 30s, 5m, 2h or 90d (at most 100 years)");
}

std::uint64_t Reader::bytes(std::string_view key, std::uint64_t def) {
  auto* v = get(key);
  if (!v) return def;
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  if (v->is_string())
    if (auto b = parse_bytes(v->get_string())) return *b;
  fail(key, "must be a size such as 65536, 64KiB or 4MiB");
}

std::vector<std::string> Reader::str_list(std::string_view key, std::vector<std::string> def) {
  auto* v = get(key);
  if (!v) return def;
  if (!v->is_array()) fail(key, "must be a list of strings");
  std::vector<std::string> out;
  for (auto& e : v->get_array()) {
    if (!e.is_string()) fail(key, "must be a list of strings");
    out.emplace_back(e.get_string());
  }
  return out;
}

std::string Reader::choice(std::string_view key, std::string def,
                           const std::vector<std::string>& choices) {
  auto* v = get(key);
  if (!v) return def;
  if (v->is_string())
    for (const auto& c : choices)
      if (v->get_string() == c) return c;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  fail(key, "must be one of: " + list);
}

Reader Reader::child(std::string_view key) {
  get(key);
  return Reader(doc_, child_pointer(key));
}

std::vector<Reader> Reader::list(std::string_view key) {
  auto* v = get(key);
  std::vector<Reader> out;
  if (!v) return out;
  if (!v->is_array()) fail(key, "must be a list of mappings");
  for (std::size_t i = 0; i < v->get_array().size(); ++i)
    out.emplace_back(doc_, child_pointer(key) + "/" + std::to_string(i));
  for (auto& r : out)
    if (!r.present()) r.doc_.fail(r.pointer_, "must be a mapping");
  return out;
}

std::vector<std::string> Reader::words(std::string_view key) {
  auto* v = get(key);
  if (!v || !v->is_string()) return str_list(key);
  std::vector<std::string> out;
  std::string_view s = v->get_string();
  for (std::size_t i = 0; i < s.size();) {
    auto j = std::min(s.find(' ', i), s.size());
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::vector<std::string> Reader::keys() const {
  std::vector<std::string> out;
  if (obj_)
    for (auto& [k, v] : *obj_) out.emplace_back(k);
  return out;
}

void Reader::finish() const {
  if (!obj_) return;
  for (auto& [k, v] : *obj_) {
    if (std::find(seen_.begin(), seen_.end(), std::string_view(k)) == seen_.end()) {
      std::string known;
      for (std::size_t i = 0; i < seen_.size(); ++i)
        if (std::find(seen_.begin(), seen_.begin() + i, seen_[i]) == seen_.begin() + i)
          known += (known.empty() ? "" : ", ") + seen_[i];
      doc_.fail(child_pointer(k),
                fmt::format("unknown key '{}' (known keys: {})", std::string_view(k), known));
    }
  }
}

}  // namespace bastion::config
