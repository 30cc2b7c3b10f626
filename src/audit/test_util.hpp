// Test-only: a fixture that writes audit logs into a private temp directory
// and reads, edits and verifies them. Shared by the writer, verifier and
// reader tests.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
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

  storage::TempDir tmp_;
  fs::path root_ = tmp_.path();
  AuditOptions opts_;
};

}  // namespace bastion::audit::testing
