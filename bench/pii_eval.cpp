// Labelled evaluation of the PII recognizers: precision and recall per type.
//
// A deterministic corpus (bench/pii_corpus.hpp generators, fixed seed) of
// short English and Korean texts, each holding at most one labelled value:
//   plain         a value as people write it, in a sentence;
//   evasion       the same value spelled to slip past a scanner (full-width
//                 characters, zero-width and bidi characters, soft hyphens,
//                 dash variants, foreign digits, decomposed Hangul, a space
//                 before the honorific);
//   number        the value as a JSON number (PiiScanner::scan_number, what
//                 the policy runs on numbers);
//   hard negative text that looks like a value and is not (version numbers,
//                 SSH remotes, words ending in 님/씨, Luhn-valid digits inside
//                 hashes, dates, prices, ids, values failing their checksum).
// A labelled value is found when the default scanner reports a finding of
// its type overlapping its bytes; every other finding is a false positive
// of the type it claims.
//
//   cmake --build build --target pii_eval && build/bench/pii_eval --out bench/results/pii.md
//
// --out rewrites the section between the pii_eval markers of that file;
// without it the tables go to stdout. Exits 1 when the corpus has fewer
// than 2,000 labelled values.
//
// Over 500 lines for a reason: most of it is the labelled corpus itself
// (the sentence frames, the evasions, some 160 lines of hard negatives),
// written as generators so every case is deterministic and reviewable in
// one place; the value generators it shares with pii_bench are in
// pii_corpus.hpp, and the evaluation proper is the last 200 lines.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "pii/scanner.hpp"
#include "pii_corpus.hpp"

namespace {

using bastion::bench::Lcg;
namespace gen = bastion::bench;

enum class Kind { kPlain, kEvasion, kNumber, kHardNegative };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kPlain:
      return "plain";
    case Kind::kEvasion:
      return "evasion";
    case Kind::kNumber:
      return "number";
    case Kind::kHardNegative:
      return "hard negative";
  }
  return "";
}

struct Sample {
  Kind kind;
  std::string type;  // the labelled type; for a hard negative, the type it imitates
  std::string what;  // the variant (e.g. "full-width digits"), for the tables
  bool english;      // language of the surrounding text
  std::string text;
  std::size_t b = 0, e = 0;  // the value's bytes in text (none for a hard negative)
  bool number = false;       // text is the digits of a JSON number (scan_number)
};

// --- UTF-8 helpers -----------------------------------------------------------

void put_utf8(std::string& s, char32_t c) {
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (c >> 18));
    s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::string u8(char32_t c) {
  std::string s;
  put_utf8(s, c);
  return s;
}

// Every printable ASCII character as its full-width form (U+FF01..U+FF5E).
std::string fullwidth(const std::string& v, bool digits_only) {
  std::string out;
  for (char ch : v) {
    const bool dig = ch >= '0' && ch <= '9';
    if ((dig || (!digits_only && ch > ' ' && ch < 0x7F)))
      put_utf8(out, static_cast<char32_t>(ch) + 0xFEE0);
    else
      out += ch;
  }
  return out;
}

// Digits as Arabic-Indic (U+0660..) or Devanagari (U+0966..) digits.
std::string foreign_digits(const std::string& v, char32_t zero) {
  std::string out;
  for (char ch : v) {
    if (ch >= '0' && ch <= '9')
      put_utf8(out, zero + static_cast<char32_t>(ch - '0'));
    else
      out += ch;
  }
  return out;
}

std::string replace_all(std::string v, char from, const std::string& to) {
  std::string out;
  for (char ch : v) {
    if (ch == from)
      out += to;
    else
      out += ch;
  }
  return out;
}

// `ins` put between characters (UTF-8 boundaries) at `count` random places.
std::string insert_invisible(Lcg& r, const std::string& v, const std::string& ins, int count) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < v.size(); ++i)
    if ((static_cast<unsigned char>(v[i]) & 0xC0) != 0x80) cuts.push_back(i);
  if (cuts.empty()) return v;
  std::vector<std::size_t> at;
  for (int k = 0; k < count; ++k)
    at.push_back(cuts[r.below(static_cast<std::uint32_t>(cuts.size()))]);
  std::sort(at.begin(), at.end());
  at.erase(std::unique(at.begin(), at.end()), at.end());
  std::string out;
  std::size_t prev = 0;
  for (std::size_t c : at) {
    out.append(v, prev, c - prev);
    out += ins;
    prev = c;
  }
  out.append(v, prev);
  return out;
}

