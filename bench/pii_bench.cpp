// PII scanner throughput on a generated mixed Korean/English corpus, and the
// latency the PII filter adds to a tools/call response.
//
// The corpus is deterministic (fixed LCG seed): paragraphs of ordinary
// English and Korean prose (including everyday words that end in 님/씨 and
// numbers such as years, prices and times) with one PII value (email, Korean
// mobile, RRN, card, name+님, IPv4, AWS key, ...) roughly every 4 KB.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "pii/filter.hpp"
#include "pii/scanner.hpp"
#include "pii_corpus.hpp"

namespace {

using bastion::pii::PiiScanner;

struct Lcg {
  std::uint64_t s;
  std::uint32_t next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(s >> 33);
  }
  template <class T, std::size_t N>
  const T& pick(const T (&a)[N]) {
    return a[next() % N];
  }
};

const char* const kEnglish[] = {
    "the",       "gateway",     "forwards", "each",          "request",  "to",       "an",
    "upstream",  "server",      "and",      "returns",       "its",      "result",   "while",
    "policies",  "decide",      "what",     "may",           "leave",    "the",      "network",
    "customers", "asked",       "about",    "delivery",      "times",    "for",      "their",
    "orders",    "we",          "reviewed", "quarterly",     "report",   "with",     "team",
    "on",        "Monday",      "morning",  "after",         "lunch",    "please",   "find",
    "attached",  "summary",     "of",       "changes",       "in",       "release",  "notes",
    "version",   "performance", "improved", "significantly", "compared", "previous", "build",
    "meeting",   "room",        "is",       "booked",        "until",    "noon",     "tomorrow",
    "weather",   "looks",       "fine",     "support",       "ticket",   "was",      "closed",
    "by",        "engineer",    "who",      "fixed",         "the",      "issue",
};
// Everyday Korean; three words carry 님/씨 (고객님께서, 선생님께, 날씨가), as
// customer-service prose does, so the name validator runs and says no.
const char* const kKorean[] = {
    "오늘",           "날씨가",
    "맑고",           "고객님께서",
    "문의하신",       "주문은",
    "내일",           "배송될",
    "예정입니다",     "회의는",
    "오후",           "세시에",
    "시작합니다",     "선생님께",
    "설명을",         "아주",
    "친절하게",       "들었습니다",
    "요리가",         "맛있어서",
    "모두",           "만족했습니다",
    "서버",           "응답",
    "시간이",         "빨라졌고",
    "보고서를",       "검토한",
    "결과",           "문제가",
    "없었습니다",     "감사합니다",
    "참석하셨습니다", "새로운",
    "기능을",         "추가했습니다",
    "데이터",         "처리",
    "속도가",         "개선되었습니다",
    "이웃이",         "도와주었습니다",
    "다음",           "주에",
    "다시",           "연락드리겠습니다",
    "프로젝트",       "일정이",
    "조금",           "늦어졌지만",
    "품질은",         "좋습니다",
    "사용자",         "경험을",
    "개선하기",       "위해",
    "화면",           "구성을",
    "바꾸었습니다",   "설정",
    "파일을",         "확인해",
    "주세요",         "로그에",
    "오류가",         "기록되지",
    "않았습니다",     "배포는",
    "금요일",         "저녁에",
    "진행합니다",     "테스트",
    "환경에서",       "먼저",
    "검증합니다",     "요청이",
    "많아지면",       "자동으로",
    "확장됩니다",     "보안",
    "정책에",         "따라",
    "접근이",         "제한됩니다",
    "계약서",         "검토를",
    "요청드립니다",   "회사",
    "근처에",         "새",
    "식당이",         "생겼습니다",
    "점심",           "메뉴는",
    "김치찌개와",     "비빔밥입니다",
    "지난",           "분기",
    "매출이",         "크게",
    "늘었습니다",     "직원",
    "교육은",         "온라인으로",
    "진행됩니다",     "문서를",
    "정리하고",       "공유하겠습니다",
    "질문이",         "있으면",
    "알려",           "주십시오",
};
const char* const kNumbers[] = {"2024", "3",  "15%",    "1,000원", "12:30",
                                "v2.1", "42", "2025년", "7일",     "100"};
