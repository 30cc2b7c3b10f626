// Masking: turns scanner findings into a redacted copy of the text. Pure
// functions; each PII type keeps just enough to stay useful to a reader
// (the email domain, a phone's last digits, an RRN's birth date and gender
// digit, a card's last four, a name's surname).
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pii/scanner.hpp"

namespace bastion::pii {

struct MaskOptions {
  // Types replaced by "[REDACTED:<type>]" even though they have a partial
  // form. Default: none (every type with a partial form uses it).
  std::vector<std::string> redact_types;
  // Keep the domain of an email ("***@example.com"). Default: true.
  bool keep_email_domain = true;
};

// The masked form of one value of `type`:
//   email ***@example.com, phone 010-****-5678, credit_card ****-****-****-1234,
//   rrn 900101-1******, korean_name 김** (the 님/씨 stays outside the span),
//   ssn ***-**-6789, anything else [REDACTED:<type>].
std::string mask_value(std::string_view type, std::string_view value,
                       const MaskOptions& options = {});
// The same, appended to `out` (no string per value).
void append_masked(std::string& out, std::string_view type, std::string_view value,
                   const MaskOptions& options = {});

// Copies `text` with each finding's span replaced by replace(finding, value).
// Overlapping findings are resolved first (resolve_overlaps).
std::string replace_findings(
    std::string_view text, std::span<const Finding> findings,
    const std::function<std::string(const Finding&, std::string_view value)>& replace);

// replace_findings with mask_value, rendered from each finding's normalized
// form when it has one (full-width digits are starred like ASCII ones).
std::string mask_text(std::string_view text, std::span<const Finding> findings,
                      const MaskOptions& options = {});

}  // namespace bastion::pii
