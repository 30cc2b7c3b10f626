// RFC 6570 level-1 URI template matching.
#include "protocol/uri_template.hpp"

namespace bastion::protocol {

bool match_uri_template(std::string_view pattern, std::string_view uri,
                        std::map<std::string, std::string>* vars) {
  std::size_t p = 0, u = 0;
  while (p < pattern.size()) {
    if (pattern[p] == '{') {
      auto close = pattern.find('}', p);
      if (close == std::string_view::npos) return false;
      std::string name(pattern.substr(p + 1, close - p - 1));
      p = close + 1;
      // A variable runs to the next literal character (or '/'), never empty.
      char stop = p < pattern.size() ? pattern[p] : '\0';
      std::size_t start = u;
      while (u < uri.size() && uri[u] != '/' && (stop == '\0' || uri[u] != stop)) ++u;
      if (u == start) return false;
      if (vars) (*vars)[name] = std::string(uri.substr(start, u - start));
    } else {
      if (u >= uri.size() || uri[u] != pattern[p]) return false;
      ++p;
      ++u;
    }
  }
  return u == uri.size();
}

}  // namespace bastion::protocol
