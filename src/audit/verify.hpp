// Verification of an audit log (`bastion audit verify`, the security report
// tool): the hash chain, the signed checkpoints and their Merkle roots, the
// head file. Reports the first sign of tampering with its file, line and seq,
// and notes what is normal (a log that begins mid-chain, records after the
// last checkpoint after a crash).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace bastion::audit {

struct AuditProblem {
  std::string file;
  std::uint64_t line = 0;  // 1-based; 0 when not about one line
  std::uint64_t seq = 0;   // 0 when unknown
  std::string what;
};

struct AuditReport {
  bool ok() const { return !problem; }
  std::uint64_t records = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t last_checkpoint_seq = 0;  // records after it are chained, not yet signed
  std::vector<std::string> notes;         // things worth knowing that are not tampering
  std::optional<AuditProblem> problem;    // the first sign of tampering
};

// Verifies files in chain order (oldest first) against the Ed25519 public
// key (base64). `head_file`, when given, must agree with the last record.
AuditReport verify_audit(const std::vector<std::filesystem::path>& files,
                         const std::string& public_key_b64,
                         const std::optional<std::filesystem::path>& head_file);

}  // namespace bastion::audit