const char* const kPii[] = {
    "hong.gildong@example.com",
    "010-2345-6789",
    "900101-1234568",
    "4111 1111 1111 1111",
    "김철수님",
    "192.168.10.24",
    "AKIAIOSFODNN7EXAMPLE",
    "+82 10-9876-5432",
    "jane.doe@mail.example.org",
    "박영희씨",
    "02-123-4567",
    "123-45-6789",
};

std::string make_corpus(std::size_t bytes) {
  Lcg r{20250101};
  std::string out;
  out.reserve(bytes + 256);
  std::size_t next_pii = 4096;
  while (out.size() < bytes) {
    const bool korean = r.next() % 2;
    int words = 40 + r.next() % 60;
    for (int w = 0; w < words; ++w) {
      if (r.next() % 25 == 0) {
        out += r.pick(kNumbers);
      } else {
        out += korean ? r.pick(kKorean) : r.pick(kEnglish);
      }
      if (out.size() >= next_pii) {
        out += ' ';
        out += r.pick(kPii);
        next_pii += 2048 + r.next() % 4096;
      }
      out += (w % 12 == 11) ? ". " : " ";
    }
    out += "\n\n";
  }
  return out;
}

const std::string& corpus() {
  static const std::string c = make_corpus(16u << 20);
  return c;
}

const PiiScanner& scanner() {
  static const PiiScanner s;
  return s;
}