// Hangul syllables decomposed into conjoining jamo (NFD).
std::string decompose_hangul(const std::string& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size();) {
    const auto b0 = static_cast<unsigned char>(v[i]);
    if (b0 >= 0xE0 && b0 < 0xF0 && i + 2 < v.size()) {
      const char32_t c = ((b0 & 0x0F) << 12) |
                         ((static_cast<unsigned char>(v[i + 1]) & 0x3F) << 6) |
                         (static_cast<unsigned char>(v[i + 2]) & 0x3F);
      if (c >= 0xAC00 && c <= 0xD7A3) {
        const char32_t s = c - 0xAC00;
        put_utf8(out, 0x1100 + s / (21 * 28));
        put_utf8(out, 0x1161 + (s % (21 * 28)) / 28);
        if (s % 28) put_utf8(out, 0x11A7 + s % 28);
        i += 3;
        continue;
      }
    }
    out += v[i++];
  }
  return out;
}

// --- sentences -----------------------------------------------------------------

struct Frame {
  const char* before;
  const char* after;
};

const Frame kEnFrames[] = {
    {"Please contact ", " before Friday."},
    {"Customer record: ", " (verified)."},
    {"The form lists ", " as the primary value."},
    {"From the support ticket: \"", "\" was given by the caller."},
    {"", " is what we have on file"},
    {"Updated: ", "; previous value removed."},
    {"note - ", ", call back after 5pm"},
    {"{\"value\": \"", "\", \"source\": \"crm\"}"},
};
const Frame kKoFrames[] = {
    {"고객 정보: ", " 확인 완료."},
    {"연락처는 ", "입니다."},
    {"상담 메모 - ", " 로 회신 요청"},
    {"", " (본인 확인됨)"},
    {"변경된 값: ", ", 이전 값은 삭제했습니다."},
    {"문의하신 내용 중 ", " 부분을 확인했습니다."},
    {"{\"값\": \"", "\", \"출처\": \"상담\"}"},
};

// Korean names go into sentences of their own: the honorific follows.
const Frame kNameFrames[] = {
    {"", "님 안녕하세요."},
    {"담당자 ", " 씨에게 전달했습니다."},
    {"어제 ", "씨가 방문했습니다."},
    {"", "님께서 주문하신 상품이 발송되었습니다."},
    {"상담원: ", "님, 확인 부탁드립니다."},
    {"Dear ", "님, your order shipped."},
    {"배송지 수령인 ", " 님"},
};

Sample embed(Lcg& r, Kind kind, std::string type, std::string what, const std::string& value,
             bool english) {
  Sample s{kind, std::move(type), std::move(what), english, {}, 0, 0};
  const Frame& f = english ? r.pick(kEnFrames) : r.pick(kKoFrames);
  s.text = f.before;
  s.b = s.text.size();
  s.text += value;
  s.e = s.text.size();
  s.text += f.after;
  return s;
}

Sample negative(Kind kind, std::string type, std::string what, std::string text, bool english) {
  return Sample{kind, std::move(type), std::move(what), english, std::move(text), 0, 0};
}

// --- the corpus ------------------------------------------------------------------

std::string value_of(Lcg& r, const std::string& type, bool english) {
  if (type == "email") return gen::email(r);
  if (type == "phone") {
    if (english)
      return r.chance(50) ? gen::us_phone_e164(r) : "+82 10-" + r.digits(4) + "-" + r.digits(4);
    switch (r.below(4)) {
      case 0:
        return gen::kr_landline(r);
      case 1:
        return gen::kr_mobile(r, 0);
      default:
        return gen::kr_mobile(r);
    }
  }
  if (type == "rrn") return gen::rrn(r, true, r.chance(85));
  if (type == "credit_card") {
    switch (r.below(3)) {
      case 0:
        return gen::card(r, ' ');
      case 1:
        return gen::card(r, '-');
      default:
        return gen::card(r, 0);
    }
  }
  if (type == "ssn") return gen::ssn(r);
  if (type == "ipv4") return gen::ipv4(r);
  if (type == "ipv6") return gen::ipv6(r);
  if (type == "iban") return gen::iban(r, r.chance(50));
  if (type == "aws_access_key") return gen::aws_key(r);
  return {};
}

const char* const kTypes[] = {"email", "phone", "rrn",  "credit_card",    "ssn",
                              "ipv4",  "ipv6",  "iban", "aws_access_key", "korean_name"};

