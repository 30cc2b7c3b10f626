#include "protocol/base64.hpp"

#include <sodium.h>

namespace bastion::protocol {

namespace {

std::string encode(std::string_view in, int variant) {
  std::string out(sodium_base64_encoded_len(in.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(in.data()),
                    in.size(), variant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

// libsodium's decoder is strict: no ignored characters (ignore = nullptr),
// the whole input consumed (b64_end = nullptr), padding exactly as the
// variant requires, and unused trailing bits zero. But libsodium 1.0.18
// (Debian 12) decodes every byte >= 0x80 as if it were a letter of the
// alphabet ("\xc6w" decodes to "\xff"), so one value had many encodings: such
// bytes are refused before it sees them (found by fuzz/jwk).
std::optional<std::string> decode(std::string_view in, int variant) {
  for (unsigned char c : in)
    if (c >= 0x80) return std::nullopt;
  std::string out(in.size() / 4 * 3 + 3, '\0');
  std::size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), in.data(),
                        in.size(), nullptr, &len, nullptr, variant) != 0)
    return std::nullopt;
  out.resize(len);
  return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  return encode(bytes, sodium_base64_VARIANT_ORIGINAL);
}
std::string base64url_encode(std::string_view bytes) {
  return encode(bytes, sodium_base64_VARIANT_URLSAFE);
}
std::string base64url_nopad_encode(std::string_view bytes) {
  return encode(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}
std::optional<std::string> base64_decode(std::string_view text) {
  return decode(text, sodium_base64_VARIANT_ORIGINAL);
}
std::optional<std::string> base64url_decode(std::string_view text) {
  return decode(text, sodium_base64_VARIANT_URLSAFE);
}
std::optional<std::string> base64url_nopad_decode(std::string_view text) {
  return decode(text, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

std::string hex_encode(std::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                 bytes.size());
  out.resize(out.size() - 1);
  return out;
}

std::optional<std::string> hex_decode(std::string_view text) {
  if (text.size() % 2) return std::nullopt;
  std::string out(text.size() / 2, '\0');
  std::size_t len = 0;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                     text.size(), nullptr, &len, nullptr) != 0 ||
      len != out.size())
    return std::nullopt;
  return out;
}

}  // namespace bastion::protocol
