// URI templates of MCP resource templates (RFC 6570 level 1), matched
// against URIs a client sends in resources/read. Input: the pattern on the
// first line, the URI after it. Promises checked: a match's variables are
// non-empty and hold no '/', and putting them back into the pattern gives
// the URI again (when each variable is named once).
#include "protocol/uri_template.hpp"

#include <map>
#include <set>

#include "fuzz_util.hpp"

using namespace bastion;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest = fuzz::as_text(data, size);
  std::string_view pattern = fuzz::take(rest, '\n');
  std::string_view uri = rest;
  std::map<std::string, std::string> vars;
  bool matched = protocol::match_uri_template(pattern, uri, &vars);
  FUZZ_CHECK(matched == protocol::match_uri_template(pattern, uri, nullptr));
  if (!matched) return 0;
  std::string rebuilt;
  std::set<std::string> names;
  bool unique = true;
  for (std::size_t p = 0; p < pattern.size();) {
    if (pattern[p] == '{') {
      auto close = pattern.find('}', p);
      FUZZ_CHECK(close != std::string_view::npos);  // else no match
      std::string name(pattern.substr(p + 1, close - p - 1));
      unique = unique && names.insert(name).second;
      auto it = vars.find(name);
      FUZZ_CHECK(it != vars.end());
      FUZZ_CHECK(!it->second.empty() && it->second.find('/') == std::string::npos);
      rebuilt += it->second;
      p = close + 1;
    } else {
      rebuilt += pattern[p++];
    }
  }
  if (unique) FUZZ_CHECK(rebuilt == uri);
  return 0;
}
