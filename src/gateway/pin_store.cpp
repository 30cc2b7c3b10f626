#include "gateway/pin_store.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <tuple>

#include "gateway/definition.hpp"
#include "protocol/iso8601.hpp"

namespace bastion::gateway {

namespace fs = std::filesystem;
namespace json = boost::json;
using server::Kind;

namespace {

// Pins do not expire: RecordStore keeps a record's expiry as its mtime, so
// this is a date far ahead that every file system can store.
constexpr std::int64_t kNever = 13'000'000'000;
constexpr std::size_t kMaxEventFindings = 20;
constexpr std::size_t kMaxEventPaths = 50;
constexpr const char* kLintReason =
    "the linter found instructions or hidden text in it (lint: block); an operator must review "
    "it (bastion tools diff) and approve it";

std::string record_key(std::string_view server) { return "pins:" + std::string(server); }

std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

const json::object* obj(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

bool rejected(const json::object& item, std::string_view hash) {
  if (auto* r = item.if_contains("rejected"); r && r->is_array())
    for (auto& h : r->get_array())
      if (h.is_string() && h.get_string() == hash) return true;
  return false;
}

json::array limited(json::array a, std::size_t max) {
  if (a.size() > max) a.resize(max);
  return a;
}

json::object event(std::string_view type, std::string_view server, const json::object& item) {
  return json::object{{"event_type", type},
                      {"server", server},
                      {"kind", str(item, "kind")},
                      {"name", str(item, "name")}};
}

struct Applied {
  std::vector<PinDecision> decisions;
  std::vector<json::object> events;
};

// The pure part of observe(): `rec` (a server's record) updated for what the
// server lists of `kind` now.
Applied apply(json::object& rec, std::string_view server, Kind kind,
              const std::vector<Observed>& items, PinMode mode, LintMode lint) {
  Applied out;
  if (!rec.contains("items") || !rec["items"].is_object()) rec["items"] = json::object{};
  rec["server"] = server;
  auto& all = rec["items"].get_object();
  std::string label(kind_label(kind));
  std::set<std::string> seen;
  for (const auto& o : items) {
    std::string key = pin_key(kind, o.name);
    seen.insert(key);
    const bool blocked = lint == LintMode::kBlock && !o.findings.empty();
    json::array findings = findings_json(o.findings);
    auto pending_of = [&](std::string_view change) {
      return json::object{{"hash", o.hash},
                          {"definition", o.definition},
                          {"change", change},
                          {"findings", findings},
                          {"at", protocol::iso8601_utc_now()}};
    };
    auto* existing = all.if_contains(key);
    if (!existing || !existing->is_object()) {
      json::object item{{"kind", label}, {"name", o.name}, {"present", true}};
      if (blocked) {
        item["pending"] = pending_of("new");
        auto e = event("pin_lint_blocked", server, item);
        e["hash"] = o.hash;
        e["findings"] = limited(findings, kMaxEventFindings);
        out.events.push_back(std::move(e));
        out.decisions.push_back({PinVerdict::kWithhold, kLintReason});
      } else {
        item["pinned"] = json::object{{"hash", o.hash},
                                      {"definition", o.definition},
                                      {"by", "first-seen"},
                                      {"at", protocol::iso8601_utc_now()}};
        auto e = event("pin_added", server, item);
        e["hash"] = o.hash;
        if (!findings.empty()) e["findings"] = limited(findings, kMaxEventFindings);
        out.events.push_back(std::move(e));
        out.decisions.push_back({});
      }
      all[key] = std::move(item);
      continue;
    }
    auto& item = existing->get_object();
    if (auto* p = item.if_contains("present"); !p || !p->is_bool() || !p->get_bool()) {
      item["present"] = true;
      auto e = event("pin_restored", server, item);
      e["hash"] = o.hash;
      out.events.push_back(std::move(e));
    }
    // Copies: writing to `item` below may move its members.
    std::optional<json::object> pinned_copy, pending_copy;
    if (auto* p = obj(item, "pinned")) pinned_copy = *p;
    if (auto* p = obj(item, "pending")) pending_copy = *p;
    const json::object* pinned = pinned_copy ? &*pinned_copy : nullptr;
    const json::object* pending = pending_copy ? &*pending_copy : nullptr;
    if (pinned && str(*pinned, "hash") == o.hash) {
      const bool operator_approved = str(*pinned, "by") == "operator";
      if (blocked && !operator_approved) {
        if (!pending || str(*pending, "hash") != o.hash) {
          item["pending"] = pending_of("lint");
          auto e = event("pin_lint_blocked", server, item);
          e["hash"] = o.hash;
          e["findings"] = limited(findings, kMaxEventFindings);
          out.events.push_back(std::move(e));
        }
        out.decisions.push_back({PinVerdict::kWithhold, kLintReason});
        continue;
      }
      // A pending change stays for the operator even when the server lists
      // the pinned definition again: another instance or replica of it may
      // still list the change, and withdrawing it here would make the two
      // undo each other's records.
      out.decisions.push_back({});
      continue;
    }
    // A definition other than the pinned one.
    if (rejected(item, o.hash)) {
      out.decisions.push_back(
          {PinVerdict::kWithhold, "an operator rejected this definition of it"});
      continue;
    }
    if (!pending || str(*pending, "hash") != o.hash) {
      std::string change = pinned ? "changed" : "new";
      item["pending"] = pending_of(change);
      auto e = event("pin_changed", server, item);
      e["hash"] = o.hash;
      if (pinned) {
        e["previous_hash"] = str(*pinned, "hash");
        json::array paths;
        auto* before = pinned->if_contains("definition");
        for (auto& c :
             diff_definitions(before ? *before : json::value(json::object{}), o.definition))
          paths.push_back(json::string(c.path));
        e["changed"] = limited(std::move(paths), kMaxEventPaths);
      }
      if (!findings.empty()) e["findings"] = limited(findings, kMaxEventFindings);
      e["action"] =
          pinned && mode == PinMode::kWarn && !blocked ? "served_with_warning" : "withheld";
      out.events.push_back(std::move(e));
    }
    if (pinned && mode == PinMode::kWarn && !blocked)
      out.decisions.push_back({PinVerdict::kServeWarn,
                               "its definition changed since it was approved and the change is "
                               "not reviewed yet"});
    else
      out.decisions.push_back(
          {PinVerdict::kWithhold,
           pinned    ? "its definition changed since it was approved; an operator must review "
                       "the change (bastion tools diff) and approve it"
           : blocked ? kLintReason
                     : "it is not approved yet; an operator must approve it"});
  }
  // What the server no longer lists.
  for (auto& [key, v] : all) {
    if (!v.is_object() || seen.count(std::string(key))) continue;
    auto& item = v.get_object();
    if (str(item, "kind") != label) continue;
    auto* p = item.if_contains("present");
    if (p && p->is_bool() && !p->get_bool()) continue;
    item["present"] = false;
    out.events.push_back(event("pin_removed", server, item));
  }
  return out;
}

}  // namespace

std::string pin_key(Kind kind, std::string_view name) {
  return std::string(kind_label(kind)) + ":" + std::string(name);
}

PinStore::PinStore(fs::path dir)
    : records_(std::move(dir), auth::RecordStoreOptions{true, 64u << 20}) {}

ObserveResult PinStore::observe(std::string_view server, Kind kind,
                                const std::vector<Observed>& items, PinMode mode, LintMode lint,
                                bool record) {
  ObserveResult out;
  // Most lists change nothing: decide on a plain read, write only when the
  // record must change (and then decide again under the lock).
  json::object cur = records_.get(record_key(server)).value_or(json::object{});
  json::object next = cur;
  Applied a = apply(next, server, kind, items, mode, lint);
  if (next == cur || !record) {
    out.decisions = std::move(a.decisions);
    return out;
  }
  auto r = records_.update(record_key(server), [&](std::optional<json::object> now) {
    json::object rec = now.value_or(json::object{});
    a = apply(rec, server, kind, items, mode, lint);
    return auth::RecordStore::Versioned{std::move(rec), kNever};
  });
  if (!r) {
    out.error = r.error().reason;
    out.decisions.assign(items.size(), PinDecision{PinVerdict::kWithhold,
                                                   "its pin could not be recorded: " + out.error});
    return out;
  }
  out.decisions = std::move(a.decisions);
  out.events = std::move(a.events);
  return out;
}

std::vector<PinItem> PinStore::items(std::string_view server, std::string_view name) const {
  std::vector<PinItem> out;
  std::vector<json::object> recs;
  if (!server.empty()) {
    if (auto r = records_.get(record_key(server))) recs.push_back(std::move(*r));
  } else {
    recs = records_.list();
  }
  for (auto& rec : recs) {
    std::string s = str(rec, "server");
    auto* all = rec.if_contains("items");
    if (!all || !all->is_object()) continue;
    for (auto& [key, v] : all->get_object()) {
      if (!v.is_object()) continue;
      if (!name.empty() && str(v.get_object(), "name") != name) continue;
      out.push_back(PinItem{s, v.get_object()});
    }
  }
  std::sort(out.begin(), out.end(), [](const PinItem& a, const PinItem& b) {
    return std::tie(a.server, a.record.at("kind").get_string(), a.record.at("name").get_string()) <
           std::tie(b.server, b.record.at("kind").get_string(), b.record.at("name").get_string());
  });
  return out;
}

PinStore::Decided PinStore::approve(std::string_view server, std::string_view name,
                                    std::string_view hash, std::string_view actor) {
  return decide(server, name, hash, actor, true);
}

PinStore::Decided PinStore::reject(std::string_view server, std::string_view name,
                                   std::string_view hash, std::string_view actor) {
  return decide(server, name, hash, actor, false);
}

PinStore::Decided PinStore::decide(std::string_view server, std::string_view name,
                                   std::string_view hash, std::string_view actor, bool approve) {
  Decided out;
  auto r = records_.update(
      record_key(server),
      [&](std::optional<json::object> now) -> std::optional<auth::RecordStore::Versioned> {
        if (!now) {
          out.error = fmt::format("no pins for server '{}'", server);
          return std::nullopt;
        }
        json::object rec = std::move(*now);
        auto* all = rec.if_contains("items");
        if (!all || !all->is_object()) {
          out.error = fmt::format("no pins for server '{}'", server);
          return auth::RecordStore::Versioned{std::move(rec), kNever};
        }
        std::size_t matched = 0;
        for (auto& [key, v] : all->get_object()) {
          if (!v.is_object()) continue;
          auto& item = v.get_object();
          if (!name.empty() && str(item, "name") != name) continue;
          ++matched;
          if (!obj(item, "pending")) continue;
          const json::object pending_copy = *obj(item, "pending");
          const json::object* pending = &pending_copy;
          std::string h = str(*pending, "hash");
          if (!hash.empty() && h != hash) {
            out.error = fmt::format(
                "{} '{}' of '{}': its pending definition is {} now, not {} (it changed again: "
                "review it with `bastion tools diff`)",
                str(item, "kind"), str(item, "name"), server, h.substr(0, 12), hash);
            continue;
          }
          auto e = event(approve ? "pin_approved" : "pin_rejected", server, item);
          e["hash"] = h;
          if (auto* p = obj(item, "pinned")) {
            std::string previous = str(*p, "hash");
            e["previous_hash"] = previous;
          }
          e["change"] = str(*pending, "change");
          e["actor"] = actor;
          if (approve) {
            item["pinned"] = json::object{{"hash", h},
                                          {"definition", pending->at("definition")},
                                          {"by", "operator"},
                                          {"actor", actor},
                                          {"at", protocol::iso8601_utc_now()}};
            if (auto* r = item.if_contains("rejected"); r && r->is_array()) {
              auto& a = r->get_array();
              for (auto it = a.begin(); it != a.end();)
                it = it->is_string() && it->get_string() == h ? a.erase(it) : it + 1;
            }
          } else {
            if (!item.contains("rejected") || !item["rejected"].is_array())
              item["rejected"] = json::array{};
            auto& a = item["rejected"].get_array();
            if (a.size() >= 100) a.erase(a.begin());  // bounded: the newest decisions count
            a.push_back(json::string(h));
          }
          item.erase("pending");
          out.events.push_back(std::move(e));
        }
        if (matched == 0)
          out.error = name.empty() ? fmt::format("no pins for server '{}'", server)
                                   : fmt::format("server '{}' has no item '{}'", server, name);
        else if (out.events.empty() && out.error.empty())
          out.error = "nothing is pending review";
        return auth::RecordStore::Versioned{std::move(rec), kNever};
      });
  if (!r && out.error.empty()) out.error = r.error().reason;
  return out;
}

std::string PinStore::signature(std::string_view server) const {
  fs::path file = records_.dir() / (auth::record_name(record_key(server)) + ".json");
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return "absent";
  return fmt::format("{}:{}:{}:{}", st.st_ino, st.st_ctim.tv_sec, st.st_ctim.tv_nsec, st.st_size);
}

}  // namespace bastion::gateway
