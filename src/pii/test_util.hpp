// Helpers shared by the pii tests: one scanner for the whole binary (its
// Vectorscan database is compiled once) and policy options from JSON text.
#pragma once

#include <boost/json.hpp>
#include <string_view>

#include "pii/policy.hpp"
#include "pii/scanner.hpp"

namespace bastion::pii::testing {

inline const PiiScanner& scanner() {
  static const PiiScanner s;
  return s;
}

inline PolicyOptions opts(std::string_view text) {
  return policy_options_from_json(boost::json::parse(text).as_object());
}

}  // namespace bastion::pii::testing
