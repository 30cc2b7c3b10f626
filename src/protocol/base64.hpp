// Binary-to-text codecs for tokens, keys, JOSE, Fernet and the audit log:
// base64 (standard and URL-safe alphabets, RFC 4648) and lowercase hex, on
// libsodium's constant-time codecs.
// Decoders are strict: they accept only canonical padded input and return
// nullopt otherwise, because their input is usually untrusted (tokens, files).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bastion::protocol {

// RFC 4648 §4, with '=' padding.
std::string base64_encode(std::string_view bytes);
// RFC 4648 §5 ('-' and '_'), with '=' padding (what Python's
// base64.urlsafe_b64encode and Fernet produce).
std::string base64url_encode(std::string_view bytes);
// RFC 4648 §5 without padding (JOSE, RFC 7515 §2).
std::string base64url_nopad_encode(std::string_view bytes);

// Strict decoders: padding exactly as the variant requires, no whitespace,
// no characters of the other alphabet, unused bits zero.
std::optional<std::string> base64_decode(std::string_view text);
std::optional<std::string> base64url_decode(std::string_view text);
std::optional<std::string> base64url_nopad_decode(std::string_view text);

std::string hex_encode(std::string_view bytes);
// Accepts upper or lower case; nullopt on odd length or a non-hex digit.
std::optional<std::string> hex_decode(std::string_view text);

}  // namespace bastion::protocol
