#include "pii/policy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <cmath>
#include <stdexcept>

namespace bastion::pii {

using boost::beast::iequals;  // ASCII, as the names compared are

namespace json = boost::json;

std::string_view to_string(PiiAction a) {
  switch (a) {
    case PiiAction::kAllow:
      return "allow";
    case PiiAction::kMask:
      return "mask";
    case PiiAction::kEncrypt:
      return "encrypt";
    case PiiAction::kReject:
      return "reject";
  }
  return "mask";
}

std::optional<PiiAction> parse_action(std::string_view s) {
  if (s == "allow") return PiiAction::kAllow;
  if (s == "mask") return PiiAction::kMask;
  if (s == "encrypt") return PiiAction::kEncrypt;
  if (s == "reject") return PiiAction::kReject;
  return std::nullopt;
}

std::string_view to_string(Direction d) {
  return d == Direction::kRequest ? "request" : "response";
}

namespace {

[[noreturn]] void bad(const std::string& path, std::string_view what) {
  throw std::invalid_argument(fmt::format("{}: {}", path, what));
}

PiiAction action_at(const json::value& v, const std::string& path) {
  if (!v.is_string()) bad(path, "must be one of allow, mask, encrypt, reject");
  auto a = parse_action(v.get_string());
  if (!a)
    bad(path, fmt::format("unknown action '{}' (allow, mask, encrypt, reject)",
                          std::string_view(v.get_string())));
  return *a;
}

const json::object& object_at(const json::value& v, const std::string& path) {
  if (!v.is_object()) bad(path, "must be an object");
  return v.get_object();
}

// A rule: "mask" or {action: "mask", types: {...}}; `extra` lists keys the
// caller handles itself.
void parse_rule(PolicyRule& r, const json::value& v, const std::string& path,
                std::initializer_list<std::string_view> extra = {}) {
  if (v.is_string()) {
    r.action = action_at(v, path);
    return;
  }
  const json::object& o = object_at(v, path);
  for (const auto& [k, val] : o) {
    std::string sub = fmt::format("{}.{}", path, std::string_view(k));
    if (k == "action") {
      r.action = action_at(val, sub);
    } else if (k == "types") {
      for (const auto& [t, a] : object_at(val, sub))
        r.types[std::string(t)] = action_at(a, fmt::format("{}.{}", sub, std::string_view(t)));
    } else if (std::find(extra.begin(), extra.end(), std::string_view(k)) == extra.end()) {
      bad(sub, "unknown key");
    }
  }
}

void parse_directions(PolicyScope& s, const json::value& v, const std::string& path) {
  for (const auto& [k, val] : object_at(v, path)) {
    std::string sub = fmt::format("{}.{}", path, std::string_view(k));
    if (k == "request")
      parse_rule(s.request, val, sub);
    else if (k == "response")
      parse_rule(s.response, val, sub);
    else
      bad(sub, "unknown direction (request, response)");
  }
}

PolicyScope parse_scope(const json::value& v, const std::string& path,
                        std::map<std::string, PolicyScope, std::less<>>* tools = nullptr) {
  PolicyScope s;
  if (tools)
    parse_rule(s.all, v, path, {"directions", "tools"});
  else
    parse_rule(s.all, v, path, {"directions"});
  if (!v.is_object()) return s;
  const json::object& o = v.get_object();
  if (const json::value* d = o.if_contains("directions"))
    parse_directions(s, *d, path + ".directions");
  if (const json::value* t = o.if_contains("tools")) {
    for (const auto& [name, tv] : object_at(*t, path + ".tools"))
      (*tools)[std::string(name)] =
          parse_scope(tv, fmt::format("{}.tools.{}", path, std::string_view(name)));
  }
  return s;
}

bool rule_uses(const PolicyRule& r, PiiAction a) {
  if (r.action == a) return true;
  for (const auto& [t, x] : r.types)
    if (x == a) return true;
  return false;
}
bool scope_uses(const PolicyScope& s, PiiAction a) {
  return rule_uses(s.all, a) || rule_uses(s.request, a) || rule_uses(s.response, a);
}

}  // namespace

PolicyOptions policy_options_from_json(const json::object& o) {
  PolicyOptions p;
  const std::string root = "pii";
  for (const auto& [k, v] : o) {
    std::string path = fmt::format("{}.{}", root, std::string_view(k));
    if (k == "default") {
      p.default_action = action_at(v, path);
    } else if (k == "types") {
      for (const auto& [t, a] : object_at(v, path))
        p.global.all.types[std::string(t)] =
            action_at(a, fmt::format("{}.{}", path, std::string_view(t)));
    } else if (k == "directions") {
      parse_directions(p.global, v, path);
    } else if (k == "servers") {
      for (const auto& [name, sv] : object_at(v, path)) {
        ServerPolicy& sp = p.servers[std::string(name)];
        sp.scope = parse_scope(sv, fmt::format("{}.{}", path, std::string_view(name)), &sp.tools);
      }
    } else if (k == "tools") {
      for (const auto& [name, tv] : object_at(v, path))
        p.tools[std::string(name)] =
            parse_scope(tv, fmt::format("{}.{}", path, std::string_view(name)));
    } else if (k == "min_confidence") {
      if (!v.is_number()) bad(path, "must be a number within 0..1");
      p.min_confidence = v.to_number<double>();
      if (p.min_confidence < 0 || p.min_confidence > 1) bad(path, "must be a number within 0..1");
    } else if (k == "pattern_files") {
      if (!v.is_array()) bad(path, "must be an array of file paths");
      for (const auto& f : v.get_array()) {
        if (!f.is_string()) bad(path, "must be an array of file paths");
        p.pattern_files.emplace_back(f.get_string());
      }
    } else if (k == "mask") {
      for (const auto& [mk, mv] : object_at(v, path)) {
        std::string sub = fmt::format("{}.{}", path, std::string_view(mk));
        if (mk == "keep_email_domain") {
          if (!mv.is_bool()) bad(sub, "must be true or false");
          p.mask.keep_email_domain = mv.get_bool();
        } else if (mk == "redact_types") {
          if (!mv.is_array()) bad(sub, "must be an array of type names");
          for (const auto& t : mv.get_array()) {
            if (!t.is_string()) bad(sub, "must be an array of type names");
            p.mask.redact_types.emplace_back(t.get_string());
          }
        } else {
          bad(sub, "unknown key");
        }
      }
    } else {
      bad(path, "unknown key");
    }
  }
  return p;
}

bool policy_uses(const PolicyOptions& o, PiiAction a) {
  if (o.default_action == a || scope_uses(o.global, a)) return true;
  for (const auto& [n, s] : o.servers) {
    if (scope_uses(s.scope, a)) return true;
    for (const auto& [t, ts] : s.tools)
      if (scope_uses(ts, a)) return true;
  }
  for (const auto& [n, s] : o.tools)
    if (scope_uses(s, a)) return true;
  return false;
}

ResolvedPolicy::ResolvedPolicy(const PolicyOptions& o, std::string_view server,
                               std::string_view tool, Direction d)
    : options_(&o), direction_(d) {
  auto push = [&](const PolicyScope& s) {
    levels_[n_++] = &s.direction(d);
    levels_[n_++] = &s.all;
  };
  auto srv = o.servers.find(server);
  if (srv != o.servers.end() && !tool.empty()) {
    if (auto t = srv->second.tools.find(tool); t != srv->second.tools.end()) push(t->second);
  }
  if (!tool.empty()) {
    if (auto t = o.tools.find(tool); t != o.tools.end()) push(t->second);
  }
  if (srv != o.servers.end()) push(srv->second.scope);
  push(o.global);
}

PiiAction ResolvedPolicy::action_for(std::string_view type) const {
  for (std::size_t i = 0; i < n_; ++i)
    if (auto it = levels_[i]->types.find(type); it != levels_[i]->types.end()) return it->second;
  PiiAction generic = options_->default_action;
  for (std::size_t i = 0; i < n_; ++i) {
    if (levels_[i]->action) {
      generic = *levels_[i]->action;
      break;
    }
  }
  // What was not examined cannot be masked or encrypted.
  if (type == pii::kOverflow && generic != PiiAction::kAllow) return PiiAction::kReject;
  return generic;
}

protocol::RpcError pii_rejection(Direction d,
                                 const std::map<std::string, int, std::less<>>& counts) {
  std::string list;
  json::array types;
  for (const auto& [t, n] : counts) {
    if (!list.empty()) list += ", ";
    list += fmt::format("{} ({})", t, n);
    types.emplace_back(t);
  }
  protocol::RpcError e;
  e.code = protocol::kPolicyRejected;
  e.message = fmt::format("PII policy rejected the {}: it contains {}", to_string(d), list);
  e.data = json::object{{"pii_types", std::move(types)}, {"direction", to_string(d)}};
  return e;
}

namespace {

// A base64 payload (an image's `data`, a resource's `blob`): scanning it as
// text finds nothing but noise. Anything else under those keys (a phone
// number, text with a dash or a space) is not base64 and is scanned.
bool base64_payload(std::string_view s) {
  if (s.size() < 8) return false;
  bool letter = false;
  for (char c : s) {
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    letter |= alpha;
    if (!(alpha || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=' || c == '\n' ||
          c == '\r'))
      return false;
  }
  return letter;  // digits alone are a number, not a payload
}

// The digits of a JSON number's integer value (sign dropped), or empty when
// it has a fraction or is out of range.
std::string number_digits(const json::value& v) {
  if (v.is_int64()) {
    std::int64_t x = v.get_int64();
    std::uint64_t u = x < 0 ? 0 - static_cast<std::uint64_t>(x) : static_cast<std::uint64_t>(x);
    return std::to_string(u);
  }
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  double d = std::fabs(v.get_double());
  if (!(d < 1e20) || d != std::floor(d)) return {};
  return fmt::format("{:.0f}", d);
}

struct Walker {
  const PiiScanner& scanner;
  const ResolvedPolicy& policy;
  const Encryptor& encryptor;
  const Exempt& exempt;
  PolicyOutcome& out;
  bool rejected = false;

