// `bastion secret`, `encrypt`, `decrypt`, `keys rotate`, `pii scan` and
// `audit verify`: thin shells over security/.
#include <fmt/format.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <span>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "app/audit_config.hpp"
#include "audit/key.hpp"
#include "audit/reader.hpp"
#include "audit/verify.hpp"
#include "cli/commands.hpp"
#include "pii/filter.hpp"
#include "pii/patterns.hpp"
#include "pii/policy.hpp"
#include "pii/scanner.hpp"
#include "security/keyring.hpp"
#include "security/secrets.hpp"

namespace bastion::cli {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

fs::path security_dir(const Common& c) { return fs::path(data_dir(c)) / "security"; }

// The data directory's secrets store, opened with its key ring (the
// configuration is read once).
security::SecretStore open_secrets(const fs::path& dir) {
  return security::SecretStore(dir, security::load_fernet_keys(dir));
}

// All of standard input, in 256 KiB reads (an istreambuf_iterator reads it
// a character at a time: most of `pii scan`'s time went there).
std::string read_stdin() {
  std::string s;
  std::size_t n = 0;
  // A redirected file: its size up front, so the text is not copied as the
  // string grows (that copy and its page faults were ~6% of `pii scan`).
  struct stat st = {};
  if (::fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    s.reserve(static_cast<std::size_t>(st.st_size) + (std::size_t{1} << 18));
  for (;;) {
    if (s.size() - n < (std::size_t{1} << 18)) s.resize(n + (std::size_t{1} << 18));
    const ssize_t r = ::read(STDIN_FILENO, s.data() + n, s.size() - n);
    if (r > 0) {
      n += static_cast<std::size_t>(r);
    } else if (r == 0 || errno != EINTR) {
      if (r < 0)
        throw std::runtime_error(
            fmt::format("cannot read standard input: {}", std::strerror(errno)));
      break;
    }
  }
  s.resize(n);
  return s;
}

// SIGBUS while standard input is mapped: the file shrank under the scan
// (reading a page past its new end faults). One clear line and exit 1, as
// for a read error; a SIGBUS anywhere else takes its default action.
std::atomic<std::uintptr_t> g_mapped_begin{0}, g_mapped_end{0};

extern "C" void on_mapped_input_sigbus(int sig, siginfo_t* info, void*) {
  const auto a = reinterpret_cast<std::uintptr_t>(info->si_addr);
  if (a >= g_mapped_begin.load() && a < g_mapped_end.load()) {
    static constexpr char kMsg[] = "bastion: standard input shrank while it was scanned\n";
    (void)!::write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
    ::_exit(1);
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// All of standard input for `pii scan`, which may be hundreds of megabytes.
// A redirected regular file is mapped (from its current offset; the pages
// come from the page cache, populated at once): reading it into memory of
// our own cost more than the scan (the kernel zeroing fresh pages, the
// copy, and for a std::string a page fault per 4 KiB: 51,000 for 200 MB).
// Anything else (a pipe, a terminal, a file whose size stat cannot tell) is
// read into anonymous memory that asks for transparent huge pages and
// grows with mremap, without copying.
class StdinText {
 public:
  StdinText() {
    struct stat st = {};
    std::size_t hint = std::size_t{1} << 21;
    if (::fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      if (map_file(st)) return;
      // Its size up front (and one byte, for the read that finds its end),
      // so the memory does not move as it fills.
      hint = static_cast<std::size_t>(st.st_size) + 1;
    }
    reserve(hint);
    for (;;) {
      if (n_ == cap_) reserve(2 * cap_);
      const ssize_t r = ::read(STDIN_FILENO, static_cast<char*>(p_) + n_, cap_ - n_);
      if (r > 0) {
        n_ += static_cast<std::size_t>(r);
      } else if (r == 0 || errno != EINTR) {
        if (r < 0)
          throw std::runtime_error(
              fmt::format("cannot read standard input: {}", std::strerror(errno)));
        break;
      }
    }
  }
  ~StdinText() {
    if (!p_) return;
    ::munmap(p_, cap_);
    if (mapped_) {
      g_mapped_begin = g_mapped_end = 0;
      ::sigaction(SIGBUS, &old_, nullptr);
    }
  }
  StdinText(const StdinText&) = delete;
  StdinText& operator=(const StdinText&) = delete;
  std::string_view view() const { return {static_cast<const char*>(p_) + skip_, n_}; }

 private:
  bool map_file(const struct stat& st) {
    const off_t at = ::lseek(STDIN_FILENO, 0, SEEK_CUR);
    if (at < 0 || at >= st.st_size) return false;
    const auto page = static_cast<off_t>(::sysconf(_SC_PAGESIZE));
    const off_t from = at / page * page;
    const std::size_t len = static_cast<std::size_t>(st.st_size - from);
    void* q = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, STDIN_FILENO, from);
    if (q == MAP_FAILED) return false;
    p_ = q;
    cap_ = len;
    skip_ = static_cast<std::size_t>(at - from);
    n_ = len - skip_;
    mapped_ = true;
    g_mapped_begin = reinterpret_cast<std::uintptr_t>(q);
    g_mapped_end = reinterpret_cast<std::uintptr_t>(q) + len;
    struct sigaction sa = {};
    sa.sa_sigaction = on_mapped_input_sigbus;
    sa.sa_flags = SA_SIGINFO;
    ::sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, &old_);
    // As a read would have left it: at the end of what was taken.
    ::lseek(STDIN_FILENO, st.st_size, SEEK_SET);
    return true;
  }
  void reserve(std::size_t want) {
    constexpr std::size_t kHuge = std::size_t{2} << 20;
    want = (want + kHuge - 1) / kHuge * kHuge;
    void* q = p_ ? ::mremap(p_, cap_, want, MREMAP_MAYMOVE)
                 : ::mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                          0);
    if (q == MAP_FAILED) throw std::bad_alloc();
    ::madvise(q, want, MADV_HUGEPAGE);  // advice: without THP, ordinary pages
    p_ = q;
    cap_ = want;
  }
  void* p_ = nullptr;
  std::size_t n_ = 0, cap_ = 0, skip_ = 0;
  bool mapped_ = false;
  struct sigaction old_ = {};
};

// Runs `f`, turning the exceptions of startup-style failures into one line.
int guarded(const std::function<int()>& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    std::cerr << "bastion: " << e.what() << "\n";
    return 1;
  }
}

