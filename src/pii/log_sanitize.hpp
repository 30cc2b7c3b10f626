// Makes a line from an untrusted source (an upstream server's stderr) safe
// for Bastion's own log: personal data is masked, and every character that
// could forge or hide log lines is escaped — C0 controls (ESC, CR, LF, BEL,
// ...), DEL, C1 controls, bidi controls and line/paragraph separators — as
// is any byte that is not UTF-8 and the backslash itself, so the escapes
// cannot be forged either.
//
// PII is looked for in the line with terminal escape sequences and control
// characters taken out, and again with them turned into spaces, so neither
// "010\x1b[0m-1234-5678" nor "id\x1b[0m010-1234-5678" hides a number.
// Log lines are always masked (MaskOptions defaults), whatever the traffic
// policy says: the log is stored and shipped, and nobody reviews it.
//
// Thread-safety: pure functions; the default scanner is built once.
#pragma once

#include <string>
#include <string_view>

#include "pii/scanner.hpp"

namespace bastion::pii {

// Escapes as `\x1b`, `\r`, `\n`, `\t`, `\\`, `\u202e` (C1, bidi, U+2028/9)
// and `\xff` (bytes that are not UTF-8).
std::string escape_log_text(std::string_view s);

// Masks the PII `scanner` finds, then escapes.
std::string sanitize_log_line(std::string_view line, const PiiScanner& scanner);
// The same with the built-in patterns (the scanner is built on first use).
std::string sanitize_log_line(std::string_view line);

}  // namespace bastion::pii
