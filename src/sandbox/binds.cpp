#include "sandbox/binds.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

namespace bastion::sandbox {

namespace fs = std::filesystem;

namespace {

// Mounted read-only for every server anyway (bwrap binds /usr; /bin, /lib...
// are links into it on Debian 12).
bool system_path(const std::string& p) {
  for (const char* d : {"/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32"})
    if (path_contains(d, p)) return true;
  return false;
}

std::string resolved(const std::string& p) {
  std::error_code ec;
  auto r = fs::weakly_canonical(p, ec);
  return ec ? fs::path(p).lexically_normal().string() : r.string();
}

bool present(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

bool is_home(const std::string& p, const std::vector<std::string>& homes) {
  for (const auto& h : homes)
    if (p == h || resolved(p) == resolved(h)) return true;
  return false;
}

// The first protected path the bind would show, or "".
std::string exposed(const std::string& source, const BindPolicy& policy) {
  for (const auto& raw : policy.protected_paths) {
    if (raw.empty()) continue;
    std::string p = resolved(raw);
    if (path_contains(source, p) || path_contains(p, source)) return raw;
  }
  return {};
}

// `root` is an ancestor of `normal`, the normal form of `given`: the same
// ancestor spelt as `given` spells it (".." kept), so the server's own path
// resolves inside the sandbox; `root` itself when that cannot be told.
std::string given_prefix(const std::string& given, const std::string& normal,
                         const std::string& root) {
  auto count = [](const fs::path& p) { return std::distance(p.begin(), p.end()); };
  auto strip = count(fs::path(normal)) - count(fs::path(root));
  fs::path g(given);
  std::vector<fs::path> parts(g.begin(), g.end());
  if (strip < 0 || static_cast<std::size_t>(strip) >= parts.size()) return root;
  for (auto it = parts.end() - strip; it != parts.end(); ++it)
    if (*it == ".." || *it == "." || it->empty()) return root;
  fs::path out;
  for (auto it = parts.begin(); it != parts.end() - strip; ++it) out /= *it;
  return out.lexically_normal() == fs::path(root) ? out.string() : root;
}

}  // namespace

bool path_contains(const std::string& outer, const std::string& inner) {
  std::string o = fs::path(outer).lexically_normal().string();
  std::string i = fs::path(inner).lexically_normal().string();
  while (o.size() > 1 && o.back() == '/') o.pop_back();
  while (i.size() > 1 && i.back() == '/') i.pop_back();
  if (o == "/") return !i.empty() && i[0] == '/';
  return i == o || (i.size() > o.size() && i.compare(0, o.size(), o) == 0 && i[o.size()] == '/');
}

std::vector<std::string> home_directories() {
  std::set<std::string> out;
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
  ::setpwent();
  for (;;) {
    struct passwd pw;
    struct passwd* e = nullptr;
    if (::getpwent_r(&pw, buf.data(), buf.size(), &e) != 0 || !e) break;
    if (!e->pw_dir || e->pw_dir[0] != '/' || std::string(e->pw_dir) == "/") continue;
    if (e->pw_uid == 0 || (e->pw_uid >= 1000 && e->pw_uid != 65534)) out.insert(e->pw_dir);
  }
  ::endpwent();
  std::error_code ec;
  for (const auto& d : fs::directory_iterator("/home", ec))
    if (d.is_directory(ec)) out.insert(d.path().string());
  if (const char* h = std::getenv("HOME"); h && h[0] == '/' && std::string(h) != "/")
    out.insert(fs::path(h).lexically_normal().string());
  out.insert("/root");
  return {out.begin(), out.end()};
}

std::optional<std::string> package_root(const std::string& file,
                                        const std::vector<std::string>& home_dirs) {
  fs::path p = fs::path(file).lexically_normal();
  // A Node package needs its dependencies: the whole (outermost) node_modules.
  std::optional<std::string> modules;
  for (fs::path q = p.parent_path(); q.has_relative_path(); q = q.parent_path()) {
    if (is_home(q.string(), home_dirs)) break;
    if (q.filename() == "node_modules") modules = q.string();
  }
  if (modules) return modules;
  for (fs::path q = p.parent_path(); q.has_relative_path(); q = q.parent_path()) {
    if (is_home(q.string(), home_dirs)) break;
    for (const char* marker : {"package.json", "pyproject.toml", "setup.py", "__init__.py"})
      if (present(q / marker)) return q.string();
  }
  return std::nullopt;
}

Result<std::vector<Bind>> plan_binds(const std::vector<std::string>& argv,
                                     const std::vector<std::string>& read_only,
                                     const std::vector<std::string>& read_write,
                                     const BindPolicy& policy) {
  std::vector<Bind> out;
  auto granted = [&](const std::vector<std::string>& list, bool writable) -> Result<Done> {
    for (const auto& p : list) {
      // Bound where the configuration says, ".." and all: the server names
      // it that way and must be able to walk the same path inside.
      Bind b{resolved(p), p, writable, false, {}};
      if (auto hit = exposed(b.source, policy); !hit.empty())
        return Error{fmt::format(
            "paths.{} {} would expose {}, which holds Bastion's keys, secrets or configuration: "
            "grant a directory that neither contains it nor lies inside it",
            writable ? "read_write" : "read_only", p, hit)};
      out.push_back(std::move(b));
    }
    return Done{};
  };
  if (auto r = granted(read_only, false); !r.ok()) return r.error();
  if (auto r = granted(read_write, true); !r.ok()) return r.error();

  for (const auto& a : argv) {
    if (a.empty() || a[0] != '/') continue;
    struct stat st;
    if (::stat(a.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    std::string normal = fs::path(a).lexically_normal().string();
    std::string dest = a;
    std::string source = resolved(a);
    if (system_path(normal) && system_path(source)) continue;
    if (auto root = package_root(normal, policy.home_dirs)) {
      dest = given_prefix(a, normal, *root);
      source = resolved(*root);
    }
    bool covered = false;
    for (const auto& b : out)
      if (path_contains(b.dest, dest)) covered = true;
    if (covered) continue;
    if (auto hit = exposed(source, policy); !hit.empty())
      return Error{fmt::format(
          "the command's {} would bind {}, which would expose {} (Bastion's keys, secrets or "
          "configuration): move the server out of that directory or move data_dir elsewhere",
          a, dest, hit)};
    for (const auto& h : policy.home_dirs)
      if (path_contains(source, resolved(h)) || path_contains(dest, h))
        return Error{fmt::format(
            "the command's {} would bind {}, which contains the home directory {}: move the "
            "server out of it or grant what it needs in paths.read_only",
            a, dest, h)};
    out.push_back(Bind{source, dest, false, true, a});
  }
  auto key = [](const Bind& b) { return fs::path(b.dest).lexically_normal().string(); };
  std::sort(out.begin(), out.end(), [&](const Bind& x, const Bind& y) { return key(x) < key(y); });
  return out;
}

}  // namespace bastion::sandbox