struct SecretArgs {
  std::string name;
};

int secret_set(const Common& c, const SecretArgs& a) {
  if (!security::SecretStore::valid_name(a.name)) {
    std::cerr
        << "bastion: secret name must be 1-128 characters of letters, digits, '_', '.', '-'\n";
    return 2;
  }
  if (isatty(STDIN_FILENO)) std::cerr << "value for " << a.name << " (end with Ctrl-D): ";
  std::string value = read_stdin_secret();
  if (value.empty()) {
    std::cerr << "bastion: no value on stdin; e.g. printf %s \"$KEY\" | bastion secret set "
              << a.name << "\n";
    return 2;
  }
  const fs::path dir = security_dir(c);
  auto keys = security::load_fernet_keys(dir);
  security::SecretStore store(dir, keys);
  store.set(a.name, value);
  std::cout << "secret " << a.name << " stored, encrypted with Fernet key "
            << keys.primary().key_id() << "\n";
  return 0;
}

int secret_list(const Common& c) {
  auto store = open_secrets(security_dir(c));
  for (const auto& n : store.names()) std::cout << n << "\n";
  return 0;
}

int secret_rm(const Common& c, const SecretArgs& a) {
  auto store = open_secrets(security_dir(c));
  if (!store.remove(a.name)) {
    std::cerr << "bastion: no secret named " << a.name << "\n";
    return 1;
  }
  std::cout << "secret " << a.name << " removed\n";
  return 0;
}

int encrypt(const Common& c) {
  auto keys = security::load_fernet_keys(security_dir(c));
  std::cout << keys.encrypt(read_stdin()) << "\n";
  return 0;
}

struct DecryptArgs {
  std::int64_t ttl = 0;
};

int decrypt(const Common& c, const DecryptArgs& a) {
  auto keys = security::load_fernet_keys(security_dir(c), false);
  std::string token = read_stdin();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  std::optional<std::chrono::seconds> ttl;
  if (a.ttl > 0) ttl = std::chrono::seconds(a.ttl);
  auto pt = keys.decrypt(token, ttl);
  if (!pt) {
    std::cerr << "bastion: cannot decrypt: " << pt.reason() << " ("
              << security::to_string(pt.code()) << ")\n";
    return 1;
  }
  std::cout << pt.value();
  return 0;
}

struct RotateArgs {
  std::size_t keep = 0;
};

