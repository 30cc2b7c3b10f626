// Test-only: a fixture that writes audit logs into a private temp directory
// and reads, edits and verifies them. Shared by the writer, verifier and
// reader tests.
#pragma once

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "audit/key.hpp"
#include "audit/log.hpp"
#include "audit/reader.hpp"
#include "audit/verify.hpp"
#include "storage/temp_dir.hpp"

namespace bastion::audit::testing {

namespace fs = std::filesystem;
namespace json = boost::json;

class Audit : public ::testing::Test {
 protected:
  void SetUp() override {
    opts_.dir = root_ / "audit";
    opts_.checkpoint_every = 10;
  }

  // Writes n tool_call events and closes the log.
  std::string write_log(int n) {
    AuditLog log(opts_);
    for (int i = 0; i < n; ++i)
      log.append(json::object{{"event_type", "tool_call"}, {"tool_name", "t" + std::to_string(i)}});
    return log.public_key();
  }
  // Opens the log in a child process, runs `body`, waits `linger` (so the
  // background thread signs the head) and dies without closing the log, as
  // a `kill -9` would: no shutdown checkpoint, no final head.
  void crash_writer(const std::function<void(AuditLog&)>& body,
                    std::chrono::milliseconds linger = std::chrono::milliseconds(500)) {
    pid_t pid = ::fork();
    if (pid == 0) {
      try {
        AuditLog log(opts_);
        body(log);
        std::this_thread::sleep_for(linger);
        ::_exit(0);  // before the destructor: nothing is closed cleanly
      } catch (...) {
        ::_exit(2);
      }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  // Verifies the directory as `bastion audit verify --pubkey` does (pk:
  // base64; empty: not pinned).
  AuditReport verify(const std::string& pk, std::optional<std::uint64_t> from = std::nullopt) {
    return verify_audit(audit_files(opts_.dir), pinned(pk, from));
  }
  VerifyOptions pinned(const std::string& pk, std::optional<std::uint64_t> from = std::nullopt,
                       bool head = true) {
    VerifyOptions o;
    if (!pk.empty()) o.public_key = parse_public_key(pk);
    o.from_checkpoint = from;
    if (head) o.head_file = opts_.dir / "audit.log.head";
    return o;
  }
  // Every record of the directory, oldest first (checkpoints included).
  std::vector<json::object> records() {
    std::vector<json::object> out;
    for (const auto& f : audit_files(opts_.dir)) {
      std::ifstream in(f);
      for (std::string l; std::getline(in, l);) out.push_back(json::parse(l).as_object());
    }
    return out;
  }
  std::vector<std::string> lines() {
    std::ifstream in(opts_.dir / "audit.log");
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  void put_lines(const std::vector<std::string>& ls, bool final_newline = true) {
    std::ofstream out(opts_.dir / "audit.log", std::ios::trunc);
    for (std::size_t i = 0; i < ls.size(); ++i)
      out << ls[i] << (i + 1 < ls.size() || final_newline ? "\n" : "");
  }
  // Index of the first line containing `needle` (fails the test if none).
  static std::size_t find_line(const std::vector<std::string>& ls, std::string_view needle) {
    for (std::size_t i = 0; i < ls.size(); ++i)
      if (ls[i].find(needle) != std::string::npos) return i;
    ADD_FAILURE() << "no line contains " << needle;
    return 0;
  }
  std::string problem(const AuditReport& r) { return r.problem ? r.problem->what : "none"; }
  // A kill -9 test: in a child process with the log open, `run(log, ack)`
  // appends tool_call records and calls ack(seq, tool_name) for each one its
  // caller was told is written (ack is thread-safe; "answered": the
  // acknowledgement leaves the process); the child SIGKILLs itself at the
  // `kill_at`th. Every acknowledged record must be on file under its seq,
  // and the log must resume with its chain intact.
  using Ack = std::function<void(std::uint64_t seq, const std::string& tool_name)>;
  void expect_no_acknowledged_record_lost(int kill_at,
                                          const std::function<void(AuditLog&, const Ack&)>& run) {
    int pipefd[2];
    ASSERT_EQ(::pipe(pipefd), 0);
    pid_t child = ::fork();
    if (child == 0) {
      ::close(pipefd[0]);
      try {
        AuditLog log(opts_);
        std::atomic<int> acked{0};
        Ack ack = [&](std::uint64_t seq, const std::string& id) {
          if (seq == 0) ::_exit(3);
          std::string line = std::to_string(seq) + " " + id + "\n";
          if (::write(pipefd[1], line.data(), line.size()) != ssize_t(line.size())) ::_exit(4);
          if (acked.fetch_add(1) + 1 == kill_at) ::kill(::getpid(), SIGKILL);
        };
        run(log, ack);
      } catch (...) {
        ::_exit(2);
      }
      ::_exit(5);
    }
    ::close(pipefd[1]);
    const int acks_fd = pipefd[0];
    std::string acks;
    char buf[4096];
    for (ssize_t n; (n = ::read(acks_fd, buf, sizeof buf)) > 0;) acks.append(buf, n);
    ::close(acks_fd);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    std::map<std::uint64_t, std::string> on_file;
    for (const auto& f : audit_files(opts_.dir)) {
      std::ifstream in(f);
      for (std::string l; std::getline(in, l);) {
        boost::system::error_code ec;
        auto v = json::parse(l, ec);
        if (ec) continue;  // a torn last line would be cut off at resume
        auto rec = v.as_object();
        if (rec.at("event_type") == "tool_call")
          on_file[rec.at("seq").to_number<std::uint64_t>()] =
              std::string(rec.at("tool_name").as_string());
      }
    }
    std::istringstream in(acks);
    std::size_t n = 0;
    for (std::string seq, id; in >> seq >> id; ++n) {
      auto it = on_file.find(std::stoull(seq));
      ASSERT_NE(it, on_file.end()) << "acknowledged record " << seq << " (" << id << ") was lost";
      EXPECT_EQ(it->second, id);
    }
    EXPECT_GE(n, std::size_t(kill_at));
    // And the log resumes after the crash with its chain intact.
    std::string pk;
    {
      AuditLog log(opts_);
      pk = log.public_key();
    }
    auto r = verify(pk);
    EXPECT_TRUE(r.ok()) << problem(r);
  }

  storage::TempDir tmp_;
  fs::path root_ = tmp_.path();
  AuditOptions opts_;
};

// A real small filesystem that fills up: a 1 MiB tmpfs mounted for the test
// (root only; skipped otherwise), holding the audit directory.
class AuditOnSmallDisk : public Audit {
 protected:
  void SetUp() override {
    Audit::SetUp();
    mnt_ = root_ / "small";
    fs::create_directories(mnt_);
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
    if (::mount("tmpfs", mnt_.c_str(), "tmpfs", 0, "size=1m,mode=0700") != 0)
      GTEST_SKIP() << "cannot mount a tmpfs: " << std::strerror(errno);
    mounted_ = true;
    opts_.dir = mnt_ / "audit";
  }
  void TearDown() override {
    if (mounted_) ::umount2(mnt_.c_str(), MNT_DETACH);
  }
  // Fills the filesystem with a file until no byte more fits.
  void fill() {
    std::ofstream out(mnt_ / "filler", std::ios::binary);
    std::string chunk(4096, 'x');
    while (out.write(chunk.data(), chunk.size()) && out.flush()) {
    }
  }
  fs::path mnt_;
  bool mounted_ = false;
};

}  // namespace bastion::audit::testing
