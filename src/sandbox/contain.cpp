#include "sandbox/contain.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace bastion::sandbox {

namespace fs = std::filesystem;

Result<Containment> contain(const SandboxOptions& o, const Host& host, const std::string& server) {
  Containment c;
  auto id = resolve_identity(o.identity, o.user, o.instance + "/" + server, false, host.identity);
  if (!id.ok()) return id.error();
  c.identity = id.value();
  c.enforced.push_back("user: " + c.identity.description);
  const auto& lim = o.limits;
  if (host.cgroup_fs) {
    auto layout = CgroupLayout::detect(o.cgroup_root, *host.cgroup_fs);
    c.cgroup = create_cgroup_leaf(layout, *host.cgroup_fs, cgroup_leaf_name(server), lim.max_pids,
                                  lim.memory_bytes);
    if (layout.empty() && lim.max_pids)
      c.cgroup.pids_problem = fmt::format("no cgroup hierarchy under {}", o.cgroup_root);
  }
  auto pids =
      choose_pids_bound(lim.max_pids, c.cgroup.pids, host.user_namespaces, c.cgroup.pids_problem);
  if (!pids.ok()) {
    undo(c, host);
    return pids.error();
  }
  c.pids = pids.value();
  c.enforced.insert(c.enforced.end(), c.cgroup.enforced.begin(), c.cgroup.enforced.end());
  if (c.pids == PidsBound::kUserNamespace)
    c.enforced.push_back(
        fmt::format("RLIMIT_NPROC={} in the server's own user namespace (no cgroup: {})",
                    lim.max_pids, c.cgroup.pids_problem));
  if (c.pids == PidsBound::kNone) c.enforced.push_back("no process limit (limits.pids: 0)");
  c.rlimits = rlimits_for(lim, c.cgroup.memory);
  c.enforced.insert(c.enforced.end(), c.rlimits.enforced.begin(), c.rlimits.enforced.end());
  return c;
}

void undo(const Containment& c, const Host& host) {
  if (host.cgroup_fs && !c.cgroup.dirs.empty())
    remove_cgroup_leaf(c.cgroup, *host.cgroup_fs, std::chrono::milliseconds(2000));
}

void apply(const Containment& c, const SandboxOptions& o, ChildSetup& s) {
  s.cgroup_procs = c.cgroup.procs;
  s.rlimits = c.rlimits.values;
  if (c.identity.switch_user) s.user = UserSwitch{c.identity.uid, c.identity.gid};
  s.no_new_privs = true;
  if (c.pids == PidsBound::kUserNamespace) s.nproc_userns = o.limits.max_pids;
}

namespace {

// A descriptor closed when it goes out of scope.
struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      if (fd >= 0) ::close(fd);
      fd = std::exchange(o.fd, -1);
    }
    return *this;
  }
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Root's or Bastion's own.
bool ours(uid_t uid) { return uid == 0 || uid == ::geteuid(); }

// Only root and Bastion's own uid can change the entries of this directory:
// a link found in it was put there by one of them, and stays what it was
// between looking at it and opening it.
bool entries_trusted(int dir) {
  struct stat st {};
  if (::fstat(dir, &st) != 0) return false;
  return ours(st.st_uid) && !(st.st_mode & (S_IWGRP | S_IWOTH));
}

// The directory `name` in `dir`, never reached through a link someone else
// could have put there; an Fd of -1 when nothing of that name is there.
Result<Fd> open_level(int dir, const std::string& name, const fs::path& p, const fs::path& shown) {
  Fd next(::openat(dir, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (next.fd >= 0) return next;
  const int err = errno;
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) return Fd();
  if (!S_ISLNK(st.st_mode))
    return Error{fmt::format("cannot create paths.read_write {}: {}: {}", p.string(),
                             shown.string(), std::strerror(err))};
  if (!entries_trusted(dir) || !ours(st.st_uid))
    return Error{fmt::format(
        "cannot create paths.read_write {}: {} is a symbolic link in a directory others can "
        "change (not followed)",
        p.string(), shown.string())};
  Fd followed(::openat(dir, name.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (followed.fd < 0)
    return Error{fmt::format("cannot create paths.read_write {}: {}: {}", p.string(),
                             shown.string(), std::strerror(errno))};
  return followed;
}

// Creates what is missing of `p`, each new level 0700 and owned by the
// server's user, walking down by descriptors from "/": no level is looked up
// by its path again after it was checked, and a link is followed only where
// neither the server nor anyone but root and Bastion could have made it. A
// server that swaps one of its own directories for a link to /etc/shadow
// while another instance starts gets an error, not the file (Bastion's chown
// runs as root).
Result<Done> make_writable(const fs::path& given, const Identity& id) {
  std::error_code ec;
  const fs::path p = fs::absolute(given, ec).lexically_normal();
  if (ec) return Error{fmt::format("paths.read_write {}: {}", given.string(), ec.message())};
  Fd dir(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (dir.fd < 0) return Error{fmt::format("cannot open /: {}", std::strerror(errno))};
  fs::path shown = "/";
  for (const auto& part : p.relative_path()) {
    const std::string name = part.string();
    if (name.empty() || name == ".") continue;
    shown /= part;
    if (name == "..")
      return Error{fmt::format("paths.read_write {} has a '..' component", p.string())};
    auto next = open_level(dir.fd, name, p, shown);
    if (!next.ok()) return next.error();
    if (next->fd < 0) {
      if (::mkdirat(dir.fd, name.c_str(), 0700) != 0 && errno != EEXIST)
        return Error{fmt::format("cannot create paths.read_write {}: {}: {}", p.string(),
                                 shown.string(), std::strerror(errno))};
      // Opened again without following anything: what is there now must be
      // a directory (it may be one the server made in the meantime; handing
      // the server its own directory gives it nothing).
      Fd made(::openat(dir.fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      struct stat st {};
      if (made.fd < 0 || ::fstat(made.fd, &st) != 0 || !S_ISDIR(st.st_mode))
        return Error{fmt::format("cannot create paths.read_write {}: {} changed while it was made",
                                 p.string(), shown.string())};
      if (id.switch_user && ::fchownat(made.fd, "", id.uid, id.gid, AT_EMPTY_PATH) != 0)
        return Error{fmt::format("cannot hand {} to uid {}: {}", shown.string(), id.uid,
                                 std::strerror(errno))};
      dir = std::move(made);
      continue;
    }
    dir = std::move(next.value());
  }
  return Done{};
}

}  // namespace

Result<Done> prepare_writable(const std::vector<std::string>& paths, const Identity& id) {
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::exists(p, ec)) continue;  // nothing to make, nothing handed over
    if (auto r = make_writable(fs::path(p), id); !r.ok()) return r.error();
  }
  return Done{};
}

}  // namespace bastion::sandbox