int keys_rotate(const Common& c, const RotateArgs& a) {
  const fs::path dir = security_dir(c);
  auto r = security::rotate_keys_and_secrets(dir, a.keep);
  std::cout << "new Fernet key " << r.ring.primary().key_id() << " (" << r.ring.size()
            << " in the ring); " << r.reencrypted << " secret(s) re-encrypted\n";
  return 0;
}

struct PiiArgs {
  std::string policy;  // empty: report findings
  bool json = false;
};

// Where `pii scan` caches the compiled pattern databases: the data
// directory's cache/pii when the data directory exists (a scan does not
// create one), else $XDG_CACHE_HOME/bastion/pii or ~/.cache/bastion/pii;
// none when neither is known.
fs::path pii_db_cache_dir(const Common& c) {
  std::error_code ec;
  if (c.overrides.data_dir || c.config_path) {
    const fs::path d = data_dir(c);
    if (fs::is_directory(d, ec)) return d / "cache" / "pii";
  }
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x == '/')
    return fs::path(x) / "bastion" / "pii";
  if (const char* h = std::getenv("HOME"); h && *h == '/')
    return fs::path(h) / ".cache" / "bastion" / "pii";
  return {};
}

// `pii scan`'s report: one JSON line a finding (`as_array`: one array of them),
// formatted as the scanner hands the findings on (PiiScanner::scan_each: they
// are still in cache, and none is kept) into one buffer written 256 KiB at a
// time (a buffer for all of it, 96 bytes a finding, cost its page faults, as
// much as formatting).
class FindingWriter {
 public:
  explicit FindingWriter(bool as_array)
      : as_array_(as_array), shapes_(kShapes), out_(new char[size_]) {
    if (as_array_) put("[", 1);
  }
  FindingWriter(const FindingWriter&) = delete;
  FindingWriter& operator=(const FindingWriter&) = delete;

  void add(std::span<const pii::Finding> findings) {
    for (const auto& f : findings) {
      const Shape& s = shape(f);
      // Room for the line: its fixed parts, two 20-digit numbers and a comma.
      const std::size_t need = s.head.size() + s.tail.size() + 64;
      if (w_ + need > size_) {
        flush();
        if (need > size_) out_.reset(new char[size_ = need]);
      }
      if (as_array_ && count_) put(",", 1);
      put(s.head.data(), s.head.size());
      const fmt::format_int b(f.begin), e(f.end);
      put(b.data(), b.size());
      put(",\"end\":", 7);
      put(e.data(), e.size());
      put(s.tail.data(), s.tail.size());
      ++count_;
      if (w_ >= kChunk) flush();
    }
  }
  // The rest of the report: what the buffer holds, and the array's end.
  void finish() {
    if (as_array_) put("]\n", 2);
    flush();
  }
  std::size_t count() const { return count_; }

 private:
  // A line is `{"type":T,"begin":B,"end":E,"confidence":C,"detail":D}`:
  // only B and E differ from one finding to the next, and a scan has a
  // handful of (type, detail, confidence) triples. Each triple's text
  // before B and after E is rendered once (JSON names, fmt's shortest
  // double) and cached by the views' addresses (the names are constants),
  // so a line is three copies and two integers; appending its ten pieces
  // through fmt::memory_buffer cost more than finding them.
  struct Shape {
    const char* type = nullptr;
    std::size_t type_len = 0;
    const char* detail = nullptr;
    std::size_t detail_len = 0;
    double conf = -1;
    std::string head, tail;
  };
  static constexpr std::size_t kChunk = std::size_t{1} << 18;
  static constexpr std::size_t kShapes = 256, kProbe = 8;

