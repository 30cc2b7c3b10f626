// The environment a server starts with. Nothing of Bastion's own
// environment reaches it except LANG, LC_ALL and TZ: PATH is fixed, HOME is
// private to the server (the sandbox's /tmp, or a directory made for this
// instance under the process runtime), and the rest is what the server's
// `env:` and `secrets:` set — which may override PATH and HOME on purpose.
// The values travel in the exec environment of the runtime's program
// (bwrap, the docker CLI), never on a command line.
#pragma once

#include <map>
#include <string>

namespace bastion::sandbox {

inline constexpr const char* kServerPath = "/usr/local/bin:/usr/bin:/bin";

std::map<std::string, std::string> server_environment(const std::map<std::string, std::string>& own,
                                                      const std::string& home);

}  // namespace bastion::sandbox
