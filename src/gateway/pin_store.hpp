// Pinned catalogue definitions, in the data directory (`<data_dir>/pins`),
// shared by every process that uses it: `bastion serve` replicas, per-session
// instances, `bastion tools ...`.
//
// The first time a tool, prompt or resource template of a server is seen,
// its definition (definition.hpp) is pinned by hash ("first-seen"). When the
// server later lists a different definition under the same name, the new one
// becomes the item's `pending` change and is withheld from clients (`pinning:
// enforce`) or served with a warning (`pinning: warn`) until an operator
// approves it (it becomes the pin, "operator") or rejects it (its hash is
// remembered: the item stays withheld while the server lists it). A server
// going back to the pinned definition is served again; its pending change
// stays for the operator to decide. Items no
// longer listed are marked absent, not forgotten, so a later return with a
// different definition is still a change. Under `lint: block` an item with
// linter findings (lint.hpp) is withheld until an operator approves that
// exact definition.
//
// Storage: one auth::RecordStore record per server (create, read-modify-
// write under the directory's flock, atomic replace), so concurrent writers
// never corrupt it or lose each other's updates. observe() writes only when
// something changed, so readers polling signature() see quiet files.
//
// Thread-safety: all members may be called concurrently, from any process.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/record_store.hpp"
#include "gateway/lint.hpp"
#include "server/route.hpp"

namespace bastion::gateway {

enum class PinMode { kEnforce, kWarn, kOff };
enum class LintMode { kOff, kWarn, kBlock };

// One item as the server lists it now.
struct Observed {
  server::Kind kind = server::Kind::kTool;
  std::string name;                // its name (uriTemplate for templates) at the server
  boost::json::object definition;  // pinned_definition()
  std::string hash;                // definition_hash()
  std::vector<LintFinding> findings;
};

enum class PinVerdict { kServe, kServeWarn, kWithhold };
struct PinDecision {
  PinVerdict verdict = PinVerdict::kServe;
  std::string reason;  // for kServeWarn and kWithhold: what an operator must do
};

struct ObserveResult {
  std::vector<PinDecision> decisions;       // one per observed item, same order
  std::vector<boost::json::object> events;  // audit events (event_type pin_*)
  std::string error;                        // I/O failure: every item is withheld
};

// One row of `bastion tools list`.
struct PinItem {
  std::string server;
  boost::json::object record;  // kind, name, pinned{}, pending{}, rejected[], present
};

class PinStore {
 public:
  // Creates `dir` 0700 (throws on a directory others can access).
  explicit PinStore(std::filesystem::path dir);

  // Decides what clients see of `items` (what `server` lists of `kind` now)
  // and records it: first sightings, changes, removals, with their audit
  // events. With `record` false only decides, on the pins as they are,
  // writing and reporting nothing: for re-deciding after an operator's
  // decision, so that instances listing different definitions cannot make
  // each other rewrite the pins in a loop.
  ObserveResult observe(std::string_view server, server::Kind kind,
                        const std::vector<Observed>& items, PinMode mode, LintMode lint,
                        bool record = true);

  // Every item of `server` (all servers when empty) whose name is `name`
  // (every item when empty).
  std::vector<PinItem> items(std::string_view server = {}, std::string_view name = {}) const;

  // Operator decisions on the pending changes of the matching items. With
  // `hash`, only a pending change with that hash (as `tools diff` showed it)
  // is decided, so a definition that changed again after the review is not
  // approved unseen. Returns one audit event per decided item.
  struct Decided {
    std::vector<boost::json::object> events;
    std::string error;  // nothing matched, a hash mismatch, or I/O
  };
  Decided approve(std::string_view server, std::string_view name, std::string_view hash,
                  std::string_view actor);
  Decided reject(std::string_view server, std::string_view name, std::string_view hash,
                 std::string_view actor);

  // Changes whenever the server's pins are rewritten (by any process).
  std::string signature(std::string_view server) const;

  const std::filesystem::path& dir() const { return records_.dir(); }

 private:
  Decided decide(std::string_view server, std::string_view name, std::string_view hash,
                 std::string_view actor, bool approve);
  auth::RecordStore records_;
};

// "<kind>:<name>", the key of an item inside a server's record.
std::string pin_key(server::Kind kind, std::string_view name);

}  // namespace bastion::gateway