  // The finding's triple from the cache, rendered when missing. Open
  // addressing over kProbe slots from its home: two frequent triples whose
  // keys (addresses, so where the binary is loaded decides) meet in one slot
  // took turns rendering in a direct-mapped table, every line on PII-dense
  // text (64 MiB: twice the CPU time in some runs, in every run of some builds).
  const Shape& shape(const pii::Finding& f) {
    const auto key = reinterpret_cast<std::uintptr_t>(f.type.data()) ^
                     (reinterpret_cast<std::uintptr_t>(f.detail.data()) * 31) ^
                     static_cast<std::uintptr_t>(f.confidence * 1000);
    const std::size_t home = key ^ (key >> 8) ^ (key >> 16);
    for (std::size_t i = 0; i < kProbe; ++i) {
      Shape& s = shapes_[(home + i) & (kShapes - 1)];
      if (s.type == f.type.data() && s.type_len == f.type.size() && s.detail == f.detail.data() &&
          s.detail_len == f.detail.size() && s.conf == f.confidence)
        return s;
      if (!s.type) return render(s, f);  // a free slot
    }
    return render(shapes_[home & (kShapes - 1)], f);  // all taken: replaces one
  }
  Shape& render(Shape& s, const pii::Finding& f) {
    s = Shape{f.type.data(),
              f.type.size(),
              f.detail.data(),
              f.detail.size(),
              f.confidence,
              fmt::format("{{\"type\":{},\"begin\":", json::serialize(json::string_view(f.type))),
              fmt::format(",\"confidence\":{}", f.confidence)};
    if (!f.detail.empty())
      s.tail += fmt::format(",\"detail\":{}", json::serialize(json::string_view(f.detail)));
    s.tail += as_array_ ? "}" : "}\n";
    return s;
  }
  void put(const char* p, std::size_t n) {
    std::memcpy(out_.get() + w_, p, n);
    w_ += n;
  }
  void flush() {
    std::cout.write(out_.get(), static_cast<std::streamsize>(w_));
    w_ = 0;
  }

  bool as_array_;
  std::vector<Shape> shapes_;
  // Not zeroed: a page is touched when a line is first written to it (the
  // report of a text without findings touches none).
  std::size_t size_ = kChunk + 4096;
  std::unique_ptr<char[]> out_;
  std::size_t w_ = 0, count_ = 0;
};

// `pii scan`'s report formatted and written on a thread of its own while the
// scan goes on (on PII-dense text the formatting was a third of the
// command). The scan's batches are moved, never copied, into batches of at
// least kBatch findings, queued for the writer in order, at most kQueued at a
// time: a full queue makes the scan wait, so memory stays bounded however
// slowly standard output is read. When standard output fails (EPIPE from a
// reader that closed early, a full disk) the writer stops and the findings
// still to come are only counted, as the single-threaded report counts what
// its failed stream drops: the exit status and the (absent) message are the
// same.
class ReportThread {
 public:
  // Takes over `report` (whose findings so far count) from the scan's thread.
  explicit ReportThread(FindingWriter& report)
      : report_(report), count_(report.count()), thread_([this] { run(); }) {
    pending_.reserve(kBatch + pii::PiiScanner::kStreamHold);
  }
  ~ReportThread() {
    if (thread_.joinable()) close();  // the scan threw: only stop the thread
  }
  ReportThread(const ReportThread&) = delete;
  ReportThread& operator=(const ReportThread&) = delete;

  // A batch from PiiScanner::scan_each (its findings are moved from).
  void add(std::span<pii::Finding> batch) {
    count_ += batch.size();
    pending_.insert(pending_.end(), std::make_move_iterator(batch.begin()),
                    std::make_move_iterator(batch.end()));
    if (pending_.size() >= kBatch) hand_over();
  }
  // Waits until every finding is written (or standard output failed); rethrows
  // what stopped the writer. Returns how many findings the scan handed on.
  std::size_t finish() {
    if (!pending_.empty()) hand_over();
    close();
    if (error_) std::rethrow_exception(error_);
    return count_;
  }

 private:
  static constexpr std::size_t kBatch = 4096, kQueued = 4;

  void hand_over() {
    std::unique_lock lock(m_);
    room_.wait(lock, [this] { return queue_.size() < kQueued || stopped_; });
    if (stopped_) {
      pending_.clear();
      return;
    }
    queue_.push_back(std::move(pending_));
    pending_ = take_free();
    lock.unlock();
    ready_.notify_one();
  }
  // An emptied batch to fill again (their memory stays mapped: a batch
  // allocated anew each time cost a page fault a 4 KiB), else a new one.
  std::vector<pii::Finding> take_free() {
    std::vector<pii::Finding> b;
    if (free_.empty()) {
      b.reserve(kBatch + pii::PiiScanner::kStreamHold);
    } else {
      b = std::move(free_.back());
      free_.pop_back();
    }
    return b;
  }
  void close() {
    {
      const std::lock_guard lock(m_);
      closed_ = true;
    }
    ready_.notify_one();
    thread_.join();
  }
  void stop() {
    {
      const std::lock_guard lock(m_);
      stopped_ = true;
      queue_.clear();
    }
    room_.notify_one();
  }
  // The writer: each batch in the order queued, until the queue is closed
  // and empty or standard output fails.
  void run() {
    try {
      for (std::vector<pii::Finding> b;;) {
        {
          std::unique_lock lock(m_);
          ready_.wait(lock, [this] { return !queue_.empty() || closed_; });
          if (queue_.empty()) return;
          b = std::move(queue_.front());
          queue_.pop_front();
        }
        room_.notify_one();
        report_.add(b);
        if (!std::cout) return stop();
        b.clear();
        const std::lock_guard lock(m_);
        free_.push_back(std::move(b));
      }
    } catch (...) {
      error_ = std::current_exception();
      stop();
    }
  }

