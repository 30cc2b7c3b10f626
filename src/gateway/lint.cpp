#include "gateway/lint.hpp"

#include <fmt/format.h>
#include <hs/hs.h>
#include <spdlog/spdlog.h>

#include <cstring>

#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>

#include "pii/db_cache.hpp"
#include "pii/normalize.hpp"
#include "protocol/printable.hpp"

namespace bastion::gateway {

namespace json = boost::json;

namespace {

struct Pattern {
  const char* rule;
  const char* regex;
};

// Words of a phrase must be near each other in one sentence ([^.\n]{0,N}),
// so a long description cannot make a far-apart pair of words a finding.
const Pattern kPatterns[] = {
    {"instruction",
     R"(\b(ignore|disregard|forget|override)\b[^.\n]{0,40}\b(previous|prior|above|earlier|preceding|all|any|other|system|your)\b[^.\n]{0,20}\b(instructions?|prompts?|rules|directions|guidelines|guardrails)\b)"},
    {"instruction",
     R"(<\s*/?\s*(important|system|instructions?|secret|hidden|admin|assistant|critical)\s*>)"},
    {"instruction", R"(\[\s*/?\s*(system|important|inst|admin)\s*\])"},
    {"instruction", R"(<\|?\s*im_start|<<\s*sys\s*>>)"},
    {"instruction",
     R"(\b(before|prior to|after)\s+(using|calling|invoking|running)\s+(this|any|the|other)\s+tools?\b)"},
    {"instruction",
     R"(\b(the\s+)?(assistant|ai assistant|llm|language model)\s+(must|should|shall|will|needs to|is required to)\b)"},
    {"instruction",
     R"(\b(do not|don't|dont|never|without)\s+(ever\s+)?(tell|telling|inform|informing|mention|mentioning|notify|notifying|reveal|revealing|alert|alerting|show|showing|disclose|disclosing)\s+(this\s+|it\s+|anything\s+)?(to\s+)?the\s+user(\s|[.,;:!)]|$))"},
    {"instruction", R"(\bhide\b[^.\n]{0,40}\bfrom\s+the\s+user\b)"},
    {"instruction", R"(\b(the\s+)?user\s+(must|should)\s+not\s+(know|see|notice|find out)\b)"},
    {"instruction", R"(\bkeep\s+(this|it)\s+(a\s+)?(secret|hidden)\b)"},
    {"sensitive_file",
     R"((~|\$home|%userprofile%)[/\\]\.(ssh|aws|gnupg|kube|docker|netrc|config[/\\](gcloud|gh))|\bid_(rsa|ed25519|ecdsa|dsa)\b|/etc/(passwd|shadow|sudoers)\b|\bmcp\.json\b|claude_desktop_config|\.aws[/\\]credentials|\.git-credentials|\.npmrc\b|\.pgpass\b)"},
    {"tool_call",
     R"(\b(also|first|always|must|should|then)\s+(call|invoke|run|use)\s+(the\s+)?[`'"]?[a-z0-9_.-]+[`'"]?\s+(tool|function)\b)"},
    {"tool_call",
     R"(\binstead\s+of\s+(using\s+|calling\s+)?(the\s+)?[`'"]?[a-z0-9_.-]+[`'"]?\s+(tool|function)\b)"},
    {"exfiltration_url",
     R"(\b(send|post|upload|forward|transmit|exfiltrate|submit|leak|copy|pass|report)\b[^.\n]{0,80}(https?://|\b(webhook|endpoint)\b))"},
    {"exfiltration_url",
     R"(https?://\S+\s[^.\n]{0,40}\b(with|including|containing|appending)\b[^.\n]{0,40}\b(contents?|data|token|keys?|password|secrets?|conversation|history|credentials)\b)"},
    {"exfiltration_url", R"(https?://\S*[?&][a-z_]{1,20}=\{)"},
};

struct Db {
  hs_database_t* db = nullptr;
  ~Db() {
    if (db) hs_free_database(db);
  }
};

hs_database_t* compile_patterns() {
  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
  for (unsigned i = 0; i < std::size(kPatterns); ++i) {
    exprs.push_back(kPatterns[i].regex);
    flags.push_back(HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH);
    ids.push_back(i);
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()),
                       HS_MODE_BLOCK, nullptr, &db, &err) != HS_SUCCESS) {
    std::string msg = err && err->message ? err->message : "unknown error";
    hs_free_compile_error(err);
    throw std::logic_error("lint patterns do not compile: " + msg);
  }
  return db;
}

