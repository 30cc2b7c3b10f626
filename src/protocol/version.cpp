#include "protocol/version.hpp"

#include <algorithm>

namespace bastion::protocol {

bool is_supported_version(std::string_view v) {
  return std::find(kSupportedVersions.begin(), kSupportedVersions.end(), v) !=
         kSupportedVersions.end();
}

std::string_view negotiate_version(std::string_view requested) {
  return is_supported_version(requested) ? requested : kLatestVersion;
}

}  // namespace bastion::protocol