void plain(Lcg& r, std::vector<Sample>& out) {
  for (const char* t : kTypes) {
    const std::string type = t;
    for (int i = 0; i < 150; ++i) {
      const bool english = i % 2 == 0;
      if (type == "korean_name") {
        Sample s{Kind::kPlain, type, "name + 님/씨", english, {}, 0, 0};
        const Frame& f = r.pick(kNameFrames);
        const std::string name = gen::korean_name(r);
        s.text = f.before;
        s.b = s.text.size();
        s.text += name;
        s.e = s.text.size();
        s.text += f.after;
        out.push_back(std::move(s));
        continue;
      }
      // RRNs and Korean numbers read the same in an English sentence.
      out.push_back(
          embed(r, Kind::kPlain, type, "as written", value_of(r, type, english), english));
    }
  }
}

void evasions(Lcg& r, std::vector<Sample>& out) {
  const std::string zwsp = u8(0x200B), shy = u8(0x00AD), zwj = u8(0x200D), wj = u8(0x2060);
  const std::string lri = u8(0x2066), pdi = u8(0x2069), rlo = u8(0x202E), pdf = u8(0x202C);
  struct Dash {
    const char* name;
    char32_t c;
  };
  const Dash kDashes[] = {{"en dash", 0x2013},       {"em dash", 0x2014},
                          {"minus sign", 0x2212},    {"full-width hyphen", 0xFF0D},
                          {"hyphen U+2010", 0x2010}, {"small hyphen", 0xFE63}};
  for (int i = 0; i < 40; ++i) {
    const bool en = i % 2 == 0;
    // Numbers written with dashes: phone (mobile), RRN, SSN, card.
    for (const char* t : {"phone", "rrn", "ssn", "credit_card"}) {
      std::string v = std::string(t) == "phone" ? gen::kr_mobile(r)
                      : std::string(t) == "rrn" ? gen::rrn(r)
                      : std::string(t) == "ssn" ? gen::ssn(r)
                                                : gen::card(r, '-');
      const Dash& d = r.pick(kDashes);
      out.push_back(embed(r, Kind::kEvasion, t, d.name, replace_all(v, '-', u8(d.c)), en));
      out.push_back(
          embed(r, Kind::kEvasion, t, "full-width digits and dashes", fullwidth(v, false), en));
      out.push_back(embed(r, Kind::kEvasion, t, "zero-width spaces",
                          insert_invisible(r, v, r.chance(50) ? zwsp : wj, 3), en));
      out.push_back(
          embed(r, Kind::kEvasion, t, "soft hyphens", insert_invisible(r, v, shy, 2), en));
      out.push_back(embed(
          r, Kind::kEvasion, t, "bidi controls",
          r.chance(50) ? rlo + v + pdf : insert_invisible(r, v, r.chance(50) ? lri : pdi, 2), en));
      out.push_back(embed(r, Kind::kEvasion, t, i % 2 ? "Arabic-Indic digits" : "Devanagari digits",
                          foreign_digits(v, i % 2 ? 0x0660 : 0x0966), en));
    }
    // Cards with no-break spaces between the groups.
    out.push_back(embed(r, Kind::kEvasion, "credit_card", "no-break spaces",
                        replace_all(gen::card(r, ' '), ' ', u8(0x00A0)), en));
    // Emails: full-width @, all full-width, invisible characters.
    {
      std::string v = gen::email(r);
      out.push_back(
          embed(r, Kind::kEvasion, "email", "full-width @", replace_all(v, '@', u8(0xFF20)), en));
      out.push_back(embed(r, Kind::kEvasion, "email", "all full-width", fullwidth(v, false), en));
      out.push_back(embed(r, Kind::kEvasion, "email", "zero-width characters",
                          insert_invisible(r, v, r.chance(50) ? zwsp : zwj, 3), en));
      out.push_back(
          embed(r, Kind::kEvasion, "email", "soft hyphens", insert_invisible(r, v, shy, 2), en));
    }
    // IPv4 in full-width digits and dots, with invisible characters.
    {
      std::string v = gen::ipv4(r);
      out.push_back(embed(r, Kind::kEvasion, "ipv4", "full-width", fullwidth(v, false), en));
      out.push_back(embed(r, Kind::kEvasion, "ipv4", "zero-width spaces",
                          insert_invisible(r, v, zwsp, 2), en));
    }
    // Korean names: a space or a no-break space before the honorific,
    // decomposed syllables, invisible characters inside.
    {
      const std::string name = gen::korean_name(r);
      const char* hon = r.chance(50) ? "씨" : "님";
      auto named = [&](std::string what, std::string shown, std::string after) {
        Sample s{Kind::kEvasion, "korean_name", std::move(what), en, "연락 주신 ", 0, 0};
        s.b = s.text.size();
        s.text += shown;
        s.e = s.text.size();
        s.text += after + "께 답변드립니다.";
        out.push_back(std::move(s));
      };
      named("space before the honorific", name, std::string(" ") + hon);
      named("no-break space before the honorific", name, u8(0x00A0) + hon);
      named("decomposed Hangul", decompose_hangul(name), hon);
      named("zero-width space inside", insert_invisible(r, name, zwsp, 1), hon);
    }
  }
}