// What the compiled database depends on (pii/db_cache.hpp): the patterns,
// their flags, the Vectorscan version and the platform. Empty when the
// platform cannot be read (then nothing is cached).
std::string cache_key() {
  hs_platform_info_t plat{};
  if (hs_populate_platform(&plat) != HS_SUCCESS) return {};
  std::string m = fmt::format("bastion-lint-hsdb/1|{}|{}/{}/{}/{}", hs_version(), plat.tune,
                              plat.cpu_features, sizeof(void*), HS_MODE_BLOCK);
  for (const auto& p : kPatterns)
    m += fmt::format("|{}:{}:{}", std::strlen(p.regex), p.regex, HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH);
  return pii::sha256_raw(m);
}

// The database from `cache_dir` when a cache file there passes every check
// (and Vectorscan's own), else compiled and stored there.
hs_database_t* load_or_compile(const std::filesystem::path& cache_dir, bool* loaded) {
  if (loaded) *loaded = false;
  std::string key = cache_dir.empty() ? std::string() : cache_key();
  if (!key.empty()) {
    if (auto blobs = pii::load_db_cache(cache_dir, key); blobs && blobs->size() == 1) {
      if (hs_database_t* db = pii::deserialize_database((*blobs)[0])) {
        if (loaded) *loaded = true;
        return db;
      }
    }
  }
  hs_database_t* db = compile_patterns();
  if (auto blob = key.empty() ? std::nullopt : pii::serialize_database(db)) {
    std::string why;
    if (!pii::store_db_cache(cache_dir, key, {std::move(*blob)}, &why))
      spdlog::warn("lint: cannot cache the compiled patterns in {}: {}", cache_dir.string(), why);
  }
  return db;
}

Db g_db;
std::once_flag g_db_once;
std::mutex g_cache_dir_mu;
std::filesystem::path g_cache_dir;  // set_lint_cache_dir

// The process's database: from the cache directory set by then, whoever
// asks first (prepare_lint, or a lint that comes before it).
const Db& database() {
  std::call_once(g_db_once, [] {
    std::filesystem::path dir;
    {
      std::lock_guard lk(g_cache_dir_mu);
      dir = g_cache_dir;
    }
    g_db.db = load_or_compile(dir, nullptr);
  });
  return g_db;
}

struct Scratch {
  hs_scratch_t* s = nullptr;
  ~Scratch() {
    if (s) hs_free_scratch(s);
  }
};

// Decodes one UTF-8 code point at `i` (Boost.JSON has validated the text).
std::uint32_t decode(std::string_view s, std::size_t& i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    ++i;
    return c;
  }
  std::size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  std::uint32_t cp = len == 1 ? c : c & (0xff >> (len + 1));
  for (std::size_t k = 1; k < len && i + k < s.size(); ++k)
    cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
  i += len;
  return cp;
}

const char* hidden_kind(std::uint32_t cp, std::uint32_t prev, std::uint32_t next) {
  if (cp >= 0xe0000 && cp <= 0xe007f) return "Unicode tag character";
  if (cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
      (cp >= 0x2066 && cp <= 0x2069))
    return "bidi control";
  if (cp == 0x200b || cp == 0x200c || (cp >= 0x2060 && cp <= 0x2064) || cp == 0xfeff ||
      cp == 0x180e || cp == 0x00ad)
    return "zero-width character";
  // A zero-width joiner belongs between emoji; next to a letter it hides.
  if (cp == 0x200d && (prev < 0x2000 || next < 0x2000)) return "zero-width character";
  if ((cp >= 0xfe00 && cp <= 0xfe0e) || (cp >= 0xe0100 && cp <= 0xe01ef))
    return "variation selector";
  if ((cp < 0x20 && cp != '\n' && cp != '\r' && cp != '\t') || cp == 0x7f ||
      (cp >= 0x80 && cp < 0xa0))
    return "control character";
  return nullptr;
}

