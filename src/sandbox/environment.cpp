#include "sandbox/environment.hpp"

#include <cstdlib>

namespace bastion::sandbox {

std::map<std::string, std::string> server_environment(const std::map<std::string, std::string>& own,
                                                      const std::string& home) {
  std::map<std::string, std::string> env;
  for (const char* k : {"LANG", "LC_ALL", "TZ"})
    if (const char* v = std::getenv(k)) env[k] = v;
  env["PATH"] = kServerPath;
  env["HOME"] = home;
  for (const auto& [k, v] : own) env[k] = v;
  return env;
}

}  // namespace bastion::sandbox
