// For tests: a cgroup file system in memory (CgroupFs), v2 or v1, so the
// cgroup code and what composes it (contain) run without a real hierarchy.
#pragma once

#include <errno.h>
#include <sys/types.h>

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sandbox/cgroups.hpp"

namespace bastion::sandbox::testing {

// A cgroup file system in memory, behaving as the kernel's does for what
// the module uses: mkdir makes the control files, rmdir fails while
// processes remain, control files cannot be created by writing.
class FakeCgroupFs : public CgroupFs {
 public:
  // v2: `controllers` enabled for children; v1: one hierarchy per name.
  explicit FakeCgroupFs(bool v2, std::set<std::string> controllers = {"pids", "memory"})
      : v2_(v2), enabled_(std::move(controllers)) {
    if (v2_) {
      mkdir_raw("/cg");
      files_["/cg/cgroup.controllers"] = "pids memory";
      files_["/cg/cgroup.subtree_control"] = "";
    } else {
      for (const char* h : {"/cg/pids", "/cg/memory"}) {
        mkdir_raw(h);
        files_[std::string(h) + "/cgroup.procs"] = "";
      }
    }
  }
  bool exists(const std::string& p) const override {
    std::lock_guard lk(mu_);
    return dirs_.count(p) || files_.count(p);
  }
  int make_dir(const std::string& p) override {
    std::lock_guard lk(mu_);
    if (read_only_) return EACCES;
    if (dirs_.count(p)) return EEXIST;
    mkdir_raw(p);
    files_[p + "/cgroup.procs"] = "";
    if (v2_) {
      files_[p + "/cgroup.kill"] = "";
      for (const auto& c : enabled_) add_controller_files(p, c);
    } else if (p.starts_with("/cg/pids/")) {
      files_[p + "/pids.max"] = "max";
    } else if (p.starts_with("/cg/memory/")) {
      files_[p + "/memory.limit_in_bytes"] = "";
    }
    return 0;
  }
  int remove_dir(const std::string& p) override {
    std::lock_guard lk(mu_);
    if (!dirs_.count(p)) return ENOENT;
    if (!procs_[p].empty()) return EBUSY;
    dirs_.erase(p);
    for (auto it = files_.begin(); it != files_.end();)
      it = it->first.starts_with(p + "/") ? files_.erase(it) : std::next(it);
    return 0;
  }
  int write(const std::string& p, const std::string& v) override {
    std::lock_guard lk(mu_);
    auto it = files_.find(p);
    if (it == files_.end()) return ENOENT;
    if (p.ends_with("/cgroup.subtree_control")) {
      // Enabling a controller gives the existing children its files too.
      if (v.starts_with("+")) {
        enabled_.insert(v.substr(1));
        for (const auto& d : dirs_)
          if (d.starts_with("/cg/")) add_controller_files(d, v.substr(1));
      }
      return 0;
    }
    if (p.ends_with("/cgroup.kill")) {
      procs_[p.substr(0, p.rfind('/'))].clear();
      return 0;
    }
    it->second = v;
    return 0;
  }
  std::optional<std::string> read(const std::string& p) const override {
    std::lock_guard lk(mu_);
    if (p.ends_with("/cgroup.procs")) {
      auto d = p.substr(0, p.rfind('/'));
      if (!dirs_.count(d)) return std::nullopt;
      std::string s;
      auto it = procs_.find(d);
      if (it != procs_.end())
        for (pid_t x : it->second) s += std::to_string(x) + "\n";
      return s;
    }
    auto it = files_.find(p);
    if (it == files_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::string> list_dirs(const std::string& p) const override {
    std::lock_guard lk(mu_);
    std::vector<std::string> out;
    for (const auto& d : dirs_)
      if (d.starts_with(p + "/") && d.find('/', p.size() + 1) == std::string::npos)
        out.push_back(d.substr(p.size() + 1));
    return out;
  }
  void kill(pid_t pid) override {
    std::lock_guard lk(mu_);
    killed_.insert(pid);
    for (auto& [d, s] : procs_) s.erase(pid);
  }

  void add_process(const std::string& dir, pid_t pid) {
    std::lock_guard lk(mu_);
    procs_[dir].insert(pid);
  }
  std::string file(const std::string& p) const { return read(p).value_or("<none>"); }
  bool has_dir(const std::string& p) const { return exists(p); }
  std::set<pid_t> killed() const {
    std::lock_guard lk(mu_);
    return killed_;
  }
  void set_read_only() { read_only_ = true; }

 private:
  void mkdir_raw(const std::string& p) { dirs_.insert(p); }
  void add_controller_files(const std::string& p, const std::string& c) {
    if (c == "pids") files_[p + "/pids.max"] = "max";
    if (c == "memory") {
      files_[p + "/memory.max"] = "max";
      files_[p + "/memory.swap.max"] = "max";
    }
  }

  mutable std::mutex mu_;
  bool v2_;
  bool read_only_ = false;
  std::set<std::string> enabled_;
  std::set<std::string> dirs_;
  std::map<std::string, std::string> files_;
  std::map<std::string, std::set<pid_t>> procs_;
  std::set<pid_t> killed_;
};

}  // namespace bastion::sandbox::testing
