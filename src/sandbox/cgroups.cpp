#include "sandbox/cgroups.hpp"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>

namespace bastion::sandbox {

namespace fs = std::filesystem;

namespace {

class SystemCgroupFs : public CgroupFs {
 public:
  bool exists(const std::string& path) const override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }
  int make_dir(const std::string& path) override {
    return ::mkdir(path.c_str(), 0755) == 0 ? 0 : errno;
  }
  int remove_dir(const std::string& path) override {
    return ::rmdir(path.c_str()) == 0 ? 0 : errno;
  }
  int write(const std::string& path, const std::string& value) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    ssize_t n = ::write(fd, value.data(), value.size());
    int e = n == static_cast<ssize_t>(value.size()) ? 0 : (n < 0 ? errno : EIO);
    ::close(fd);
    return e;
  }
  std::optional<std::string> read(const std::string& path) const override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    if (n < 0) return std::nullopt;
    return out;
  }
  std::vector<std::string> list_dirs(const std::string& path) const override {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(path, ec))
      if (e.is_directory(ec)) out.push_back(e.path().filename().string());
    return out;
  }
  void kill(pid_t pid) override { ::kill(pid, SIGKILL); }
};

std::atomic<std::uint64_t> g_leaf_seq{0};

std::vector<pid_t> pids_in(const CgroupFs& fs, const std::string& dir) {
  std::vector<pid_t> out;
  auto text = fs.read(dir + "/cgroup.procs");
  if (!text) return out;
  std::istringstream in(*text);
  long p;
  while (in >> p)
    if (p > 0) out.push_back(static_cast<pid_t>(p));
  return out;
}

}  // namespace

CgroupFs& CgroupFs::system() {
  static SystemCgroupFs fs;
  return fs;
}

CgroupLayout CgroupLayout::detect(const std::string& root, const CgroupFs& fs) {
  CgroupLayout l;
  if (root.empty()) return l;
  if (fs.exists(root + "/cgroup.controllers")) {
    l.v2 = root;
    return l;
  }
  if (fs.exists(root + "/pids/cgroup.procs")) l.v1_pids = root + "/pids";
  if (fs.exists(root + "/memory/cgroup.procs")) l.v1_memory = root + "/memory";
  return l;
}

std::string cgroup_leaf_name(const std::string& server) {
  return fmt::format("bastion-{}-{}-{}", ::getpid(), server, g_leaf_seq++);
}