  // policy.action_for, remembered for the few types of one message (names
  // are constants: compared by address).
  std::pair<std::string_view, PiiAction> actions[16];
  std::size_t n_actions = 0;
  PiiAction action_of(std::string_view type) {
    for (std::size_t k = 0; k < n_actions; ++k)
      if (actions[k].first.data() == type.data() && actions[k].first.size() == type.size())
        return actions[k].second;
    const PiiAction a = policy.action_for(type);
    if (n_actions < 16) actions[n_actions++] = {type, a};
    return a;
  }

  bool secret_key(std::string_view key) const {
    if (key.empty()) return false;
    for (const auto& k : scanner.patterns().secret_keys)
      if (iequals(k, key)) return true;
    return false;
  }

  void walk(json::value& v, std::string_view key, int depth) {
    if (out.error && !rejected) return;  // encryption failed: stop
    switch (v.kind()) {
      case json::kind::string:
        text(v.get_string(), key);
        break;
      case json::kind::int64:
      case json::kind::uint64:
      case json::kind::double_:
        number(v, key);
        break;
      case json::kind::array:
        for (auto& x : v.get_array()) walk(x, {}, depth + 1);
        break;
      case json::kind::object:
        object(v.get_object(), depth, false);
        break;
      default:
        break;
    }
  }

