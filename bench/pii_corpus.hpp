// Deterministic generators of synthetic personal data for the PII benchmark
// (pii_bench: the PII-dense corpus) and the labelled evaluation corpus
// (pii_eval). Every value is made up: phone numbers in reserved or unused
// ranges where one exists, cards and IBANs with valid check digits but
// random account numbers, RRNs with random serials, example.* domains.
// Same seed, same output, on every machine.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace bastion::bench {

struct Lcg {
  std::uint64_t s;
  std::uint32_t next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(s >> 33);
  }
  std::uint32_t below(std::uint32_t n) { return next() % n; }
  template <class T, std::size_t N>
  const T& pick(const T (&a)[N]) {
    return a[next() % N];
  }
  bool chance(int percent) { return below(100) < static_cast<std::uint32_t>(percent); }
  std::string digits(int n) {
    std::string d;
    for (int i = 0; i < n; ++i) d += static_cast<char>('0' + below(10));
    return d;
  }
};

inline const char* const kFirstEn[] = {"james",  "mary",  "john",  "linda", "robert", "susan",
                                       "mike",   "karen", "david", "nancy", "chris",  "emma",
                                       "olivia", "noah",  "liam",  "ava",   "lucas",  "mia"};
inline const char* const kLastEn[] = {"smith",  "johnson", "brown",  "garcia", "miller", "davis",
                                      "lopez",  "wilson",  "taylor", "moore",  "clark",  "lee",
                                      "walker", "young",   "king",   "wright", "hill",   "green"};
inline const char* const kDomains[] = {"example.com",      "example.org",   "example.net",
                                       "mail.example.com", "example.co.kr", "corp.example.io"};
inline const char* const kSurnames[] = {"김", "이", "박", "최", "정", "강", "조", "윤",
                                        "장", "임", "한", "오", "서", "신", "권", "황"};
inline const char* const kGiven[] = {"민수", "서연", "지훈", "하은", "도윤", "수아", "예준",
                                     "지우", "현우", "서윤", "철수", "영희", "준호", "민지",
                                     "성민", "유진", "태현", "은지", "재원", "혜린"};
inline const char* const kCompound[] = {"남궁", "제갈", "선우", "황보", "독고"};

inline std::string email(Lcg& r) {
  std::string local = r.pick(kFirstEn);
  switch (r.below(4)) {
    case 0:
      local += std::string(".") + r.pick(kLastEn);
      break;
    case 1:
      local += std::to_string(r.below(1000));
      break;
    case 2:
      local += std::string("_") + r.pick(kLastEn) + "+news";
      break;
    default:
      break;
  }
  return local + "@" + r.pick(kDomains);
}

inline std::string kr_mobile(Lcg& r, char sep = '-') {
  std::string mid = r.digits(4), last = r.digits(4);
  if (sep == 0) return "010" + mid + last;
  return "010" + std::string(1, sep) + mid + std::string(1, sep) + last;
}

inline std::string kr_landline(Lcg& r) {
  static const char* const kArea[] = {"02", "031", "032", "051", "053", "062", "042", "064"};
  std::string area = r.pick(kArea);
  return area + "-" + std::to_string(200 + r.below(800)) + "-" + r.digits(4);
}

// +1 NXX 555-01XX: the fictional-use block.
inline std::string us_phone_e164(Lcg& r) {
  return "+1 " + std::to_string(201 + r.below(700)) + " 555 01" + r.digits(2);
}

inline std::string rrn(Lcg& r, bool with_checksum = true, bool dash = true) {
  int year = 40 + static_cast<int>(r.below(60));  // 1940..1999
  int month = 1 + static_cast<int>(r.below(12));
  int day = 1 + static_cast<int>(r.below(28));
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d%02d%02d", year, month, day);
  std::string d = buf;
  d += static_cast<char>('1' + r.below(2));  // 1900s, male or female
  d += r.digits(5);
  static const int kW[] = {2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5};
  int sum = 0;
  for (int i = 0; i < 12; ++i) sum += (d[i] - '0') * kW[i];
  int check = (11 - sum % 11) % 10;
  if (!with_checksum) check = (check + 1 + static_cast<int>(r.below(9))) % 10;
  d += static_cast<char>('0' + check);
  return dash ? d.substr(0, 6) + "-" + d.substr(6) : d;
}

