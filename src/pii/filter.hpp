// The PII filter: a server::Filter that applies the PII policy (allow, mask,
// encrypt, reject) to every message in either direction, in full (keys,
// values, numbers, _meta; see apply_policy):
//   - requests (tools/call, prompts/get, resources/read params, all but the
//     routed `name`) and results;
//   - errors (message and data): on reject the error is replaced by the
//     policy's rejection, naming types only;
//   - notifications and server-to-client requests relayed to the client
//     (response direction) and the client's answers to those requests
//     (request direction), under the policy of the call they belong to:
//     a refused notification is dropped, a refused request or answer turns
//     into the policy's error for the server that asked.
// For calls it records what it found in ctx.notes (contains_pii, counts by
// type, the strongest action across both directions); relayed messages are
// reported through `report` (an audit event). Types and counts only, never values;
// nothing is written when a message holds no PII, and then the filter
// allocates nothing.
//
// Building one from configuration:
//   auto opts = pii::policy_options_from_json(config_json.at("pii").as_object());
//   chain.add(pii::make_pii_filter(std::move(opts), fernet_encryptor));
//
// Thread-safety: immutable after construction; one instance serves all sessions.
#pragma once

#include <filesystem>

#include <functional>
#include <memory>

#include "pii/policy.hpp"
#include "pii/scanner.hpp"
#include "server/filter.hpp"

namespace bastion::pii {

class PiiFilter : public server::Filter {
 public:
  // Throws std::invalid_argument when the options use `encrypt` and no
  // encryptor is given.
  // PII found in a relayed message: {"event_type": "pii_relayed", "method",
  // "session_id", "server", "direction", "pii": {type: count}, "decision"}.
  using Report = std::function<void(boost::json::object event)>;

  PiiFilter(std::shared_ptr<const PiiScanner> scanner, PolicyOptions options,
            Encryptor encryptor = {}, Report report = {});

  std::string_view name() const override { return "pii"; }
  server::Verdict on_request(boost::json::object& params, server::CallContext& ctx) override;
  server::Verdict on_response(boost::json::object& result, server::CallContext& ctx) override;
  void on_error(protocol::RpcError& error, server::CallContext& ctx) override;
  server::Verdict on_outbound(boost::json::object& message,
                              const server::MessageContext& ctx) override;
  server::Verdict on_client_answer(boost::json::object& answer,
                                   const server::MessageContext& ctx) override;

  const PiiScanner& scanner() const { return *scanner_; }
  const PolicyOptions& options() const { return options_; }

 private:
  PolicyOutcome run(boost::json::value& v, Direction d, std::string_view server,
                    std::string_view target, const Exempt& exempt) const;
  void record(const PolicyOutcome& out, server::CallContext& ctx) const;
  server::Verdict relayed(boost::json::value& v, Direction d, const server::MessageContext& ctx,
                          std::string_view what, const Exempt& exempt) const;

  std::shared_ptr<const PiiScanner> scanner_;
  PolicyOptions options_;
  Encryptor encryptor_;
  Report report_;
};

// Loads default_patterns() plus options.pattern_files and builds the scanner
// (min_confidence from the options). Throws PatternError on a bad pattern
// file, std::invalid_argument as above. With `db_cache_dir`, the compiled
// pattern databases are cached there (PiiScanner).
std::shared_ptr<PiiFilter> make_pii_filter(PolicyOptions options, Encryptor encryptor = {},
                                           PiiFilter::Report report = {},
                                           std::filesystem::path db_cache_dir = {});

}  // namespace bastion::pii
