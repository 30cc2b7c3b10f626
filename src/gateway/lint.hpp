// The tool-poisoning linter: findings in a pinned definition (definition.hpp)
// that try to steer the model instead of describing the tool. Pure function;
// what it reads is every string of the definition (descriptions, titles,
// schema property names and descriptions, enum values, defaults).
//
//   hidden_characters   Unicode tag characters (U+E0000-E007F), bidi
//                       controls, zero-width characters, variation selectors
//                       other than the emoji one, C0/C1 controls and ESC
//   lookalike           a word mixing Latin with Cyrillic or Greek letters,
//                       or mathematical/full-width letters that read as Latin
//   instruction         text addressed to the assistant: "ignore previous
//                       instructions", <IMPORTANT>/<system> blocks, "before
//                       using this tool ...", "do not tell the user"
//   sensitive_file      a request to read SSH/cloud keys, /etc/passwd, MCP
//                       client configurations and the like
//   tool_call           a request to call (or to use instead) another tool
//   other_server_tool   a mention of another server's tool by name
//   exfiltration_url    a URL together with a request to send data to it
//   oversized           a description over 4 KiB, any other string over 2 KiB
//
// Instruction patterns run (Vectorscan, caseless) over the text as the PII
// scanner normalizes it (NFKC, invisible characters removed), so full-width
// letters or a zero-width space inside "ignore" do not hide a phrase.
// Ordinary descriptions — of file, network, database or Korean tools — must
// produce no finding (lint_test.cpp holds hard negatives).
//
// Thread-safety: lint_definition may be called from any thread.
#pragma once

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace bastion::gateway {

struct LintFinding {
  std::string rule;    // one of the rules above
  std::string path;    // JSON Pointer of the string ("/description")
  std::string detail;  // what was found, printable
};

struct LintContext {
  // Names of other servers' tools that a description should not mention:
  // their exposed names ("files__read_file") and their names at the server.
  std::vector<std::string> other_tools;
  // Other servers' prefixes: "<prefix>__<anything>" names one of their tools
  // whether or not that server has listed yet.
  std::vector<std::string> other_prefixes;
};

inline constexpr std::size_t kLintMaxDescription = 4096;
inline constexpr std::size_t kLintMaxString = 2048;

std::vector<LintFinding> lint_definition(const boost::json::object& definition,
                                         const LintContext& context = {});

// Where the compiled instruction patterns are cached: loaded from there when
// a cache file passes pii/db_cache.hpp's checks (and Vectorscan's), stored
// there after compiling. Takes effect if set before the database is first
// needed (by prepare_lint or a lint); empty (the default): not cached.
void set_lint_cache_dir(const std::filesystem::path& cache_dir);

// Compiles (or loads) the instruction patterns now (~100-150 ms of
// Vectorscan to compile), so the first lint_definition (a lazily started
// server's first call) does not wait for it. The first call (or the first
// lint) does the work; the others wait for it. Throws std::logic_error when
// the patterns do not compile (a defect).
void prepare_lint();

// For tests: a database apart from the one lint_definition uses, loaded
// from `cache_dir` or compiled (and stored there), the number of pattern
// matches it finds in `text`, and the rules of the pattern findings the
// linter makes of them when `text` is a tool's description.
struct LintDbProbe {
  bool loaded = false;  // from the cache file
  std::size_t matches = 0;
  std::vector<std::string> rules;
};
LintDbProbe probe_lint_database(const std::filesystem::path& cache_dir, std::string_view text);

// The findings as JSON (for the pin store and audit events).
boost::json::array findings_json(const std::vector<LintFinding>& findings);

}  // namespace bastion::gateway