// Other ways people write the same values (plain texts, listed apart so the
// tables show each form).
void formats(Lcg& r, std::vector<Sample>& out) {
  static const char* const kRoles[] = {"고객님", "과장님", "선생님", "회원님", "팀장님"};
  for (int i = 0; i < 20; ++i) {
    const bool en = i % 2 == 0;
    auto add = [&](const char* type, const char* what, const std::string& v) {
      out.push_back(embed(r, Kind::kPlain, type, what, v, en));
    };
    add("phone", "(02) 123-4567", "(02) " + std::to_string(200 + r.below(800)) + "-" + r.digits(4));
    add("phone", "(031) 123-4567",
        "(031) " + std::to_string(200 + r.below(800)) + "-" + r.digits(4));
    add("phone", "US national (212) 555-0123",
        "(" + std::to_string(201 + r.below(700)) + ") 555-01" + r.digits(2));
    add("phone", "US national 212-555-0123",
        std::to_string(201 + r.below(700)) + "-555-01" + r.digits(2));
    add("phone", "010 1234 5678", gen::kr_mobile(r, ' '));
    add("phone", "010.1234.5678", gen::kr_mobile(r, '.'));
    add("phone", "+82-10-1234-5678", "+82-10-" + r.digits(4) + "-" + r.digits(4));
    add("phone", "+82 (0)10 1234 5678", "+82 (0)10 " + r.digits(4) + " " + r.digits(4));
    add("rrn", "space instead of the dash", [&] {
      std::string v = gen::rrn(r);
      v[6] = ' ';
      return v;
    }());
    add("ipv6", "link-local with zone", "fe80::" + std::to_string(1 + r.below(9)) + "%eth0");
    add("ipv6", "IPv4-mapped", "::ffff:192.0.2." + std::to_string(1 + r.below(254)));
    add("ipv6", "full form",
        "2001:0db8:85a3:0000:0000:8a2e:0370:" + std::to_string(1000 + r.below(9000)));
    add("email", "upper case and a tag",
        "KIM.Chulsoo+tag" + std::to_string(r.below(100)) + "@Example.CO.KR");
    add("credit_card", "amex 4-6-5", [&] {
      std::string d;
      do d = gen::card_digits(r);
      while (d.size() != 15);
      return d.substr(0, 4) + " " + d.substr(4, 6) + " " + d.substr(10);
    }());
    auto named = [&](const char* what, const std::string& before, const std::string& name,
                     const std::string& after) {
      Sample s{Kind::kPlain, "korean_name", what, en, before, 0, 0};
      s.b = s.text.size();
      s.text += name;
      s.e = s.text.size();
      s.text += after;
      out.push_back(std::move(s));
    };
    const std::string name = gen::korean_name(r);
    named("name, then a role with 님", "", name,
          std::string(" ") + r.pick(kRoles) + " 확인 부탁드립니다.");
    named("space between surname and given name", "담당 ",
          std::string(r.pick(gen::kSurnames)) + " " + r.pick(gen::kGiven), " 씨에게 전달");
    named("labelled field, no honorific", "성명: ", name, ", 생년월일 1990-01-01");
    named("in running text, no honorific", "오늘 ", name, "이(가) 방문했습니다.");
  }
}