  // `meta`: a request's _meta, whose progressToken Bastion itself replaces
  // (the client's token never reaches a server, nor a server's the client).
  void object(json::object& o, int depth, bool meta) {
    bool media = false;
    if (const json::value* t = o.if_contains("type"); t && t->is_string())
      media = t->get_string() == "image" || t->get_string() == "audio";
    const bool resource = o.contains("uri");
    // New names for keys that hold PII, by position; empty: unchanged.
    std::vector<std::string> renamed;
    for (std::size_t i = 0; i < o.size(); ++i) {
      auto& kv = *(o.begin() + i);
      const std::string_view k = kv.key();
      if (depth == 0 && std::find(exempt.keys.begin(), exempt.keys.end(), k) != exempt.keys.end())
        continue;
      if (meta && k == "progressToken") continue;
      if (auto nk = key_text(k)) {
        if (renamed.empty()) renamed.resize(o.size());
        renamed[i] = std::move(*nk);
      }
      json::value& val = kv.value();
      if (val.is_string() && ((k == "blob" && resource) || (k == "data" && media)) &&
          base64_payload(val.get_string()))
        continue;
      if (depth == 0 && k == "_meta" && exempt.progress_token && val.is_object()) {
        object(val.get_object(), depth + 1, true);
        continue;
      }
      if (depth == 0 && k == "progressToken" && exempt.progress_token) continue;
      walk(val, k, depth + 1);
    }
    if (renamed.empty() || rejected) return;
    // Masked keys may collide ("900101-1******" twice): later ones get "#2", "#3", ...
    json::object fresh(o.storage());
    fresh.reserve(o.size());
    for (std::size_t i = 0; i < o.size(); ++i) {
      auto& kv = *(o.begin() + i);
      std::string k = renamed[i].empty() ? std::string(kv.key()) : renamed[i];
      if (fresh.contains(k)) {
        int n = 2;
        while (fresh.contains(fmt::format("{}#{}", k, n))) ++n;
        k = fmt::format("{}#{}", k, n);
      }
      fresh.emplace(k, std::move(kv.value()));
    }
    o = std::move(fresh);
  }

