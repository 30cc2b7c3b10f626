// Test-only: a fixture that writes audit logs into a private temp directory
// and reads, edits and verifies them. Shared by the writer, verifier and
// reader tests.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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
  AuditReport verify(const std::string& pk) {
    return verify_audit(audit_files(opts_.dir), pk, opts_.dir / "audit.log.head");
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
  std::string problem(const AuditReport& r) { return r.problem ? r.problem->what : "none"; }

  storage::TempDir tmp_;
  fs::path root_ = tmp_.path();
  AuditOptions opts_;
};

}  // namespace bastion::audit::testing
