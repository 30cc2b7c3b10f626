// PII policy: what to do with personal data found in a message (a request's
// arguments, a result, an error, a relayed notification or request, a
// client's answer; keys, values and numbers alike) — allow it, mask it,
// replace each value by an encrypted token, or reject the message — chosen
// per server, per tool, per direction and per PII type.
//
// Configuration shape (the YAML config's `pii:` section, as JSON):
//   {
//     "default": "mask",                       // allow | mask | encrypt | reject
//     "types": {"rrn": "reject"},              // per-type overrides, any level
//     "directions": {"request": "reject",      // a direction: action string or
//                    "response": {"action": "mask", "types": {"email": "allow"}}},
//     "servers": {"crm": {"action": "encrypt", "types": {...}, "directions": {...},
//                         "tools": {"export": {...same shape...}}}},
//     "tools": {"search": {"action": "allow"}},  // by tool name, any server
//     "min_confidence": 0.5,                   // findings below are ignored
//     "pattern_files": ["/etc/bastion/pii.json"],  // extra patterns (either format)
//     "mask": {"redact_types": ["iban"], "keep_email_domain": true}
//   }
// Anywhere a scope object is expected, a bare action string means {"action": ...}.
//
// Precedence, most specific first: servers.S.tools.T, tools.T, servers.S,
// global; within each level the direction's rule before the level's own.
// For each PII type, the most specific level naming that type in `types`
// wins; only when no level names it does the most specific `action` apply,
// then `default`. So `types: {rrn: reject}` holds everywhere unless a more
// specific level names rrn too.
#pragma once

#include <array>
#include <boost/json.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pii/mask.hpp"
#include "pii/scanner.hpp"
#include "protocol/jsonrpc.hpp"

namespace bastion::pii {

enum class PiiAction { kAllow, kMask, kEncrypt, kReject };
std::string_view to_string(PiiAction a);
std::optional<PiiAction> parse_action(std::string_view s);

enum class Direction { kRequest, kResponse };
std::string_view to_string(Direction d);

// One level's rules.
struct PolicyRule {
  std::optional<PiiAction> action;                      // unset: ask the next level
  std::map<std::string, PiiAction, std::less<>> types;  // per-type overrides
};

struct PolicyScope {
  PolicyRule all;       // both directions
  PolicyRule request;   // request arguments only
  PolicyRule response;  // results only
  const PolicyRule& direction(Direction d) const {
    return d == Direction::kRequest ? request : response;
  }
};

struct ServerPolicy {
  PolicyScope scope;
  std::map<std::string, PolicyScope, std::less<>> tools;
};

struct PolicyOptions {
  PiiAction default_action = PiiAction::kMask;  // when no level sets an action
  PolicyScope global;                           // top-level types/directions
  std::map<std::string, ServerPolicy, std::less<>> servers;
  std::map<std::string, PolicyScope, std::less<>> tools;
  double min_confidence = 0.5;             // findings below are ignored
  std::vector<std::string> pattern_files;  // extra pattern files, in order
  MaskOptions mask;                        // how kMask renders values
};

// Builds options from the shape above. Throws std::invalid_argument naming
// the offending key (e.g. "pii.servers.crm.types.rrn: unknown action 'drop'").
PolicyOptions policy_options_from_json(const boost::json::object& o);

// True when any level anywhere uses `a`.
bool policy_uses(const PolicyOptions& o, PiiAction a);

// The rule levels that apply to one (server, tool, direction), most specific
// first. Cheap to build (no allocation); views into the options.
class ResolvedPolicy {
 public:
  ResolvedPolicy(const PolicyOptions& o, std::string_view server, std::string_view tool,
                 Direction d);
  PiiAction action_for(std::string_view type) const;
  Direction direction() const { return direction_; }
  const PolicyOptions& options() const { return *options_; }

 private:
  const PolicyOptions* options_;
  Direction direction_;
  std::array<const PolicyRule*, 8> levels_{};
  std::size_t n_ = 0;
};

// Replaces a value by an opaque token (the app wires Fernet in). May throw;
// the policy turns that into an internal error.
using Encryptor = std::function<std::string(std::string_view)>;

struct PolicyOutcome {
  bool contains_pii = false;
  PiiAction decision = PiiAction::kAllow;          // the strongest action taken
  std::map<std::string, int, std::less<>> counts;  // type -> findings (never values)
  std::optional<protocol::RpcError> error;         // set when rejected or failed
};

// Parts of a message the policy leaves alone: protocol fields Bastion routes
// on or replaces itself.
struct Exempt {
  // Members of the top-level object skipped with their values (the `name`
  // of a tools/call or prompts/get: the catalogue name the call was routed by).
  std::vector<std::string_view> keys;
  // `_meta.progressToken` and a top-level `progressToken` (notifications/
  // progress): Bastion swaps them for its own, so they never cross.
  bool progress_token = false;
};

// Applies the resolved policy to everything inside `v`: every string value,
// every object key (a key holding PII is renamed to its masked form or
// token; masked keys that collide get "#2", "#3", ...), and every number
// (PiiScanner::scan_number; a number holding PII becomes a string — its
// masked form or token — since a number can hold neither). A string or
// number under a key named like a secret (password, api_key, ...) counts as
// a secret as a whole. Only base64 payloads are skipped: a resource's
// `blob` and an image/audio item's `data` when they are base64. On reject,
// `v` may be partly rewritten; the caller drops it. Allocates nothing when
// nothing holds PII.
PolicyOutcome apply_policy(boost::json::value& v, const PiiScanner& scanner,
                           const ResolvedPolicy& policy, const Encryptor& encryptor,
                           const Exempt& exempt = {});

// The error for a rejected message: names the PII types, never the values.
protocol::RpcError pii_rejection(Direction d,
                                 const std::map<std::string, int, std::less<>>& counts);

}  // namespace bastion::pii