  // Counts the findings of one value and records the strongest action.
  // Returns whether the value must be rewritten.
  bool decide(const std::vector<Finding>& f) {
    out.contains_pii = true;
    bool rewrite = false;
    // The types seen so far (a handful; a dense text mixes them), so each
    // finding costs no map lookups. Names are constants: compared by address.
    struct Seen {
      std::string_view type;
      int* count;
      PiiAction action;
    };
    Seen seen[16];
    std::size_t n_seen = 0;
    int* count = nullptr;
    PiiAction a{};
    for (const auto& x : f) {
      const Seen* hit = nullptr;
      for (std::size_t k = 0; k < n_seen && !hit; ++k)
        if (seen[k].type.data() == x.type.data() && seen[k].type.size() == x.type.size())
          hit = &seen[k];
      if (hit) {
        count = hit->count;
        a = hit->action;
      } else {
        auto it = out.counts.find(x.type);
        if (it == out.counts.end()) it = out.counts.emplace(std::string(x.type), 0).first;
        count = &it->second;
        a = action_of(x.type);
        if (n_seen < 16) seen[n_seen++] = {x.type, count, a};
      }
      ++*count;
      out.decision = std::max(out.decision, a);
      if (a == PiiAction::kReject) rejected = true;
      if (a == PiiAction::kMask || a == PiiAction::kEncrypt) rewrite = true;
    }
    return rewrite && !rejected;
  }

  std::string render(const Finding& x, std::string_view val) {
    switch (policy.action_for(x.type)) {
      case PiiAction::kMask:
        return mask_value(x.type, x.normalized.empty() ? val : std::string_view(x.normalized),
                          policy.options().mask);
      case PiiAction::kEncrypt:
        if (!out.error) {
          try {
            if (encryptor) return encryptor(val);
          } catch (const std::exception&) {
            out.error = protocol::internal_error("PII encryption failed");
          }
        }
        return "[REDACTED:" + std::string(x.type) + "]";
      default:
        return std::string(val);
    }
  }