// What a number type leaves of a value: JSON numbers (scan_number).
void numbers(Lcg& r, std::vector<Sample>& out) {
  auto digits_only = [](const std::string& v) {
    std::string d;
    for (char ch : v)
      if (ch >= '0' && ch <= '9') d += ch;
    return d;
  };
  auto num = [&](std::string type, std::string what, std::string digits) {
    Sample s{Kind::kNumber, std::move(type), std::move(what), true, std::move(digits), 0, 0};
    s.e = s.text.size();
    s.number = true;
    out.push_back(std::move(s));
  };
  for (int i = 0; i < 40; ++i) {
    num("rrn", "13 digits", digits_only(gen::rrn(r)));
    num("credit_card", "card digits", gen::card_digits(r));
    num("phone", "mobile without its 0", gen::kr_mobile(r, 0).substr(1));
    num("phone", "+82 without the +", "82" + gen::kr_mobile(r, 0).substr(1));
    // Born 2000-2009: the RRN starts with 0, which a number drops.
    {
      char buf[16];
      std::snprintf(buf, sizeof buf, "0%d%02d%02d%c", static_cast<int>(r.below(10)),
                    1 + static_cast<int>(r.below(12)), 1 + static_cast<int>(r.below(28)),
                    static_cast<char>('3' + r.below(2)));
      std::string d = std::string(buf) + r.digits(5);
      static const int kW[] = {2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5};
      int sum = 0;
      for (int k = 0; k < 12; ++k) sum += (d[k] - '0') * kW[k];
      d += static_cast<char>('0' + (11 - sum % 11) % 10);
      num("rrn", "born 2000-09, leading 0 dropped", d.substr(1));
    }
  }
}

