// bastion tools list|diff|approve|reject: the operator's side of tool
// pinning (gateway/pin_store.hpp). Works on the data directory's pins, with
// or without a running server; a running `bastion serve` picks a decision up
// within a second (it polls the pins) or at its next tools/list. Every
// decision is an audit event, so the audit log is opened before anything is
// decided: a decision that could not be audited is not made.
#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include "app/audit_config.hpp"
#include "app/options.hpp"
#include "audit/log.hpp"
#include "cli/commands.hpp"
#include "gateway/definition.hpp"
#include "gateway/pin_store.hpp"
#include "protocol/printable.hpp"

namespace bastion::cli {

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct ToolsArgs {
  std::string target;  // SERVER or SERVER/NAME
  std::string hash;    // --hash
  std::string actor;   // --actor
  bool json_out = false;
};

struct Target {
  std::string server, name;
};

Target split(const std::string& t) {
  auto slash = t.find('/');
  if (slash == std::string::npos) return {t, ""};
  return {t.substr(0, slash), t.substr(slash + 1)};
}

std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

const json::object* obj(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

std::string state_of(const json::object& r) {
  const json::object* pending = obj(r, "pending");
  const json::object* pinned = obj(r, "pinned");
  std::string s;
  if (pending) {
    std::string change = str(*pending, "change");
    s = change == "changed" ? "QUARANTINED (changed)"
        : change == "lint"  ? "QUARANTINED (linter)"
                            : "QUARANTINED (new)";
  } else if (pinned) {
    s = str(*pinned, "by") == "operator" ? "approved" : "pinned";
  } else {
    s = "rejected";
  }
  auto* present = r.if_contains("present");
  if (present && present->is_bool() && !present->get_bool()) s += ", no longer listed";
  return s;
}

fs::path pins_dir(const Common& c) { return fs::path(data_dir(c)) / "pins"; }

int tools_list(const Common& c, const ToolsArgs& a) {
  gateway::PinStore store(pins_dir(c));
  auto t = split(a.target);
  auto items = store.items(t.server, t.name);
  if (a.json_out) {
    json::array out;
    for (auto& i : items) {
      json::object r = i.record;
      r["server"] = i.server;
      r["state"] = state_of(i.record);
      // Definitions are for `tools diff`; the list stays short.
      if (auto* p = r.if_contains("pinned"); p && p->is_object())
        p->get_object().erase("definition");
      if (auto* p = r.if_contains("pending"); p && p->is_object())
        p->get_object().erase("definition");
      out.push_back(std::move(r));
    }
    std::cout << json::serialize(out) << "\n";
    return 0;
  }
  if (items.empty()) {
    std::cout << "no pinned definitions" << (a.target.empty() ? "" : " for " + a.target) << "\n";
    return a.target.empty() ? 0 : 1;
  }
  std::cout << fmt::format("{:<20} {:<18} {:<32} {:<14} {}\n", "SERVER", "KIND", "NAME", "HASH",
                           "STATE");
  for (auto& i : items) {
    const json::object* pinned = obj(i.record, "pinned");
    std::string hash = pinned ? str(*pinned, "hash").substr(0, 12) : "-";
    std::string state = state_of(i.record);
    if (auto* p = obj(i.record, "pending")) {
      auto* f = p->if_contains("findings");
      std::size_t n = f && f->is_array() ? f->get_array().size() : 0;
      state += fmt::format(" -> {}", str(*p, "hash").substr(0, 12));
      if (n) state += fmt::format(", {} linter finding(s)", n);
    }
    std::cout << fmt::format("{:<20} {:<18} {:<32} {:<14} {}\n", i.server, str(i.record, "kind"),
                             protocol::printable(str(i.record, "name"), 200), hash, state);
  }
  return 0;
}

int tools_diff(const Common& c, const ToolsArgs& a) {
  gateway::PinStore store(pins_dir(c));
  auto t = split(a.target);
  std::size_t shown = 0;
  for (auto& i : store.items(t.server, t.name)) {
    const json::object* pending = obj(i.record, "pending");
    if (!pending) continue;
    ++shown;
    const json::object* pinned = obj(i.record, "pinned");
    std::string name = protocol::printable(str(i.record, "name"), 200);
    std::cout << fmt::format("{} {}/{}: {}\n", str(i.record, "kind"), i.server, name,
                             state_of(i.record));
    std::cout << fmt::format(
        "  pinned  {}\n  pending {}  (approve with: bastion tools approve "
        "{}/{} --hash {})\n",
        pinned ? str(*pinned, "hash") : std::string("(none)"), str(*pending, "hash"), i.server,
        name, str(*pending, "hash"));
    json::value before = json::object{};
    if (pinned)
      if (auto* d = pinned->if_contains("definition")) before = *d;
    json::value after =
        pending->contains("definition") ? pending->at("definition") : json::value(json::object{});
    auto changes = gateway::diff_definitions(before, after);
    if (changes.empty())
      std::cout << "  (definition unchanged)\n";
    else
      std::cout << gateway::render_diff(changes);
    if (auto* f = pending->if_contains("findings"); f && f->is_array() && !f->get_array().empty()) {
      std::cout << "  linter findings:\n";
      for (auto& x : f->get_array())
        if (x.is_object())
          std::cout << fmt::format("    ! {} at {}: {}\n", str(x.get_object(), "rule"),
                                   protocol::printable(str(x.get_object(), "path"), 200),
                                   str(x.get_object(), "detail"));
    }
    std::cout << "\n";
  }
  if (!shown)
    std::cout << "nothing is pending review" << (a.target.empty() ? "" : " for " + a.target)
              << "\n";
  return 0;
}

std::string default_actor() {
  if (const char* s = std::getenv("SUDO_USER"); s && *s) return std::string("cli:") + s;
  if (passwd* pw = ::getpwuid(::getuid())) return std::string("cli:") + pw->pw_name;
  return fmt::format("cli:uid {}", ::getuid());
}

int tools_decide(const Common& c, const ToolsArgs& a, bool approve) {
  auto t = split(a.target);
  if (t.server.empty()) {
    std::cerr << "bastion: name the server (SERVER or SERVER/NAME)\n";
    return 2;
  }
  // The audit log first: a decision that cannot be audited is not made.
  auto opts = app::load_options(c.config_path, c.overrides);
  std::unique_ptr<audit::AuditLog> log;
  if (auto ao = app::read_audit_options(*opts.document, opts.data_dir))
    log = std::make_unique<audit::AuditLog>(*ao);
  gateway::PinStore store(fs::path(opts.data_dir) / "pins");
  std::string actor = a.actor.empty() ? default_actor() : a.actor;
  auto d = approve ? store.approve(t.server, t.name, a.hash, actor)
                   : store.reject(t.server, t.name, a.hash, actor);
  for (auto& e : d.events) {
    std::cout << fmt::format("{} {} {}/{} ({})\n", approve ? "approved" : "rejected",
                             e.at("kind").as_string().c_str(), t.server,
                             protocol::printable(e.at("name").as_string(), 200),
                             e.at("hash").as_string().c_str());
    if (log) log->append(e);
  }
  if (!d.error.empty()) {
    std::cerr << "bastion: " << d.error << "\n";
    return 1;
  }
  if (!log) std::cerr << "warning: the audit log is disabled (audit.enabled: false)\n";
  return 0;
}

}  // namespace

std::vector<Command> add_tools_commands(CLI::App& cli, Common& common) {
  std::vector<Command> out;
  Common* c = &common;
  auto* tools = cli.add_subcommand(
      "tools", "Pinned tool, prompt and resource-template definitions (rug-pull protection)");
  tools->require_subcommand(1);
  auto ta = std::make_shared<ToolsArgs>();
  auto run = [](std::function<int()> f) {
    try {
      return f();
    } catch (const std::exception& e) {
      std::cerr << "bastion: " << e.what() << "\n";
      return 1;
    }
  };
  auto* list = tools->add_subcommand("list", "List pinned items and their state");
  list->add_option("target", ta->target, "SERVER or SERVER/NAME");
  list->add_flag("--json", ta->json_out, "One JSON array (definitions left out)");
  add_config_options(list, common);
  out.push_back({list, [c, ta, run] { return run([&] { return tools_list(*c, *ta); }); }});
  auto* diff = tools->add_subcommand(
      "diff", "Show each pending change beside its pinned definition, with linter findings");
  diff->add_option("target", ta->target, "SERVER or SERVER/NAME");
  add_config_options(diff, common);
  out.push_back({diff, [c, ta, run] { return run([&] { return tools_diff(*c, *ta); }); }});
  for (bool approve : {true, false}) {
    auto* sub = tools->add_subcommand(
        approve ? "approve" : "reject",
        approve ? "Approve pending changes: they become the pinned definitions"
                : "Reject pending changes: the items stay withheld while the server lists them");
    sub->add_option("target", ta->target, "SERVER (every pending item) or SERVER/NAME")->required();
    sub->add_option("--hash", ta->hash,
                    "Decide only if the pending definition still has this hash (from `tools "
                    "diff`), so a change made after the review is not decided unseen");
    sub->add_option("--actor", ta->actor, "Who decides, for the audit log (default: cli:$USER)");
    add_config_options(sub, common);
    out.push_back({sub, [c, ta, run, approve] {
                     return run([&] { return tools_decide(*c, *ta, approve); });
                   }});
  }
  return out;
}

}  // namespace bastion::cli
