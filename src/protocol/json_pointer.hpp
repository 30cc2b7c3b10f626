// JSON Pointer (RFC 6901) reference tokens: the configuration reader names
// every value by its pointer, and tool-definition diffs name what changed.
#pragma once

#include <string>
#include <string_view>

namespace bastion::protocol {

// `key` as one reference token: '~' becomes "~0" and '/' becomes "~1"
// (RFC 6901 §3), so "/" + token addresses the member `key`.
std::string json_pointer_token(std::string_view key);

}  // namespace bastion::protocol