void hard_negatives(Lcg& r, std::vector<Sample>& out) {
  auto neg = [&](std::string type, std::string what, std::string text, bool en) {
    out.push_back(
        negative(Kind::kHardNegative, std::move(type), std::move(what), std::move(text), en));
  };
  auto octet = [&] { return std::to_string(r.below(256)); };
  static const char* const kHex = "0123456789abcdef";
  auto hex = [&](int n) {
    std::string s;
    for (int k = 0; k < n; ++k) s += kHex[r.below(16)];
    return s;
  };
  static const char* const kVersionWords[] = {"version", "Version:", "ver",    "v",    "build",
                                              "release", "firmware", "kernel", "버전", "빌드"};
  // Roles and kin terms that begin with a surname syllable (한의사, 정비사,
  // 장관, 조교, 이모, 고모...).
  static const char* const kRoleWords[] = {
      "한의사님", "정비사님", "장관님", "조교님", "원장님",   "강사님",   "신부님",   "주임님",
      "간호사님", "이모님",   "고모님", "기사님", "정원사님", "조리사님", "조카님",   "임원님",
      "전무님",   "상무님",   "차장님", "권사님", "장로님",   "전도사님", "안내원님", "배달원님"};
  static const char* const kNameWords[] = {"김치찌개님",
                                           "민원씨",
                                           "고객님",
                                           "선생님",
                                           "사장님",
                                           "손님",
                                           "아저씨",
                                           "아가씨",
                                           "솜씨",
                                           "마음씨",
                                           "말씨",
                                           "날씨",
                                           "맵씨",
                                           "글씨",
                                           "교수님",
                                           "부장님",
                                           "이사님",
                                           "과장님",
                                           "박사님",
                                           "회장님",
                                           "형님",
                                           "누님",
                                           "하느님",
                                           "임금님",
                                           "장미 씨",
                                           "호박씨",
                                           "김장씨앗",
                                           "이번 장사씨름",
                                           "정말 감사합니다 고객 님"};
  static const char* const kRepos[] = {"org/repo", "team/app", "bastion/bastion", "kim/dotfiles"};
  static const char* const kHosts[] = {"github.com", "gitlab.example.com", "bitbucket.org",
                                       "git.example.co.kr"};
  for (int i = 0; i < 30; ++i) {
    const bool en = i % 2 == 0;
    // IPv4 look-alikes: version numbers, dotted values that are no address.
    const std::string dotted =
        std::to_string(r.below(20)) + "." + octet() + "." + octet() + "." + octet();
    neg("ipv4", "version word", std::string("upgraded to ") + r.pick(kVersionWords) + " " + dotted,
        en);
    neg("ipv4", "snake_case version key", "app_version=" + dotted, en);
    neg("ipv4", "octet above 255",
        "value " + std::to_string(256 + r.below(700)) + "." + octet() + "." + octet() + "." +
            octet(),
        en);
    neg("ipv4", "semantic version",
        "npm i pkg@" + std::to_string(r.below(20)) + "." + std::to_string(r.below(40)) + "." +
            std::to_string(r.below(40)),
        en);
    neg("ipv4", "section number",
        "see section " + std::to_string(1 + r.below(9)) + "." + std::to_string(1 + r.below(9)) +
            "." + std::to_string(1 + r.below(9)),
        en);
    // Email look-alikes.
    neg("email", "SSH remote",
        std::string("git clone git@") + r.pick(kHosts) + ":" + r.pick(kRepos) + ".git", en);
    neg("email", "scoped package", "npm i @types/node@" + std::to_string(18 + r.below(5)) + ".0.0",
        en);
    neg("email", "mention", "thanks @" + std::string(r.pick(gen::kFirstEn)) + " for the review",
        en);
    neg("email", "decorator", "@Override public String toString()", en);
    neg("email", "no domain", std::string(r.pick(gen::kFirstEn)) + "@localhost", en);
    // Names: words ending in 님/씨 that are no name.
    neg("korean_name", "word ending in 님/씨",
        std::string(r.pick(kNameWords)) + " 오늘 날씨가 좋네요", false);
    neg("korean_name", "word with 님/씨 before 께서",
        std::string(r.pick(kNameWords)) + "께서 말씀하셨습니다", false);
    neg("korean_name", "role starting with a surname syllable",
        std::string(r.pick(kRoleWords)) + "께 전화드렸습니다", false);
    // Cards: Luhn-valid digits inside hashes, Luhn-invalid runs, ids.
    {
      std::string card = gen::card_digits(r);
      neg("credit_card", "Luhn-valid run inside a hex hash", "sha256 " + hex(8) + card + hex(8),
          en);
      neg("credit_card", "Luhn-valid run between hash parts",
          "commit " + hex(8) + " " + card + " " + hex(8), en);
      std::string bad = card;
      bad.back() = static_cast<char>('0' + (bad.back() - '0' + 1 + r.below(9)) % 10);
      neg("credit_card", "Luhn check fails",
          "card " + bad.substr(0, 4) + " " + bad.substr(4, 4) + " " + bad.substr(8, 4) + " " +
              bad.substr(12),
          en);
      neg("credit_card", "UUID",
          "request id " + hex(8) + "-" + hex(4) + "-4" + hex(3) + "-a" + hex(3) + "-" + hex(12),
          en);
    }
    // RRNs with an impossible date; numbers of the same length that are ids.
    {
      std::string d = gen::rrn(r);
      d[2] = '1';
      d[3] = static_cast<char>('3' + r.below(7));  // month 13..19
      neg("rrn", "month 13-19", "번호 " + d, false);
      neg("rrn", "order number with a dash",
          "order no. 2026" + std::to_string(1000 + r.below(9000)) + "-" + r.digits(7), en);
    }
    // Phones: dates, times, prices, counts, short or malformed numbers.
    neg("phone", "ISO date",
        "due 2026-" + std::to_string(10 + r.below(3)) + "-" + std::to_string(10 + r.below(18)), en);
    neg("phone", "time of day",
        "meeting at 1" + std::to_string(r.below(10)) + ":" + std::to_string(10 + r.below(50)) +
            ":" + std::to_string(10 + r.below(50)),
        en);
    neg("phone", "price in won",
        "합계 " + std::to_string(1 + r.below(999)) + "," + r.digits(3) + "," + r.digits(3) + "원",
        false);
    neg("phone", "too few digits", "내선 010-" + r.digits(2) + "-" + r.digits(2), false);
    neg("phone", "Unix time", "created_at: 17" + r.digits(8), en);
    neg("phone", "ISBN", "ISBN 978-89-" + r.digits(4) + "-" + r.digits(3) + "-" + r.digits(1), en);
    // SSNs in ranges never issued.
    neg("ssn", "area 000, 666 or 9xx",
        std::string(r.chance(33)   ? "000"
                    : r.chance(50) ? "666"
                                   : "9" + r.digits(2)) +
            "-" + r.digits(2) + "-" + r.digits(4),
        en);
    neg("ssn", "group 00", "ssn " + std::to_string(100 + r.below(500)) + "-00-" + r.digits(4), en);
    // IBAN-shaped text with a bad check.
    {
      std::string v = gen::iban(r, false);
      v[2] = static_cast<char>('0' + (v[2] - '0' + 1) % 10);
      neg("iban", "mod-97 check fails", "IBAN " + v, en);
    }
    // IPv6 look-alikes: MAC addresses, times, C++ scopes.
    neg("ipv6", "MAC address",
        "hw " + hex(2) + ":" + hex(2) + ":" + hex(2) + ":" + hex(2) + ":" + hex(2) + ":" + hex(2),
        en);
    neg("ipv6", "C++ scope", "std::vector<int>::iterator", en);
    // AWS look-alikes: the prefix in a longer word, lower case.
    neg("aws_access_key", "prefix inside a word", "XAKIA" + std::string(16, 'B') + "Q", en);
    neg("aws_access_key", "lower case", "akia" + std::string("abcdefghijklmnop"), en);
  }
  // Numbers that are no PII (scan_number).
  for (int i = 0; i < 40; ++i) {
    auto num = [&](std::string type, std::string what, std::string digits) {
      out.push_back(
          negative(Kind::kHardNegative, std::move(type), std::move(what), std::move(digits), true));
      out.back().what = "number: " + out.back().what;
      out.back().number = true;
    };
    num("phone", "Unix time", "17" + r.digits(8));
    num("phone", "count", std::to_string(1 + r.below(9999999)));
    num("rrn", "12 digits, checksum not valid", "1" + r.digits(10) + "0");
    num("credit_card", "millisecond time", "17" + r.digits(11));
  }
}

