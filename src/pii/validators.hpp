// Checks behind the PII recognizers, as pure functions over ASCII digits or
// characters (no anchors, no spans): Luhn, card IIN ranges, Korean RRN dates
// and checksum, IBAN mod-97, US SSN ranges, IPv4/IPv6 syntax, Korean phone
// number plans. Shared by the scanner and its tests.
#pragma once

#include <cstdint>
#include <string_view>

namespace bastion::pii::check {

bool luhn_valid(std::string_view digits);

// Card brand from the IIN prefix and length ("visa", "mastercard", "amex",
// ...), or empty when no known range matches.
std::string_view card_brand(std::string_view digits);

enum class RrnResult {
  kInvalid,   // bad date, century/gender digit or length
  kValid,     // date valid, checksum valid
  kDateOnly,  // date valid, checksum not (normal for numbers issued since Oct 2020)
};
// `digits` is the 13 digits YYMMDDGNNNNNN.
RrnResult check_rrn(std::string_view digits);

// `compact` is the IBAN without spaces, letters upper-case.
bool iban_valid(std::string_view compact);
// Expected IBAN length for a country code, 0 when unknown.
int iban_length(std::string_view country);
// The country code as a string that lives as long as the process, or empty
// when unknown.
std::string_view iban_country(std::string_view country);

// US SSN AAA-GG-SSSS: area not 000, 666 or 9xx; group not 00; serial not 0000.
bool ssn_valid(std::string_view area, std::string_view group, std::string_view serial);

// Dotted quad, octets 0..255 without leading zeros.
bool ipv4_valid(std::string_view s);
// inet_pton(AF_INET6).
bool ipv6_valid(std::string_view s);

// Korean numbers given as contiguous digits (separators removed, leading 0
// present). Returns "kr_mobile", "kr_landline", "kr_voip", "kr_tollfree",
// "kr_service" or empty.
std::string_view korean_phone_kind(std::string_view digits);

// The same checks for a caller that already holds ASCII digits only (the
// scanner's number tokens): they skip re-validating every character, and
// the phone kind is a number to branch on, not a name to compare. Undefined
// for other characters; the functions above are these behind that test.
bool luhn_valid_digits(std::string_view digits);
std::string_view card_brand_digits(std::string_view digits);
RrnResult check_rrn_digits(std::string_view digits);
enum class KrPhone : std::uint8_t { kNone, kMobile, kLandline, kVoip, kTollfree, kService };
KrPhone korean_phone_digits(std::string_view digits);
// "kr_mobile", ... for a KrPhone; empty for kNone.
std::string_view kr_phone_name(KrPhone kind);

}  // namespace bastion::pii::check
