// The PII filter: a server::Filter that scans tools/call and prompts/get
// arguments on the way in and every result on the way out, then applies the
// PII policy (allow, mask, encrypt, reject). It records what it found in
// ctx.notes (contains_pii, counts by type, the strongest action across both
// directions; never values); nothing is written when a message holds no PII,
// and then the filter allocates nothing.
//
// Building one from configuration:
//   auto opts = pii::policy_options_from_json(config_json.at("pii").as_object());
//   chain.add(pii::make_pii_filter(std::move(opts), fernet_encryptor));
//
// Thread-safety: immutable after construction; one instance serves all sessions.
#pragma once

#include <memory>

#include "pii/policy.hpp"
#include "pii/scanner.hpp"
#include "server/filter.hpp"

namespace bastion::pii {

class PiiFilter : public server::Filter {
 public:
  // Throws std::invalid_argument when the options use `encrypt` and no
  // encryptor is given.
  PiiFilter(std::shared_ptr<const PiiScanner> scanner, PolicyOptions options,
            Encryptor encryptor = {});

  std::string_view name() const override { return "pii"; }
  server::Verdict on_request(boost::json::object& params, server::CallContext& ctx) override;
  server::Verdict on_response(boost::json::object& result, server::CallContext& ctx) override;

  const PiiScanner& scanner() const { return *scanner_; }
  const PolicyOptions& options() const { return options_; }

 private:
  server::Verdict apply(boost::json::value& v, Direction d, server::CallContext& ctx) const;

  std::shared_ptr<const PiiScanner> scanner_;
  PolicyOptions options_;
  Encryptor encryptor_;
};

// Loads default_patterns() plus options.pattern_files and builds the scanner
// (min_confidence from the options). Throws PatternError on a bad pattern
// file, std::invalid_argument as above.
std::shared_ptr<PiiFilter> make_pii_filter(PolicyOptions options, Encryptor encryptor = {});

}  // namespace bastion::pii