void BM_ScanCorpus(benchmark::State& state) {
  const std::string& c = corpus();
  std::size_t found = 0;
  for (auto _ : state) {
    auto f = scanner().scan(c);
    found = f.size();
    benchmark::DoNotOptimize(f.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * c.size());
  state.counters["findings"] = static_cast<double>(found);
}
BENCHMARK(BM_ScanCorpus)->Unit(benchmark::kMillisecond);

// PII-dense corpora (bench/pii_corpus.hpp): synthetic customer records, a
// value every few dozen bytes, English and Korean.
const std::string& dense(bool korean) {
  static const std::string en = bastion::bench::dense_corpus(16u << 20, false);
  static const std::string ko = bastion::bench::dense_corpus(16u << 20, true);
  return korean ? ko : en;
}

// The default recognizers and validators; the findings cap (100,000 per
// scan by default) raised so that a 16 MiB dense scan examines everything.
const PiiScanner& dense_scanner() {
  static const PiiScanner s(bastion::pii::default_patterns(),
                            bastion::pii::ScannerLimits{std::size_t{1} << 26, 0.5});
  return s;
}

void scan_dense(benchmark::State& state, bool korean) {
  const std::string& c = dense(korean);
  std::size_t found = 0;
  for (auto _ : state) {
    auto f = dense_scanner().scan(c);
    found = f.size();
    benchmark::DoNotOptimize(f.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * c.size());
  state.counters["findings"] = static_cast<double>(found);
  state.counters["bytes_per_finding"] =
      static_cast<double>(c.size()) / std::max<std::size_t>(found, 1);
}
void BM_ScanDenseEnglish(benchmark::State& s) { scan_dense(s, false); }
void BM_ScanDenseKorean(benchmark::State& s) { scan_dense(s, true); }
BENCHMARK(BM_ScanDenseEnglish)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScanDenseKorean)->Unit(benchmark::kMillisecond);

// The same as the 4 KB strings of tool results.
void scan_dense_4k(benchmark::State& state, bool korean) {
  const std::string& c = dense(korean);
  for (auto _ : state) {
    for (std::size_t off = 0; off < c.size(); off += 4096) {
      auto f = scanner().scan(std::string_view(c).substr(off, 4096));
      benchmark::DoNotOptimize(f.data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * c.size());
}
void BM_ScanDenseEnglish4K(benchmark::State& s) { scan_dense_4k(s, false); }
void BM_ScanDenseKorean4K(benchmark::State& s) { scan_dense_4k(s, true); }
BENCHMARK(BM_ScanDenseEnglish4K)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScanDenseKorean4K)->Unit(benchmark::kMillisecond);

// The same corpus as the 4 KB strings a tool result carries.
void BM_ScanCorpus4K(benchmark::State& state) {
  const std::string& c = corpus();
  for (auto _ : state) {
    for (std::size_t off = 0; off < c.size(); off += 4096) {
      auto f = scanner().scan(std::string_view(c).substr(off, 4096));
      benchmark::DoNotOptimize(f.data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * c.size());
}
BENCHMARK(BM_ScanCorpus4K)->Unit(benchmark::kMillisecond);

// A 4 KB CallToolResult: one text item cut from the corpus (no PII in it,
// the common case), the same with one email and one mobile number, or 4 KB
// of the PII-dense English records (~100 values).
enum class Result { kClean, kTwoPii, kDense };

boost::json::object tool_result(Result kind) {
  std::string text;
  if (kind == Result::kDense) {
    std::string_view d = std::string_view(dense(false)).substr(0, 4096);
    text = d.substr(0, d.rfind('\n') + 1);
  } else {
    const std::string& c = corpus();
    for (std::size_t off = 0; text.empty() && off + 8192 < c.size(); off += 4096) {
      std::string_view chunk = std::string_view(c).substr(off, 4096);
      chunk = chunk.substr(0, chunk.rfind(' ', 3950));  // whole UTF-8 characters
      if (scanner().scan(chunk).empty()) text = chunk;
    }
    if (kind == Result::kTwoPii)
      text = "contact hong.gildong@example.com or 010-2345-6789. " + text;
  }
  while (text.size() < 4000) text += ' ';
  boost::json::object r;
  r["content"] = boost::json::array{boost::json::object{{"type", "text"}, {"text", text}}};
  r["isError"] = false;
  return r;
}

// PiiFilter::on_response on that result, with the default policy (allow:
// detect and audit) or `default: mask`. Each iteration starts from a fresh
// copy of the result (masking rewrites it); BM_CopyResult4K is that copy.
void filter_bench(benchmark::State& state, Result kind, bool mask) {
  bastion::pii::PolicyOptions opts;
  if (mask) opts.default_action = bastion::pii::PiiAction::kMask;
  auto filter = bastion::pii::make_pii_filter(opts);
  const boost::json::object proto = tool_result(kind);
  bastion::server::CallContext ctx{
      bastion::protocol::Principal::anonymous(), "s", "1", "tools/call", "srv", "tool"};
  boost::json::object r = proto;
  for (auto _ : state) {
    r = proto;
    auto v = filter->on_response(r, ctx);
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 4000);
}
void BM_FilterOnResponse4K_Clean(benchmark::State& s) { filter_bench(s, Result::kClean, false); }
void BM_FilterOnResponse4K_TwoPii(benchmark::State& s) { filter_bench(s, Result::kTwoPii, false); }
void BM_FilterOnResponse4K_Clean_Mask(benchmark::State& s) {
  filter_bench(s, Result::kClean, true);
}
void BM_FilterOnResponse4K_TwoPii_Mask(benchmark::State& s) {
  filter_bench(s, Result::kTwoPii, true);
}
void BM_FilterOnResponse4K_Dense_Mask(benchmark::State& s) {
  filter_bench(s, Result::kDense, true);
}
BENCHMARK(BM_FilterOnResponse4K_Clean);
BENCHMARK(BM_FilterOnResponse4K_TwoPii);
BENCHMARK(BM_FilterOnResponse4K_Clean_Mask);
BENCHMARK(BM_FilterOnResponse4K_TwoPii_Mask);
BENCHMARK(BM_FilterOnResponse4K_Dense_Mask);

// A small tools/call's params and result (~100 bytes each, no PII).
boost::json::object small_params() {
  return boost::json::parse(
             R"({"name":"search_orders","arguments":{"query":"late deliveries this week",)"
             R"("limit":20,"include_archived":false}})")
      .as_object();
}
boost::json::object small_result() {
  return boost::json::parse(
             R"({"content":[{"type":"text","text":"No orders were delayed this week."}],)"
             R"("isError":false})")
      .as_object();
}

// A small tools/call with no PII, as a direct call carries it: the request's
// params (~100 bytes: the routed name, three arguments) through on_request,
// then its ~100-byte result through on_response, with the default policy.
// What a message costs the filter whatever its size (the walk, one scan per
// key and string), which on a call this size is nearly all of it.
void BM_FilterSmallCall(benchmark::State& state) {
  auto filter = bastion::pii::make_pii_filter({});
  const boost::json::object params = small_params(), result = small_result();
  bastion::server::CallContext ctx{
      bastion::protocol::Principal::anonymous(), "s", "1", "tools/call", "srv", "search_orders"};
  boost::json::object p = params, r = result;
  for (auto _ : state) {
    p = params;
    r = result;
    auto a = filter->on_request(p, ctx);
    auto b = filter->on_response(r, ctx);
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(b);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(boost::json::serialize(params).size() +
                                               boost::json::serialize(result).size()));
}
BENCHMARK(BM_FilterSmallCall);

// What BM_FilterSmallCall spends on copying the two messages back.
void BM_CopySmallCall(benchmark::State& state) {
  const boost::json::object params = small_params(), result = small_result();
  boost::json::object p, r;
  for (auto _ : state) {
    p = params;
    r = result;
    benchmark::DoNotOptimize(p);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_CopySmallCall);

// What BM_FilterOnResponse4K_TwoPii spends on copying the result back.
void BM_CopyResult4K(benchmark::State& state) {
  const boost::json::object proto = tool_result(Result::kTwoPii);
  boost::json::object r;
  for (auto _ : state) {
    r = proto;
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_CopyResult4K);

// Every finding of the three corpora, one line each, scanned whole (the
// findings cap raised) and as 4 KiB strings, then of 100,000 number-heavy
// texts: what a change to the scanner must leave byte for byte as it was
// (compare two builds' files with cmp).
bool dump_findings(const char* path) {
  std::FILE* f = std::fopen(path, "wb");
  if (!f) return false;
  auto dump = [f](const char* name, std::string_view text, const PiiScanner& s,
                  std::size_t chunk) {
    for (std::size_t off = 0; off < text.size(); off += chunk) {
      for (const auto& x : s.scan(text.substr(off, chunk)))
        std::fprintf(f, "%s %zu %zu %zu %.17g %.*s %.*s|%.*s\n", name, off, x.begin, x.end,
                     x.confidence, static_cast<int>(x.type.size()), x.type.data(),
                     static_cast<int>(x.detail.size()), x.detail.data(),
                     static_cast<int>(x.normalized.size()), x.normalized.data());
    }
  };
  const std::size_t whole = std::size_t{1} << 30;
  dump("prose", corpus(), scanner(), whole);
  dump("prose4k", corpus(), scanner(), 4096);
  dump("en", dense(false), dense_scanner(), whole);
  dump("en4k", dense(false), scanner(), 4096);
  dump("ko", dense(true), dense_scanner(), whole);
  dump("ko4k", dense(true), scanner(), 4096);
  // Number-heavy texts (number_mix_text), one scan each: the number path
  // takes shortcuts for the common shapes, which must find what the general
  // walk finds. Every 7th also with min_confidence 0.65, every 13th tripled
  // under a cap of 7 findings, and 100 KB runs of them whole.
  const PiiScanner high(bastion::pii::default_patterns(),
                        bastion::pii::ScannerLimits{100000, 0.65});
  const PiiScanner capped(bastion::pii::default_patterns(), bastion::pii::ScannerLimits{7, 0.5});
  bastion::bench::Lcg r{20261204};
  std::string run;
  for (int i = 0; i < 100000; ++i) {
    const std::string t = bastion::bench::number_mix_text(r);
    dump("mix", t, scanner(), whole);
    if (i % 7 == 0) dump("mix65", t, high, whole);
    if (i % 13 == 0) dump("mixcap", t + t + t, capped, whole);
    run += t;
    if (run.size() > 100000) {
      dump("mixrun", run, scanner(), whole);
      dump("mixrun65", run, high, whole);
      run.clear();
    }
  }
  return std::fclose(f) == 0;
}

// The scanner alone on a file, as `bastion pii scan` runs it (default
// recognizers, no findings cap, one scan of the whole text): findings, then
// the first, the best and the median CPU time of 30 scans in this process
// (the first one's code, tables and scratch are not yet in cache). The figure
// `pii scan`'s time is compared with (bench/results/pii.md).
bool scan_file(const char* path, bool each) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  bastion::pii::ScannerLimits no_cap;  // as security_commands.cpp's report_findings
  no_cap.max_findings = std::numeric_limits<std::size_t>::max() / 16;
  const PiiScanner s(bastion::pii::default_patterns(), no_cap);
  std::vector<double> ms;
  std::size_t found = 0;
  for (int i = 0; i < 30; ++i) {
    std::vector<bastion::pii::Finding> f;  // freed after the clock stops
    timespec a{}, b{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    if (each) {  // handed on as they come and dropped (freed), as `pii scan` writes them
      found = 0;
      s.scan_each(text,
                  [&found](std::span<bastion::pii::Finding> batch) { found += batch.size(); });
    } else {
      f = s.scan(text);
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    if (!each) found = f.size();
    ms.push_back(static_cast<double>(b.tv_sec - a.tv_sec) * 1e3 +
                 static_cast<double>(b.tv_nsec - a.tv_nsec) / 1e6);
  }
  const double first = ms.front();
  std::sort(ms.begin(), ms.end());
  std::printf(
      "%zu bytes, %zu findings, CPU per scan: first %.2f ms, best %.2f ms, median %.2f ms\n",
      text.size(), found, first, ms.front(), ms[ms.size() / 2]);
  return true;
}

}  // namespace

// --scan-file=PATH times the scanner alone on PATH (scan_file);
// --scan-each-file=PATH the same through scan_each (no vector of them all).
// --write-dense=PATH writes the English PII-dense corpus (16 MiB) to PATH and
// exits: the input for timing `bastion pii scan` (bench/pii_scan);
// --write-dense-ko=PATH the Korean one;
// --write-prose=PATH the same for the sparse prose corpus (16 MiB; a larger
// input is copies of it, one finding per ~4 KiB stays under the findings cap).
// --dump-findings=PATH writes every finding of the corpora (dump_findings).
int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.starts_with("--scan-file="))
      return scan_file(std::string(a.substr(12)).c_str(), false) ? 0 : 1;
    if (a.starts_with("--scan-each-file="))
      return scan_file(std::string(a.substr(17)).c_str(), true) ? 0 : 1;
    if (a.starts_with("--dump-findings="))
      return dump_findings(std::string(a.substr(16)).c_str()) ? 0 : 1;
    if (a.starts_with("--write-dense=") || a.starts_with("--write-prose=") ||
        a.starts_with("--write-dense-ko=")) {
      const std::string_view path = a.substr(a.find('=') + 1);
      std::FILE* f = std::fopen(std::string(path).c_str(), "wb");
      const std::string& d = a.starts_with("--write-prose=")      ? corpus()
                             : a.starts_with("--write-dense-ko=") ? dense(true)
                                                                  : dense(false);
      const bool ok = f && std::fwrite(d.data(), 1, d.size(), f) == d.size();
      if (f) std::fclose(f);
      return ok ? 0 : 1;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