enum class Script { kNone, kLatin, kCyrillic, kGreek, kLookalike };

Script script_of(std::uint32_t cp) {
  if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
      (cp >= 0xc0 && cp <= 0x24f && cp != 0xd7 && cp != 0xf7))
    return Script::kLatin;
  if (cp >= 0x400 && cp <= 0x4ff) return Script::kCyrillic;
  if (cp >= 0x370 && cp <= 0x3ff) return Script::kGreek;
  // Mathematical alphanumerics and full-width Latin read as plain letters.
  if ((cp >= 0x1d400 && cp <= 0x1d7ff) || (cp >= 0xff21 && cp <= 0xff3a) ||
      (cp >= 0xff41 && cp <= 0xff5a))
    return Script::kLookalike;
  return Script::kNone;
}

class Linter {
 public:
  // `db`: the instruction patterns (the process's unless a test names one).
  Linter(const LintContext& ctx, std::vector<LintFinding>& out,
         const hs_database_t* db = database().db)
      : ctx_(ctx), out_(out), db_(db) {
    if (hs_alloc_scratch(db_, &scratch_.s) != HS_SUCCESS) throw std::bad_alloc();
  }

  void walk(const json::value& v, const std::string& path) {
    if (v.is_string()) {
      text(v.get_string(), path);
    } else if (v.is_object()) {
      for (auto& kv : v.get_object()) {
        std::string p = path + "/" + std::string(kv.key());
        text(kv.key(), p + " (key)");
        walk(kv.value(), p);
      }
    } else if (v.is_array()) {
      std::size_t i = 0;
      for (auto& e : v.get_array()) walk(e, path + "/" + std::to_string(i++));
    }
  }

 private:
  void add(std::string rule, const std::string& path, std::string detail) {
    if (!seen_.insert(rule + "|" + path).second) return;
    out_.push_back(LintFinding{std::move(rule), path, std::move(detail)});
  }

  void text(std::string_view s, const std::string& path) {
    if (s.empty()) return;
    std::size_t limit = path == "/description" ? kLintMaxDescription : kLintMaxString;
    if (s.size() > limit)
      add("oversized", path, fmt::format("{} bytes (at most {})", s.size(), limit));
    characters(s, path);
    phrases(s, path);
    mentions(s, path);
  }

  void characters(std::string_view s, const std::string& path) {
    std::uint32_t prev = 0;
    // Words: runs of letters; a word mixing scripts reads as something else.
    bool latin = false, foreign = false;
    std::size_t letters = 0, word_start = 0;
    auto end_word = [&](std::size_t end) {
      if (letters >= 3 && latin && foreign)
        add("lookalike", path,
            "'" + protocol::printable(s.substr(word_start, end - word_start)) +
                "' mixes Latin with Cyrillic or Greek letters");
      latin = foreign = false;
      letters = 0;
    };
    for (std::size_t i = 0; i < s.size();) {
      std::size_t at = i;
      std::uint32_t cp = decode(s, i);
      std::size_t j = i;
      std::uint32_t next = i < s.size() ? decode(s, j) : 0;
      if (const char* kind = hidden_kind(cp, prev, next))
        add("hidden_characters", path, fmt::format("{} U+{:04X} at byte {}", kind, cp, at));
      Script sc = script_of(cp);
      if (sc == Script::kLookalike) {
        add("lookalike", path,
            fmt::format("U+{:04X} at byte {} is a mathematical or full-width letter", cp, at));
      } else if (sc != Script::kNone) {
        if (letters == 0) word_start = at;
        ++letters;
        (sc == Script::kLatin ? latin : foreign) = true;
      } else {
        end_word(at);
      }
      prev = cp;
    }
    end_word(s.size());
  }

  struct MatchCtx {
    Linter* self;
    const std::string* path;
    std::string_view text;
  };