  FindingWriter& report_;
  std::size_t count_;                  // the scan's thread
  std::vector<pii::Finding> pending_;  // the scan's thread
  std::mutex m_;
  std::condition_variable ready_, room_;  // a batch queued; room in the queue
  std::deque<std::vector<pii::Finding>> queue_;
  std::vector<std::vector<pii::Finding>> free_;  // emptied batches (kQueued + 2 at most)
  bool closed_ = false, stopped_ = false;
  std::exception_ptr error_;  // read after the join
  std::thread thread_;        // last: started once the rest is constructed
};

// The report is written on the scan's thread until the scan has handed on
// this many findings (about 5 MiB of PII-dense text), then by a ReportThread:
// for fewer the thread (its start, the batches' memory, the moves) cost more
// than formatting them does, and a large text with few findings has no use
// for it at all.
constexpr std::size_t kReportThreadFrom = std::size_t{1} << 17;

// `pii scan` without a policy or a configuration: every finding of standard
// input, and exit 3 when there is any. The gateway stops a scan at
// ScannerLimits::max_findings (100,000): that bounds what one message makes
// it hold, and the pii::kOverflow finding then makes the policy refuse what
// was not examined. A report on a local file has no such use for it: whoever
// scans a dump wants all of its findings, not the first 100,000 and an
// "overflow" line. So the report has no cap; the findings are written as the
// scan hands them on (a thousand or so held at a time, not all of them: they
// were 64 bytes each, on PII-dense text 1.7 times the input), by a second
// thread (ReportThread) past kReportThreadFrom findings. With a policy
// the scan keeps the gateway's cap and verdict. Input past what one scan
// examines (4 GiB) is still reported by an "overflow" finding.
int report_findings(const Common& c, bool as_array) {
  pii::ScannerLimits limits;
  // More findings than memory holds, with room for the scanner's arithmetic
  // on the cap (it reserves cap + 1).
  limits.max_findings = std::numeric_limits<std::size_t>::max() / 16;
  const pii::PiiScanner scanner(pii::default_patterns(), limits, pii_db_cache_dir(c));
  const StdinText input;
  FindingWriter report(as_array);
  std::optional<ReportThread> writer;
  scanner.scan_each(input.view(), [&report, &writer](std::span<pii::Finding> b) {
    if (writer) return writer->add(b);
    report.add(b);
    if (report.count() >= kReportThreadFrom) writer.emplace(report);
  });
  const std::size_t found = writer ? writer->finish() : report.count();
  report.finish();
  return found == 0 ? 0 : 3;
}

int pii_scan(const Common& c, const PiiArgs& a) {
  if (a.policy.empty() && !c.config_path) return report_findings(c, a.json);
  pii::PolicyOptions opts;
  // The configuration's patterns and policy, when a file is given.
  if (c.config_path) {
    auto o = app::load_options(c.config_path, c.overrides);
    const auto& root = o.document->root().as_object();
    if (auto* s = root.if_contains("security"); s && s->is_object())
      if (auto* p = s->get_object().if_contains("pii"); p && p->is_object())
        opts = pii::policy_options_from_json(p->get_object());
  }
  if (!a.policy.empty()) {
    opts.default_action = *pii::parse_action(a.policy);
    opts.global = {};
    opts.servers.clear();
    opts.tools.clear();
  }
  std::optional<security::MultiFernet> keys;
  pii::Encryptor enc;
  if (pii::policy_uses(opts, pii::PiiAction::kEncrypt)) {
    keys.emplace(security::load_fernet_keys(security_dir(c)));
    enc = [&keys](std::string_view v) { return keys->encrypt(v); };
  }
  auto filter = pii::make_pii_filter(opts, enc, {}, pii_db_cache_dir(c));
  const StdinText input;
  const std::string_view text = input.view();
  json::value v(json::string_view(text.data(), text.size()));
  pii::ResolvedPolicy policy(filter->options(), "cli", "pii-scan", pii::Direction::kRequest);
  auto out = pii::apply_policy(v, filter->scanner(), policy, enc);
  if (out.error) {
    std::cerr << "bastion: " << out.error->message << "\n";
    return 3;
  }
  // Written by size: c_str() would stop at a NUL byte in the input.
  const json::string& masked = v.as_string();
  std::cout.write(masked.data(), static_cast<std::streamsize>(masked.size()));
  return 0;
}

