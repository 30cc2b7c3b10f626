// printable(): untrusted text (an upstream's tool name, a URI) made safe to
// put in a log line or an error message: ASCII controls, every non-ASCII
// code point (bidi overrides, zero-width characters) and backslashes become
// \uXXXX / \\ escapes, and long text is cut, so what an operator reads is
// what the bytes are.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bastion::protocol {

std::string printable(std::string_view text, std::size_t max_chars = 80);

}  // namespace bastion::protocol
