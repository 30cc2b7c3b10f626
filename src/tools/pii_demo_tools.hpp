// The seed demo's PII tools as built-in MCP tools:
//   test_pii_detection              scan a text, report findings and its masked form
//   simulate_data_breach_detection  scan a generated breach sample, report per-type
//                                   counts and what each policy would have done
// Reports carry types, spans, confidences and masked text, never raw values.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pii/policy.hpp"
#include "pii/scanner.hpp"
#include "server/builtin_tool.hpp"

namespace bastion::tools {

server::SyncTool make_test_pii_detection_tool(std::shared_ptr<const pii::PiiScanner> scanner,
                                              pii::MaskOptions mask = {});

// `policy` is the gateway's configured PII policy; the report shows its
// decision for a response of this tool next to allow/mask/encrypt/reject.
server::SyncTool make_simulate_data_breach_detection_tool(
    std::shared_ptr<const pii::PiiScanner> scanner, pii::PolicyOptions policy);

// Deterministic fake customer records (CSV with a header): Korean names,
// emails at example domains, Korean mobiles, RRNs with valid checksums,
// Luhn-valid cards, private IPv4 addresses. Same (records, seed), same text.
std::string synthetic_breach_sample(int records, std::uint64_t seed);

}  // namespace bastion::tools