struct VerifyArgs {
  std::vector<std::string> paths;
  std::string pubkey;                 // --pubkey FILE
  std::string key;                    // --key FINGERPRINT
  std::uint64_t from_checkpoint = 0;  // --from-checkpoint SEQ
};

int audit_verify(const Common& c, const VerifyArgs& a) {
  audit::VerifyOptions vo;
  // The configuration (with --config) says where the log is and may pin its key.
  std::optional<audit::AuditOptions> configured;
  if (c.config_path) {
    auto o = app::load_options(c.config_path, c.overrides);
    configured = app::read_audit_options(*o.document, o.data_dir);
  }
  std::vector<fs::path> files;
  fs::path dir;
  if (a.paths.empty() || (a.paths.size() == 1 && fs::is_directory(a.paths[0]))) {
    dir = !a.paths.empty() ? fs::path(a.paths[0])
          : configured     ? configured->dir
                           : fs::path(data_dir(c)) / "audit";
    files = audit::audit_files(dir);
    vo.head_file = dir / "audit.log.head";
  } else {
    for (const auto& p : a.paths) {
      if (!fs::is_regular_file(p)) {
        std::cerr << "bastion: " << p << " is not a file\n";
        return 2;
      }
      files.emplace_back(p);
    }
    dir = files.back().parent_path();
    // The active file's end is anchored by the signed head beside it; a
    // rotated file's by its own last checkpoint.
    if (files.back().filename() == "audit.log") vo.head_file = dir / "audit.log.head";
  }
  if (files.empty()) {
    std::cerr << "bastion: no audit files in " << dir.string() << "\n";
    return 2;
  }
  if (!a.pubkey.empty()) {
    std::ifstream in(a.pubkey);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    vo.public_key = audit::parse_public_key(text);
    if (!vo.public_key) {
      std::cerr << "bastion: " << a.pubkey << " is not a base64 Ed25519 public key\n";
      return 2;
    }
  }
  std::string pin = !a.key.empty() ? a.key : configured ? configured->key_fingerprint : "";
  if (!pin.empty()) {
    vo.fingerprint = audit::parse_fingerprint(pin);
    if (!vo.fingerprint) {
      std::cerr << "bastion: --key must be an audit key fingerprint (SHA256:<43 base64 "
                   "characters>), as `bastion doctor` prints it\n";
      return 2;
    }
  }
  if (a.from_checkpoint) vo.from_checkpoint = a.from_checkpoint;
  auto rep = audit::verify_audit(files, vo);
  for (const auto& n : rep.notes) std::cout << "note: " << n << "\n";
  for (const auto& w : rep.warnings) std::cerr << "warning: " << w << "\n";
  if (!rep.ok()) {
    const auto& p = *rep.problem;
    std::cout << "TAMPERED: " << p.file;
    if (p.line) std::cout << ":" << p.line;
    if (p.seq) std::cout << " (seq " << p.seq << ")";
    std::cout << ": " << p.what << "\n";
    return 1;
  }
  std::cout << fmt::format(
      "ok: {} records (seq {}..{}) in {} file(s), {} signed checkpoint(s), key {} ({})\n",
      rep.records, rep.first_seq, rep.last_seq, files.size(), rep.checkpoints, rep.fingerprint,
      rep.key_pinned ? "pinned" : "NOT pinned");
  if (rep.head)
    std::cout << fmt::format(
        "end: signed head at seq {} ({}, {}); {} unsigned record(s) after it\n", rep.head->seq,
        rep.head->ts, rep.head->shutdown ? "writer stopped cleanly" : "writer running",
        rep.unsigned_records);
  return 0;
}

}  // namespace

