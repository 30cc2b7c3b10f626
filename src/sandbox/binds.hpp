// Which host paths a sandboxed server sees besides the system directories,
// and the rule that none of them exposes what must stay hidden.
//
// Implied binds come from the command line: an argv element naming an
// existing regular file binds that file alone, or its package root when it
// belongs to one — the outermost `node_modules` directory above it, else
// the nearest directory above it holding package.json, pyproject.toml,
// setup.py or __init__.py. The search stops below home directories and the
// file system root, so a script in a home directory binds only itself.
// Directories named on the command line are not bound: grant them in
// paths.read_only / paths.read_write.
//
// No bind may contain or lie inside a protected path (data_dir, the audit
// directory, secret files, the configuration files), and no implied bind
// may be or contain a home directory: such a server is refused with an
// error naming both paths. Paths are compared after resolving symlinks.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sandbox/error.hpp"

namespace bastion::sandbox {

struct Bind {
  std::string source;  // resolved host path
  std::string dest;    // where the server sees it (the path as configured)
  bool writable = false;
  bool implied = false;    // from the command line, not from paths:
  std::string implied_by;  // the argv element it came from
};

struct BindPolicy {
  std::vector<std::string> protected_paths;  // never visible, in whole or in part
  std::vector<std::string> home_dirs;        // never bound implicitly
};

// Home directories on this host: root's and login users' (uid >= 1000) from
// the user database, every directory in /home, and $HOME.
std::vector<std::string> home_directories();

// The package root of `file` (see above), or nullopt: bind the file alone.
std::optional<std::string> package_root(const std::string& file,
                                        const std::vector<std::string>& home_dirs);

// Every bind for a server, parents before children. `read_write` paths
// must exist (the caller creates missing ones first).
Result<std::vector<Bind>> plan_binds(const std::vector<std::string>& argv,
                                     const std::vector<std::string>& read_only,
                                     const std::vector<std::string>& read_write,
                                     const BindPolicy& policy);

// Whether `outer` is `inner` or one of its ancestors (lexically, on
// normalised absolute paths).
bool path_contains(const std::string& outer, const std::string& inner);

}  // namespace bastion::sandbox
