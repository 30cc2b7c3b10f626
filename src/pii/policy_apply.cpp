// Applying a ResolvedPolicy to one message: a walk over every key, string
// and number (base64 payloads skipped), scanning each with the PiiScanner
// and allowing, masking, encrypting or rejecting what it finds.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "pii/policy.hpp"

namespace bastion::pii {

namespace json = boost::json;

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

  bool secret_key(std::string_view key) const { return scanner.secret_key(key); }

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
    // One pass over the (few) members, not two lookups that hash.
    bool media = false, resource = false;
    for (const auto& kv : o) {
      if (kv.key() == "type" && kv.value().is_string())
        media = kv.value().get_string() == "image" || kv.value().get_string() == "audio";
      else if (kv.key() == "uri")
        resource = true;
    }
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

  // `key`: sv is an object's key (PiiScanner::scan_key remembers clean ones).
  std::vector<Finding> findings(std::string_view sv, bool key = false) {
    std::vector<Finding> f = key ? scanner.scan_key(sv) : scanner.scan(sv);
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
    std::vector<Finding> f = findings(k, true);
    if (f.empty() || !decide(f)) return std::nullopt;
    return replace_findings(k, f,
                            [&](const Finding& x, std::string_view val) { return render(x, val); });
  }

  void text(json::string& s, std::string_view key) {
    std::string_view sv(s.data(), s.size());
    // Under a secret-named key the value is one secret, whatever a scan finds.
    std::vector<Finding> f;
    if (!sv.empty() && secret_key(key))
      f.push_back(Finding{pii::kSecret, 0, sv.size(), 0.9, "secret-named key"});
    else
      f = findings(sv);
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