inline char luhn_digit(const std::string& body) {
  int sum = 0;
  bool dbl = true;
  for (auto it = body.rbegin(); it != body.rend(); ++it) {
    int v = *it - '0';
    if (dbl) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
    dbl = !dbl;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

// A Luhn-valid card number: visa, mastercard or amex, digits only.
inline std::string card_digits(Lcg& r) {
  std::string body;
  switch (r.below(3)) {
    case 0:
      body = "4" + r.digits(14);
      break;
    case 1:
      body = std::to_string(51 + r.below(5)) + r.digits(13);
      break;
    default:
      body = std::string(r.chance(50) ? "34" : "37") + r.digits(12);
  }
  return body + luhn_digit(body);
}

inline std::string card(Lcg& r, char sep = ' ') {
  std::string d = card_digits(r);
  if (sep == 0) return d;
  if (d.size() == 15) return d.substr(0, 4) + sep + d.substr(4, 6) + sep + d.substr(10);
  return d.substr(0, 4) + sep + d.substr(4, 4) + sep + d.substr(8, 4) + sep + d.substr(12);
}

inline std::string ssn(Lcg& r) {
  int area = 1 + static_cast<int>(r.below(665));
  char buf[16];
  std::snprintf(buf, sizeof buf, "%03d-%02d-%04d", area, 1 + static_cast<int>(r.below(99)),
                1 + static_cast<int>(r.below(9999)));
  return buf;
}

inline std::string ipv4(Lcg& r) {
  static const char* const kNet[] = {"10.", "192.168.", "172.16.", "203.0.113.", "198.51.100."};
  std::string ip = r.pick(kNet);
  int dots = 0;
  for (char c : ip) dots += c == '.';
  while (dots < 3) {
    ip += std::to_string(r.below(256)) + ".";
    ++dots;
  }
  return ip + std::to_string(1 + r.below(254));
}

inline std::string ipv6(Lcg& r) {
  static const char kHex[] = "0123456789abcdef";
  std::string ip = "2001:db8:";
  for (int g = 0; g < 3; ++g) {
    for (int k = 0; k < 4; ++k) ip += kHex[r.below(16)];
    ip += g < 2 ? ":" : "";
  }
  return ip + "::" + std::to_string(1 + r.below(99));
}

// A German IBAN with a valid mod-97 check: DEkk + 18 digits.
inline std::string iban(Lcg& r, bool spaced) {
  std::string bban = r.digits(18);
  // mod 97 of bban + "DE00" as digits (D=13, E=14).
  std::string s = bban + "131400";
  int m = 0;
  for (char c : s) m = (m * 10 + (c - '0')) % 97;
  int check = 98 - m;
  char kk[8];
  std::snprintf(kk, sizeof kk, "%02d", check);
  std::string compact = std::string("DE") + kk + bban;
  if (!spaced) return compact;
  std::string out;
  for (std::size_t i = 0; i < compact.size(); ++i) {
    if (i && i % 4 == 0) out += ' ';
    out += compact[i];
  }
  return out;
}

inline std::string korean_name(Lcg& r) {
  if (r.chance(8)) return std::string(r.pick(kCompound)) + r.pick(kGiven);
  return std::string(r.pick(kSurnames)) + r.pick(kGiven);
}

inline std::string aws_key(Lcg& r) {
  static const char kAlnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string k = "AKIA";
  for (int i = 0; i < 16; ++i) k += kAlnum[r.below(32)];
  return k;
}

// PII-dense records: several values in every ~150-250 bytes, English or
// Korean, the way a CRM export or a support-ticket dump reads.
inline std::string dense_record(Lcg& r, bool korean) {
  std::string s;
  if (korean) {
    s += "고객 " + korean_name(r) + (r.chance(50) ? "님" : " 씨") + ", 연락처 " + kr_mobile(r);
    s += ", 이메일 " + email(r) + ", 주민번호 " + rrn(r);
    s += r.chance(50) ? ", 카드 " + card(r, '-') : ", 유선 " + kr_landline(r);
    s += ", 주소 서울특별시 강남구 테헤란로 " + std::to_string(1 + r.below(500)) + "길";
    if (r.chance(30)) s += ", 접속 IP " + ipv4(r);
    s += ". 메모: 배송 전 연락 바랍니다.\n";
  } else {
    s += "customer " + std::string(r.pick(kFirstEn)) + " " + r.pick(kLastEn) + ", email " +
         email(r) + ", phone " + us_phone_e164(r);
    s += ", card " + card(r) + ", ssn " + ssn(r) + ", last login from " + ipv4(r);
    if (r.chance(30)) s += ", iban " + iban(r, true);
    if (r.chance(10)) s += ", key " + aws_key(r);
    s +=
        ". note: call back after 5pm about order " + std::to_string(10000 + r.below(90000)) + ".\n";
  }
  return s;
}

// Number-heavy texts for checking that a change to the number recognizers
// leaves every finding as it was (pii_bench --dump-findings): the values
// above mixed with digit groups of 1-30 digits and what sits around numbers
// (separators, parentheses, "+", "+82", capitals that could start an IBAN,
// version words, hex words, double spaces), 1-12 pieces a text.
inline std::string number_mix_text(Lcg& r) {
  static const char* const kAround[] = {
      " ",       "-",     ".",    " ",     "-",     ".",     "+",     "(",    ")",        ":",
      "/",       "_",     "A",    "DE",    "E",     "x",     "a",     "f",    "Z",        "\n",
      ", ",      ". ",    "..",   "  ",    "--",    "+82 ",  "+1 ",   "님 ",  "version ", "v",
      "build: ", "card ", "ssn ", "IBAN ", "from ", "9E0B ", " 0A2F", "-rc1", "\"",       "'",
      "=",       "@",     "#",    "0x",    "GB",    "(0)",   "",      ""};
  std::string t;
  const int pieces = 1 + static_cast<int>(r.below(12));
  for (int k = 0; k < pieces; ++k) {
    switch (r.below(16)) {
      case 0:
        t += card(r, r.chance(50) ? ' ' : '-');
        break;
      case 1:
        t += ssn(r);
        break;
      case 2:
        t += ipv4(r);
        break;
      case 3:
        t += kr_mobile(r, r.chance(70) ? '-' : ' ');
        break;
      case 4:
        t += kr_landline(r);
        break;
      case 5:
        t += rrn(r, r.chance(70), r.chance(80));
        break;
      case 6:
        t += us_phone_e164(r);
        break;
      case 7:
        t += iban(r, r.chance(50));
        break;
      case 8:
        t += card(r, 0);
        break;
      default:
        t += r.pick(kAround);
        if (r.chance(70)) t += r.digits(1 + static_cast<int>(r.below(r.chance(80) ? 7 : 30)));
    }
    if (r.chance(40)) {
      static const char* const kJoin[] = {"x", "-", ".", "+", ":", " a "};
      t += r.chance(50) ? " " : r.pick(kJoin);
    }
  }
  return t;
}

inline std::string dense_corpus(std::size_t bytes, bool korean, std::uint64_t seed = 20261202) {
  Lcg r{seed};
  std::string out;
  out.reserve(bytes + 512);
  while (out.size() < bytes) out += dense_record(r, korean);
  return out;
}

}  // namespace bastion::bench
