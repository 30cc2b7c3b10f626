#include "pii/validators.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

namespace bastion::pii::check {
namespace {

bool all_digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return !s.empty();
}

int num(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// A prefix test on 1-3 literal characters, compared in place (a
// string_view compare is a memcmp call per prefix on the number hot path).
template <std::size_t N>
bool starts(std::string_view s, const char (&p)[N]) {
  static_assert(N >= 2 && N <= 4);
  if (s.size() < N - 1) return false;
  for (std::size_t i = 0; i + 1 < N; ++i)
    if (s[i] != p[i]) return false;
  return true;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

bool luhn_valid(std::string_view d) { return all_digits(d) && luhn_valid_digits(d); }

// From the right: eight digits a step in one 64-bit word (SWAR), then two
// a step, the first as it is, the second doubled (a table); no test or
// branch per digit. A card number is two words, ~30 instructions where two
// at a time took ~80.
bool luhn_valid_digits(std::string_view d) {
  static constexpr std::uint8_t kDoubled[10] = {0, 2, 4, 6, 8, 1, 3, 5, 7, 9};
  unsigned sum = 0;
  std::size_t i = d.size();
  for (; i >= 8; i -= 8) {
    std::uint64_t x;
    std::memcpy(&x, d.data() + i - 8, 8);
    x -= 0x3030303030303030ULL;  // each byte its digit, 0..9
    // Bytes 0, 2, 4, 6 (d[i-8], d[i-6], d[i-4], d[i-2]) are doubled: 2v,
    // less 9 when v >= 5 (v + 0x7B sets the byte's top bit exactly then).
    const std::uint64_t dbl = x & 0x00FF00FF00FF00FFULL;
    const std::uint64_t ge5 = ((dbl + 0x007B007B007B007BULL) >> 7) & 0x0001000100010001ULL;
    x = x + dbl - ge5 * 9;  // every byte 0..9: their sum (<= 72) is the top byte below
    sum += static_cast<unsigned>((x * 0x0101010101010101ULL) >> 56);
  }
  for (; i >= 2; i -= 2)
    sum += static_cast<unsigned>(d[i - 1] - '0') + kDoubled[static_cast<unsigned>(d[i - 2] - '0')];
  if (i) sum += static_cast<unsigned>(d[0] - '0');
  return sum % 10 == 0;
}

std::string_view card_brand(std::string_view d) {
  return all_digits(d) ? card_brand_digits(d) : std::string_view{};
}

std::string_view card_brand_digits(std::string_view d) {
  const std::size_t n = d.size();
  if (n < 12 || n > 19) return {};
  const int p2 = (d[0] - '0') * 10 + (d[1] - '0');
  const int p3 = p2 * 10 + (d[2] - '0'), p4 = p3 * 10 + (d[3] - '0');
  switch (d[0]) {
    case '4':
      return n == 13 || n == 16 || n == 19 ? "visa" : std::string_view{};
    case '5':
      if (p2 >= 51 && p2 <= 55) return n == 16 ? "mastercard" : std::string_view{};
      if (p2 == 50 || (p2 >= 56 && p2 <= 58)) return "maestro";
      return {};
    case '2':
      return p4 >= 2221 && p4 <= 2720 && n == 16 ? "mastercard" : std::string_view{};
    case '3':
      if (p2 == 34 || p2 == 37) return n == 15 ? "amex" : std::string_view{};
      if (p4 >= 3528 && p4 <= 3589) return n >= 16 ? "jcb" : std::string_view{};
      if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39)
        return n >= 14 ? "diners" : std::string_view{};
      return {};
    case '6': {
      const int p6 = p4 * 100 + (d[4] - '0') * 10 + (d[5] - '0');
      if ((p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65 || (p6 >= 622126 && p6 <= 622925)) &&
          n >= 16)
        return "discover";
      if (p2 == 62 && n >= 16) return "unionpay";
      return "maestro";
    }
    case '9':
      return p2 == 94 && n == 16 ? "bc" : std::string_view{};  // Korean BC Card domestic range
    default:
      return {};
  }
}

RrnResult check_rrn(std::string_view d) {
  return all_digits(d) ? check_rrn_digits(d) : RrnResult::kInvalid;
}

RrnResult check_rrn_digits(std::string_view d) {
  if (d.size() != 13) return RrnResult::kInvalid;
  const int yy = num(d.substr(0, 2)), mm = num(d.substr(2, 2)), dd = num(d.substr(4, 2));
  const int g = d[6] - '0';
  int century;
  switch (g) {
    case 1:
    case 2:
    case 5:
    case 6:
      century = 1900;
      break;
    case 3:
    case 4:
    case 7:
    case 8:
      century = 2000;
      break;
    default:
      return RrnResult::kInvalid;
  }
  const int year = century + yy;
  if (mm < 1 || mm > 12 || dd < 1) return RrnResult::kInvalid;
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int days = kDays[mm - 1] + (mm == 2 && leap(year) ? 1 : 0);
  if (dd > days) return RrnResult::kInvalid;
  static constexpr std::array<int, 12> kW = {2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5};
  int sum = 0;
  for (int i = 0; i < 12; ++i) sum += (d[i] - '0') * kW[i];
  const int check = (11 - sum % 11) % 10;
  return check == d[12] - '0' ? RrnResult::kValid : RrnResult::kDateOnly;
}

int iban_length(std::string_view cc) {
  struct E {
    char cc[3];
    int len;
  };
  static constexpr E kTable[] = {
      {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
      {"BG", 22}, {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28},
      {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24},
      {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18},
      {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23},
      {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32},
      {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22},
      {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
      {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24},
      {"SC", 31}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28},
      {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
  };
  // Indexed by the two letters (A..Z each), built once.
  static const std::array<std::uint8_t, 26 * 26> kByCode = [] {
    std::array<std::uint8_t, 26 * 26> t{};
    for (const auto& e : kTable)
      t[(e.cc[0] - 'A') * 26 + (e.cc[1] - 'A')] = static_cast<std::uint8_t>(e.len);
    return t;
  }();
  if (cc.size() != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z') return 0;
  return kByCode[(cc[0] - 'A') * 26 + (cc[1] - 'A')];
}

std::string_view iban_country(std::string_view cc) {
  if (!iban_length(cc)) return {};
  // Every pair of capital letters, once: "AAABAC...ZZ" viewed two at a time
  // (a constant: no guard to test, no bounds to check, on each IBAN found).
  static constexpr std::array<char, 26 * 26 * 2> kPairs = [] {
    std::array<char, 26 * 26 * 2> s{};
    for (int a = 0; a < 26; ++a)
      for (int b = 0; b < 26; ++b) {
        s[(a * 26 + b) * 2] = static_cast<char>('A' + a);
        s[(a * 26 + b) * 2 + 1] = static_cast<char>('A' + b);
      }
    return s;
  }();
  return std::string_view(kPairs.data() + ((cc[0] - 'A') * 26 + (cc[1] - 'A')) * 2, 2);
}

bool iban_valid(std::string_view s) {
  const std::size_t n = s.size();
  if (n < 15 || n > 34) return false;
  const auto* u = reinterpret_cast<const unsigned char*>(s.data());
  auto letter = [](unsigned c) { return c - 'A' < 26u; };
  auto digit = [](unsigned c) { return c - '0' < 10u; };
  if (!letter(u[0]) || !letter(u[1]) || !digit(u[2]) || !digit(u[3])) return false;
  if (int want = iban_length(s.substr(0, 2)); want && want != static_cast<int>(n)) return false;
  // mod 97 over the rearranged string (s[4..], then s[0..4)), letters as
  // 10..35, each character checked on the way. Eight digits in a row are
  // read as one number (SWAR, as simdjson parses them) and folded in with
  // one division: a BBAN is mostly digits, and a division or two per
  // character was ~4% of a scan of PII-dense English.
  std::uint64_t r = 0;
  std::size_t i = 4;
  while (i < n) {
    if (i + 8 <= n) {
      std::uint64_t x;
      std::memcpy(&x, u + i, 8);
      const std::uint64_t lo = x & 0x0F0F0F0F0F0F0F0FULL;
      if ((x & 0xF0F0F0F0F0F0F0F0ULL) == 0x3030303030303030ULL &&
          ((lo + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) == 0) {
        std::uint64_t v = (lo * 2561) >> 8;
        v = ((v & 0x00FF00FF00FF00FFULL) * 6553601) >> 16;
        v = ((v & 0x0000FFFF0000FFFFULL) * 42949672960001ULL) >> 32;
        r = (r * 100000000 + v) % 97;
        i += 8;
        continue;
      }
    }
    const unsigned c = u[i++];
    if (digit(c))
      r = (r * 10 + (c - '0')) % 97;
    else if (letter(c))
      r = (r * 100 + (c - 'A' + 10)) % 97;
    else
      return false;
  }
  r = r * 100 + (u[0] - 'A' + 10);
  r = r * 100 + (u[1] - 'A' + 10);
  r = r * 100 + (u[2] - '0') * 10 + (u[3] - '0');
  return r % 97 == 1;
}

bool ssn_valid(std::string_view a, std::string_view g, std::string_view s) {
  if (a.size() != 3 || g.size() != 2 || s.size() != 4) return false;
  if (!all_digits(a) || !all_digits(g) || !all_digits(s)) return false;
  const int area = num(a);
  if (area == 0 || area == 666 || area >= 900) return false;
  return num(g) != 0 && num(s) != 0;
}

bool ipv4_valid(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t j = i;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    const std::size_t len = j - i;
    if (len == 0 || len > 3) return false;
    if (len > 1 && s[i] == '0') return false;
    if (num(s.substr(i, len)) > 255) return false;
    ++parts;
    if (j == s.size()) break;
    if (s[j] != '.' || parts == 4) return false;
    i = j + 1;
  }
  return parts == 4;
}

bool ipv6_valid(std::string_view s) {
  if (s.size() < 2 || s.size() > 45) return false;
  char buf[46];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  unsigned char out[16];
  return inet_pton(AF_INET6, buf, out) == 1;
}

std::string_view korean_phone_kind(std::string_view d) {
  return all_digits(d) ? kr_phone_name(korean_phone_digits(d)) : std::string_view{};
}

std::string_view kr_phone_name(KrPhone kind) {
  switch (kind) {
    case KrPhone::kMobile:
      return "kr_mobile";
    case KrPhone::kLandline:
      return "kr_landline";
    case KrPhone::kVoip:
      return "kr_voip";
    case KrPhone::kTollfree:
      return "kr_tollfree";
    case KrPhone::kService:
      return "kr_service";
    case KrPhone::kNone:
      break;
  }
  return {};
}

KrPhone korean_phone_digits(std::string_view d) {
  const std::size_t n = d.size();
  if (n < 8 || n > 11) return KrPhone::kNone;
  if (starts(d, "010")) return n == 11 ? KrPhone::kMobile : KrPhone::kNone;
  if (starts(d, "011") || starts(d, "016") || starts(d, "017") || starts(d, "018") ||
      starts(d, "019"))
    return n == 10 || n == 11 ? KrPhone::kMobile : KrPhone::kNone;
  if (starts(d, "02")) return n == 9 || n == 10 ? KrPhone::kLandline : KrPhone::kNone;
  if (starts(d, "070")) return n == 11 ? KrPhone::kVoip : KrPhone::kNone;
  if (starts(d, "080")) return n == 10 || n == 11 ? KrPhone::kTollfree : KrPhone::kNone;
  if (d[0] == '0' && n >= 10) {
    const int area = num(d.substr(0, 3));
    if ((area >= 31 && area <= 33) || (area >= 41 && area <= 44) || (area >= 51 && area <= 55) ||
        (area >= 61 && area <= 64))
      return KrPhone::kLandline;
    return KrPhone::kNone;
  }
  if (n == 8 && (starts(d, "15") || starts(d, "16") || starts(d, "18"))) return KrPhone::kService;
  return KrPhone::kNone;
}

}  // namespace bastion::pii::check