  std::vector<Finding> findings(std::string_view sv) {
    std::vector<Finding> f = scanner.scan(sv);
    const double min_conf = policy.options().min_confidence;
    if (!f.empty()) {
      std::erase_if(
          f, [&](const Finding& x) { return x.confidence < min_conf && x.type != pii::kOverflow; });
    }
    return f;
  }

  // A key is scanned like a value; the result is its new text when the
  // policy rewrites it.
  std::optional<std::string> key_text(std::string_view k) {
    if (k.empty()) return std::nullopt;
    std::vector<Finding> f = findings(k);
    if (f.empty() || !decide(f)) return std::nullopt;
    return replace_findings(k, f,
                            [&](const Finding& x, std::string_view val) { return render(x, val); });
  }

  void text(json::string& s, std::string_view key) {
    std::string_view sv(s.data(), s.size());
    std::vector<Finding> f = findings(sv);
    if (secret_key(key) && !sv.empty()) {
      f.clear();
      f.push_back(Finding{pii::kSecret, 0, sv.size(), 0.9, "secret-named key"});
    }
    if (f.empty() || !decide(f)) return;
    s = rewrite(sv, f);
  }

  // replace_findings with render(), masked values appended in place (a
  // PII-dense text has a finding every few dozen bytes: a string per value
  // and a std::function call each cost more than the scan).
  std::string rewrite(std::string_view sv, const std::vector<Finding>& f) {
    bool sorted_disjoint = true;
    for (std::size_t i = 1; i < f.size(); ++i) sorted_disjoint &= f[i - 1].end <= f[i].begin;
    if (!sorted_disjoint)
      return replace_findings(
          sv, f, [&](const Finding& x, std::string_view val) { return render(x, val); });
    std::string o;
    o.reserve(sv.size() + sv.size() / 8);
    std::size_t pos = 0;
    for (const auto& x : f) {
      if (x.begin < pos || x.end > sv.size() || x.begin >= x.end) continue;
      o.append(sv.substr(pos, x.begin - pos));
      const std::string_view val = sv.substr(x.begin, x.end - x.begin);
      if (action_of(x.type) == PiiAction::kMask)
        append_masked(o, x.type, x.normalized.empty() ? val : std::string_view(x.normalized),
                      policy.options().mask);
      else
        o += render(x, val);
      pos = x.end;
    }
    o.append(sv.substr(pos));
    return o;
  }

  // A number that holds PII becomes a string: its masked form or its token
  // (a number cannot hold either).
  void number(json::value& v, std::string_view key) {
    const bool secret = secret_key(key);
    // Below 7 digits no recognizer applies (and nothing is allocated).
    if (!secret && ((v.is_int64() && v.get_int64() > -1000000 && v.get_int64() < 1000000) ||
                    (v.is_uint64() && v.get_uint64() < 1000000)))
      return;
    std::string d = number_digits(v);
    std::optional<Finding> f;
    if (secret) {
      std::string raw = json::serialize(v);
      f = Finding{pii::kSecret, 0, raw.size(), 0.9, "secret-named key"};
      d = std::move(raw);
    } else if (!d.empty()) {
      f = scanner.scan_number(d);
      if (f && f->confidence < policy.options().min_confidence) f.reset();
    }
    if (!f) return;
    std::vector<Finding> one{std::move(*f)};
    if (!decide(one)) return;
    v = render(one[0], d);
  }
};
}  // namespace

PolicyOutcome apply_policy(json::value& v, const PiiScanner& scanner, const ResolvedPolicy& policy,
                           const Encryptor& encryptor, const Exempt& exempt) {
  PolicyOutcome out;
  Walker w{scanner, policy, encryptor, exempt, out};
  w.walk(v, {}, 0);
  if (w.rejected) out.error = pii_rejection(policy.direction(), out.counts);
  return out;
}

}  // namespace bastion::pii