std::vector<Command> add_security_commands(CLI::App& cli, Common& common) {
  std::vector<Command> out;
  Common* c = &common;

  auto* secret = cli.add_subcommand("secret", "Manage encrypted secrets for upstream servers");
  secret->require_subcommand(1);
  auto sa = std::make_shared<SecretArgs>();
  auto* set = secret->add_subcommand("set", "Store a secret; the value is read from stdin");
  set->add_option("name", sa->name, "Secret name, referenced from a server's secrets:")->required();
  add_config_options(set, common);
  out.push_back({set, [c, sa] { return guarded([&] { return secret_set(*c, *sa); }); }});
  auto* list = secret->add_subcommand("list", "List the stored secrets' names");
  add_config_options(list, common);
  out.push_back({list, [c] { return guarded([&] { return secret_list(*c); }); }});
  auto* rm = secret->add_subcommand("rm", "Remove a secret");
  rm->add_option("name", sa->name, "Secret name")->required();
  add_config_options(rm, common);
  out.push_back({rm, [c, sa] { return guarded([&] { return secret_rm(*c, *sa); }); }});

  auto* enc = cli.add_subcommand("encrypt", "Encrypt stdin into a Fernet token with the data key");
  add_config_options(enc, common);
  out.push_back({enc, [c] { return guarded([&] { return encrypt(*c); }); }});
  auto da = std::make_shared<DecryptArgs>();
  auto* dec = cli.add_subcommand("decrypt", "Decrypt a Fernet token from stdin");
  dec->add_option("--ttl", da->ttl, "Refuse tokens older than this many seconds");
  add_config_options(dec, common);
  out.push_back({dec, [c, da] { return guarded([&] { return decrypt(*c, *da); }); }});

  auto* keys = cli.add_subcommand("keys", "Manage the data encryption keys");
  keys->require_subcommand(1);
  auto ra = std::make_shared<RotateArgs>();
  auto* rot = keys->add_subcommand(
      "rotate", "Add a new Fernet key (older ones still decrypt) and re-encrypt the secrets");
  rot->add_option("--keep", ra->keep, "Keep at most this many keys (0 = all)");
  add_config_options(rot, common);
  out.push_back({rot, [c, ra] { return guarded([&] { return keys_rotate(*c, *ra); }); }});

  auto* pii = cli.add_subcommand("pii", "PII tools");
  pii->require_subcommand(1);
  auto pa = std::make_shared<PiiArgs>();
  auto* scan = pii->add_subcommand(
      "scan",
      "Scan stdin for PII. Without --policy (and --config): one JSON finding per line, exit 3 "
      "when any. With a policy: the text as that policy leaves it (exit 3 when rejected)");
  scan->add_option("--policy", pa->policy, "allow | mask | encrypt | reject")
      ->check(CLI::IsMember({"allow", "mask", "encrypt", "reject"}));
  scan->add_flag("--json", pa->json, "Findings as one JSON array");
  add_config_options(scan, common);
  out.push_back({scan, [c, pa] { return guarded([&] { return pii_scan(*c, *pa); }); }});

  auto* audit = cli.add_subcommand("audit", "Audit log tools");
  audit->require_subcommand(1);
  auto va = std::make_shared<VerifyArgs>();
  auto* verify = audit->add_subcommand(
      "verify",
      "Verify audit files (a directory, or files oldest first; default: the data directory's). "
      "Exit 1 and say where when anything was edited, removed, reordered or truncated, at the "
      "beginning, in the middle or at the end");
  verify->add_option("path", va->paths, "Audit directory or files");
  verify->add_option(
      "--key", va->key,
      "Pin the signing key by its fingerprint (SHA256:..., logged at the first start "
      "and printed by `bastion doctor`); default: audit.key_fingerprint from "
      "--config, else the key the log's first record names (with a warning)");
  verify->add_option(
      "--pubkey,--public-key", va->pubkey,
      "Pin the signing key by a public key file (a copy of audit.pub kept elsewhere; "
      "the audit.pub beside the log is never trusted)");
  verify
      ->add_option("--from-checkpoint", va->from_checkpoint,
                   "Accept a log that begins at this checkpoint (seq) instead of its genesis, "
                   "e.g. after moving older files to an archive")
      ->check(CLI::PositiveNumber);
  add_config_options(verify, common);
  out.push_back({verify, [c, va] { return guarded([&] { return audit_verify(*c, *va); }); }});
  return out;
}

}  // namespace bastion::cli
