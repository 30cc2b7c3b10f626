#include "protocol/version.hpp"

#include <algorithm>

namespace bastion::protocol {

bool is_supported_version(std::string_view v) {
  return std::find(kSupportedVersions.begin(), kSupportedVersions.end(), v) !=
         kSupportedVersions.end();
}

std::string_view negotiate_version(std::string_view requested) {
  // Always a view of static storage, never of the caller's string.
  for (auto v : kSupportedVersions)
    if (v == requested) return v;
  return kLatestVersion;
}

}  // namespace bastion::protocol
