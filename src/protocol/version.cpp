#include "protocol/version.hpp"

#include <algorithm>

#ifndef BASTION_VERSION
#error "BASTION_VERSION comes from CMake (src/protocol/CMakeLists.txt)"
#endif

namespace bastion::protocol {

std::string_view bastion_version() { return BASTION_VERSION; }
std::string_view user_agent() { return "bastion/" BASTION_VERSION; }

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