// --- evaluation -------------------------------------------------------------------------

struct Tally {
  int labelled = 0, found = 0, exact = 0, fp = 0, negatives = 0, neg_fp = 0;
};

struct Miss {
  std::string type, what, text, got;
};

std::string escape_md(std::string s) {
  std::string out;
  for (char ch : s) {
    if (ch == '|')
      out += "\\|";
    else if (ch == '\n')
      out += ' ';
    else
      out += ch;
  }
  return out;
}

// Invisible and bidi characters made visible in the tables.
std::string visible(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t len = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
    char32_t c = 0;
    if (len == 1) c = b0;
    if (len == 2 && i + 1 < s.size()) c = ((b0 & 0x1F) << 6) | (s[i + 1] & 0x3F);
    if (len == 3 && i + 2 < s.size())
      c = ((b0 & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
    if (c == 0xAD || (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
        (c >= 0x2060 && c <= 0x2069) || c == 0xFEFF || c == 0xA0) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "<U+%04X>", static_cast<unsigned>(c));
      out += buf;
    } else {
      out.append(s, i, len);
    }
    i += len;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) {
      out_path = argv[++i];
    } else {
      std::cerr << "usage: pii_eval [--out bench/results/pii.md]\n";
      return 2;
    }
  }
  Lcg r{20261202};
  std::vector<Sample> corpus;
  plain(r, corpus);
  formats(r, corpus);
  evasions(r, corpus);
  numbers(r, corpus);
  hard_negatives(r, corpus);

  const bastion::pii::PiiScanner scanner;
  std::map<std::string, Tally> by_type;
  std::map<std::pair<std::string, std::string>, std::pair<int, int>>
      by_variant;  // kind/what -> (n, ok)
  std::map<std::string, std::pair<int, int>> by_kind;
  std::vector<Miss> misses;
  int labelled = 0, negatives = 0, english = 0, korean = 0;
  for (const Sample& s : corpus) {
    std::vector<bastion::pii::Finding> f;
    if (s.number) {
      if (auto x = scanner.scan_number(s.text)) f.push_back(*x);
    } else {
      f = scanner.scan(s.text);
    }
    (s.english ? english : korean)++;
    bool ok;
    std::string got;
    for (const auto& x : f) got += (got.empty() ? "" : ", ") + std::string(x.type);
    if (s.kind == Kind::kHardNegative) {
      ++negatives;
      Tally& t = by_type[s.type];
      ++t.negatives;
      ok = f.empty();
      if (!ok) ++t.neg_fp;
      for (const auto& x : f) ++by_type[std::string(x.type)].fp;
    } else {
      ++labelled;
      Tally& t = by_type[s.type];
      ++t.labelled;
      bool hit = false, exact = false;
      for (const auto& x : f) {
        const bool overlaps = x.begin < s.e && s.b < x.end;
        if (x.type == s.type && overlaps && !hit) {
          hit = true;
          exact = x.begin == s.b && x.end == s.e;
        } else {
          ++by_type[std::string(x.type)].fp;
        }
      }
      if (hit) ++t.found;
      if (exact) ++t.exact;
      ok = hit;
    }
    auto& v = by_variant[{kind_name(s.kind), s.type + ": " + s.what}];
    ++v.first;
    v.second += ok;
    auto& k = by_kind[kind_name(s.kind)];
    ++k.first;
    k.second += ok;
    if (!ok) misses.push_back({s.type, s.what, s.text, got.empty() ? "nothing" : got});
  }

  std::ostringstream md;
  md << "## Evaluation: precision and recall per type\n\n"
     << "`bench/pii_eval.cpp`, deterministic corpus (fixed seed, synthetic values only), default\n"
     << "recognizers and `min_confidence` 0.5, the way the policy runs them (`scan` on strings,\n"
     << "`scan_number` on JSON numbers):\n\n"
     << "```\ncmake --build build --target pii_eval && build/bench/pii_eval --out "
        "bench/results/pii.md\n```\n\n"
     << corpus.size() << " texts (" << english << " English, " << korean << " Korean): " << labelled
     << " labelled values (plain, evasions, JSON numbers) and " << negatives
     << " hard negatives. A value counts as found when a finding of its type overlaps it; any\n"
     << "other finding is a false positive of the type it claims (precision = found / (found +\n"
     << "false positives)). \"Exact\" is how many found values had exactly the labelled bytes.\n\n"
     << "| Type | Labelled | Found | Recall | Exact span | False positives | Precision | Hard "
        "negatives (reported) |\n"
     << "|---|---|---|---|---|---|---|---|\n";
  char buf[256];
  Tally all;
  for (const auto& [type, t] : by_type) {
    const int tp = t.found;
    std::snprintf(buf, sizeof buf, "| %s | %d | %d | %.1f%% | %d | %d | %.1f%% | %d (%d) |\n",
                  type.c_str(), t.labelled, tp, t.labelled ? 100.0 * tp / t.labelled : 100.0,
                  t.exact, t.fp, tp + t.fp ? 100.0 * tp / (tp + t.fp) : 100.0, t.negatives,
                  t.neg_fp);
    md << buf;
    all.labelled += t.labelled;
    all.found += t.found;
    all.exact += t.exact;
    all.fp += t.fp;
    all.negatives += t.negatives;
    all.neg_fp += t.neg_fp;
  }
  std::snprintf(buf, sizeof buf, "| **all** | %d | %d | %.1f%% | %d | %d | %.1f%% | %d (%d) |\n\n",
                all.labelled, all.found, 100.0 * all.found / std::max(all.labelled, 1), all.exact,
                all.fp, 100.0 * all.found / std::max(all.found + all.fp, 1), all.negatives,
                all.neg_fp);
  md << buf;
  md << "Not independent of fixes: the first run of this corpus showed parenthesised area codes\n"
     << "missed, professions such as 한의사님 reported as names and phones reported inside\n"
     << "card-shaped numbers that fail Luhn; the recognizers were then fixed (a longer list of\n"
     << "roles among `name_stop_words`, parentheses, card-shaped tokens), so those variants now\n"
     << "measure the fixes rather than estimate unseen text (first run: phone recall 84.1%,\n"
     << "korean_name precision 98.1%, card hard negatives 3 reported).\n\n";
  md << "By kind of text (for hard negatives, \"correct\" means nothing was reported):\n\n"
     << "| Kind | Texts | Correct |\n|---|---|---|\n";
  for (const auto& [kind, v] : by_kind)
    md << "| " << kind << " | " << v.first << " | " << v.second << " |\n";
  md << "\n<details><summary>Per variant</summary>\n\n| Kind | Type: variant | Texts | Correct "
        "|\n|---|---|---|---|\n";
  for (const auto& [key, v] : by_variant)
    md << "| " << key.first << " | " << escape_md(key.second) << " | " << v.first << " | "
       << v.second << " |\n";
  md << "\n</details>\n\n";
  if (misses.empty()) {
    md << "No misses and no false positives on this corpus.\n";
  } else {
    md << "Misses and false positives (" << misses.size()
       << "; the first 3 per type and variant):\n\n"
       << "| Type | Variant | Text | Reported |\n|---|---|---|---|\n";
    std::map<std::string, int> shown;
    for (const Miss& m : misses) {
      if (++shown[m.type + m.what] > 3) continue;
      md << "| " << m.type << " | " << escape_md(m.what) << " | `" << escape_md(visible(m.text))
         << "` | " << m.got << " |\n";
    }
  }
  const std::string section = md.str();
  if (out_path.empty()) {
    std::cout << section;
  } else {
    std::ifstream in(out_path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string doc = ss.str();
    const std::string begin = "<!-- pii_eval:begin -->\n", end = "<!-- pii_eval:end -->\n";
    const auto b = doc.find(begin), e = doc.find(end);
    const std::string block = begin + section + end;
    if (b == std::string::npos || e == std::string::npos || e < b)
      doc += "\n" + block;
    else
      doc.replace(b, e + end.size() - b, block);
    std::ofstream o(out_path, std::ios::trunc);
    o << doc;
    if (!o) {
      std::cerr << "pii_eval: cannot write " << out_path << "\n";
      return 1;
    }
    std::cout << section;
  }
  if (labelled + negatives < 2000) {
    std::cerr << "pii_eval: only " << labelled + negatives << " labelled texts (want >= 2000)\n";
    return 1;
  }
  return 0;
}