CgroupLeaf create_cgroup_leaf(const CgroupLayout& layout, CgroupFs& fs, const std::string& leaf,
                              std::uint64_t max_pids, std::uint64_t memory_bytes) {
  CgroupLeaf out;
  if (max_pids == 0 && memory_bytes == 0) return out;
  auto problem = [&](std::string why) {
    if (max_pids && out.pids_problem.empty()) out.pids_problem = std::move(why);
  };
  if (!layout.v2.empty()) {
    std::string dir = layout.v2 + "/" + leaf;
    if (int e = fs.make_dir(dir)) {
      problem(fmt::format("cannot create cgroup {}: {}", dir, std::strerror(e)));
      return out;
    }
    out.dirs.push_back(dir);
    auto set = [&](const char* file, std::uint64_t v) {
      std::string path = dir + "/" + file;
      int e = fs.write(path, std::to_string(v));
      if (e == ENOENT) {
        // The controller is not enabled for children of this cgroup yet.
        std::string ctl = std::string(file).substr(0, std::string(file).find('.'));
        fs.write(layout.v2 + "/cgroup.subtree_control", "+" + ctl);
        e = fs.write(path, std::to_string(v));
      }
      return e;
    };
    if (max_pids) {
      if (int e = set("pids.max", max_pids)) {
        problem(fmt::format("cannot set {}/pids.max: {}", dir, std::strerror(e)));
      } else {
        out.pids = true;
        out.enforced.push_back(fmt::format("pids.max={} (cgroup v2)", max_pids));
      }
    }
    if (memory_bytes && set("memory.max", memory_bytes) == 0) {
      fs.write(dir + "/memory.swap.max", "0");  // else the limit only pushes pages to swap
      out.memory = true;
      out.enforced.push_back(fmt::format("memory.max={} (cgroup v2)", memory_bytes));
    }
    if (out.pids || out.memory) out.procs.push_back(dir + "/cgroup.procs");
    return out;
  }
  if (max_pids) {
    if (layout.v1_pids.empty()) {
      problem("no cgroup pids controller is mounted");
    } else {
      std::string dir = layout.v1_pids + "/" + leaf;
      if (int e = fs.make_dir(dir)) {
        problem(fmt::format("cannot create cgroup {}: {}", dir, std::strerror(e)));
      } else {
        out.dirs.push_back(dir);
        if (int w = fs.write(dir + "/pids.max", std::to_string(max_pids))) {
          problem(fmt::format("cannot set {}/pids.max: {}", dir, std::strerror(w)));
        } else {
          out.pids = true;
          out.procs.push_back(dir + "/cgroup.procs");
          out.enforced.push_back(fmt::format("pids.max={} (cgroup v1)", max_pids));
        }
      }
    }
  }
  if (memory_bytes && !layout.v1_memory.empty()) {
    std::string dir = layout.v1_memory + "/" + leaf;
    if (fs.make_dir(dir) == 0) {
      out.dirs.push_back(dir);
      if (fs.write(dir + "/memory.limit_in_bytes", std::to_string(memory_bytes)) == 0) {
        // Without swap accounting this file is absent and the limit only
        // pushes pages to swap; with it, swap counts too.
        fs.write(dir + "/memory.memsw.limit_in_bytes", std::to_string(memory_bytes));
        out.memory = true;
        out.procs.push_back(dir + "/cgroup.procs");
        out.enforced.push_back(fmt::format("memory={} (cgroup v1)", memory_bytes));
      }
    }
  }
  return out;
}

std::vector<std::string> remove_cgroup_leaf(const CgroupLeaf& leaf, CgroupFs& fs,
                                            std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  std::vector<std::string> left;
  for (const auto& dir : leaf.dirs) {
    // Whatever the server left (daemonised children) goes with it.
    if (fs.write(dir + "/cgroup.kill", "1") != 0)
      for (pid_t p : pids_in(fs, dir)) fs.kill(p);
    for (;;) {
      int e = fs.remove_dir(dir);
      if (e == 0 || e == ENOENT) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        spdlog::warn("cgroup {} not removed: {}", dir, std::strerror(e));
        left.push_back(dir);
        break;
      }
      for (pid_t p : pids_in(fs, dir)) fs.kill(p);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return left;
}

std::size_t remove_stale_cgroup_leaves(const CgroupLayout& layout, CgroupFs& fs,
                                       const std::function<bool(pid_t)>& alive) {
  std::size_t removed = 0;
  pid_t self = ::getpid();
  for (const auto* root : {&layout.v2, &layout.v1_pids, &layout.v1_memory}) {
    if (root->empty()) continue;
    for (const auto& name : fs.list_dirs(*root)) {
      if (!name.starts_with("bastion-")) continue;
      std::size_t i = 8;
      long pid = 0;
      while (i < name.size() && name[i] >= '0' && name[i] <= '9' && pid < (1L << 30))
        pid = pid * 10 + (name[i++] - '0');
      if (i == 8 || i >= name.size() || name[i] != '-') continue;
      if (pid == self || alive(static_cast<pid_t>(pid))) continue;
      std::string dir = *root + "/" + name;
      if (!pids_in(fs, dir).empty()) {
        spdlog::warn("stale cgroup {} still has processes: left in place", dir);
        continue;
      }
      if (fs.remove_dir(dir) == 0) ++removed;
    }
  }
  return removed;
}

}  // namespace bastion::sandbox
