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
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <sstream>
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
#include "pii/report.hpp"
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

// `pii scan` without a policy or a configuration: every finding of standard
// input, and exit 3 when there is any. The gateway stops a scan at
// ScannerLimits::max_findings (100,000): that bounds what one message makes
// it hold, and the pii::kOverflow finding then makes the policy refuse what
// was not examined. A report on a local file has no such use for it: whoever
// scans a dump wants all of its findings, not the first 100,000 and an
// "overflow" line. So the report has no cap; the findings are written as the
// scan hands them on (a thousand or so held at a time, not all of them: they
// were 64 bytes each, on PII-dense text 1.7 times the input), on the scan's
// thread: a writer thread of its own cost more CPU time (moving the findings
// to it, its wake-ups, its batches' memory) than the report's formatting
// costs now (pii/report.hpp). With a policy the scan keeps the gateway's cap
// and verdict. Input past what one scan examines (4 GiB) is still reported
// by an "overflow" finding.
int report_findings(const Common& c, bool as_array) {
  pii::ScannerLimits limits;
  // More findings than memory holds, with room for the scanner's arithmetic
  // on the cap (it reserves cap + 1).
  limits.max_findings = std::numeric_limits<std::size_t>::max() / 16;
  const pii::PiiScanner scanner(pii::default_patterns(), limits, pii_db_cache_dir(c));
  const StdinText input;
  pii::FindingReport report(std::cout, as_array);
  scanner.scan_each(input.view(), [&report](std::span<pii::Finding> b) { report.add(b); });
  report.finish();
  return report.count() == 0 ? 0 : 3;
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