  static int on_match(unsigned id, unsigned long long /*from*/, unsigned long long to,
                      unsigned /*flags*/, void* p) {
    auto* m = static_cast<MatchCtx*>(p);
    // A database from the cache passed Vectorscan's checks, but only ids
    // of these patterns are ever looked up.
    if (id >= std::size(kPatterns)) return 0;
    // ... nor is its end trusted to lie within the text.
    std::size_t end = std::min(static_cast<std::size_t>(to), m->text.size());
    std::size_t begin = end > 60 ? end - 60 : 0;
    m->self->add(kPatterns[id].rule, *m->path,
                 "... " + protocol::printable(m->text.substr(begin, end - begin), 120));
    return 0;
  }

  void phrases(std::string_view s, const std::string& path) {
    pii::NormalizedText norm(s);
    std::string_view t = norm.text();
    MatchCtx m{this, &path, t};
    hs_scan(db_, t.data(), static_cast<unsigned>(t.size()), 0, scratch_.s, on_match, &m);
  }

  void mentions(std::string_view s, const std::string& path) {
    auto word_char = [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-' || c == '.';
    };
    for (const auto& prefix : ctx_.other_prefixes) {
      if (prefix.empty()) continue;
      std::string ns = prefix + "__";
      for (std::size_t pos = s.find(ns); pos != std::string_view::npos; pos = s.find(ns, pos + 1)) {
        std::size_t e = pos + ns.size();
        if ((pos == 0 || !word_char(s[pos - 1])) && e < s.size() && word_char(s[e])) {
          std::size_t end = e;
          while (end < s.size() && word_char(s[end])) ++end;
          add("other_server_tool", path,
              "mentions '" + protocol::printable(s.substr(pos, end - pos)) +
                  "', a tool of another server");
          break;
        }
      }
    }
    for (const auto& name : ctx_.other_tools) {
      if (name.empty()) continue;
      for (std::size_t pos = s.find(name); pos != std::string_view::npos;
           pos = s.find(name, pos + 1)) {
        bool left = pos == 0 || !word_char(s[pos - 1]);
        std::size_t e = pos + name.size();
        // A trailing '.' ends a sentence, not the name.
        bool right = e >= s.size() || !word_char(s[e]) ||
                     (s[e] == '.' && (e + 1 >= s.size() || !word_char(s[e + 1])));
        if (left && right) {
          add("other_server_tool", path,
              "mentions '" + protocol::printable(name) + "', a tool of another server");
          break;
        }
      }
    }
  }

  const LintContext& ctx_;
  std::vector<LintFinding>& out_;
  std::set<std::string> seen_;
  const hs_database_t* db_;
  Scratch scratch_;
};

}  // namespace

std::vector<LintFinding> lint_definition(const json::object& definition,
                                         const LintContext& context) {
  std::vector<LintFinding> out;
  Linter l(context, out);
  l.walk(definition, "");
  return out;
}

void set_lint_cache_dir(const std::filesystem::path& cache_dir) {
  std::lock_guard lk(g_cache_dir_mu);
  g_cache_dir = cache_dir;
}

void prepare_lint() { database(); }

LintDbProbe probe_lint_database(const std::filesystem::path& cache_dir, std::string_view text) {
  LintDbProbe out;
  Db d;
  d.db = load_or_compile(cache_dir, &out.loaded);
  Scratch scratch;
  if (hs_alloc_scratch(d.db, &scratch.s) != HS_SUCCESS) throw std::bad_alloc();
  auto count = [](unsigned, unsigned long long, unsigned long long, unsigned, void* n) {
    ++*static_cast<std::size_t*>(n);
    return 0;
  };
  hs_scan(d.db, text.data(), static_cast<unsigned>(text.size()), 0, scratch.s, count, &out.matches);
  // The same text through the linter's own match handler, as a description.
  std::vector<LintFinding> findings;
  const LintContext no_context;  // the linter keeps a reference
  Linter l(no_context, findings, d.db);
  l.walk(json::object{{"description", text}}, "");
  for (auto& f : findings)
    if (f.rule != "hidden_characters" && f.rule != "lookalike" && f.rule != "oversized")
      out.rules.push_back(std::move(f.rule));
  return out;
}

json::array findings_json(const std::vector<LintFinding>& findings) {
  json::array out;
  for (const auto& f : findings)
    out.push_back(json::object{{"rule", f.rule}, {"path", f.path}, {"detail", f.detail}});
  return out;
}

}  // namespace bastion::gateway
