// Verification of an audit log (`bastion audit verify`, the security report
// tool): the hash chain, the signed checkpoints and their Merkle roots, the
// signed head, where the log begins and where it ends. Reports the first
// sign of tampering with its file, line and seq.
//
// Strict by default:
//   - the beginning: the files must reach back to the genesis (seq 1), or to
//     the beginning the newest `audit_retention` record names (retention
//     removed older files, and said so in a signed record), or to the
//     checkpoint the operator names (from_checkpoint). A log that begins
//     later fails: files or first records were removed by hand.
//   - the end: when the files end with the active file, the signed head
//     (audit.log.head) must be present, signed by the key, and its record
//     must be in the log unchanged; a missing, garbled or re-signed head
//     fails, and so does one older than the log it ends (the records after
//     it span more than its window, head.hpp: an old copy put back on a log
//     cut short). When they end with a rotated file, that file must end with
//     its signed rotation checkpoint.
//   - the key: pinned by public_key or fingerprint; else trusted on first
//     use (the key the log's first record names) and reported as not pinned.
//     Any record naming another key fails.
// What stays unsigned is reported: the records after the newest signature
// (after a crash, at most the writer's sign_interval's worth).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit/head.hpp"

namespace bastion::audit {

struct AuditProblem {
  std::string file;
  std::uint64_t line = 0;  // 1-based; 0 when not about one line
  std::uint64_t seq = 0;   // 0 when unknown
  std::string what;
};

struct VerifyOptions {
  std::optional<std::string> public_key;   // pinned key, raw 32 bytes (--pubkey FILE)
  std::optional<std::string> fingerprint;  // pinned fingerprint "SHA256:..." (--key)
  // The log must reach back to the checkpoint with this seq (and may begin
  // no later), instead of its genesis or its retention beginning.
  std::optional<std::uint64_t> from_checkpoint;
  // The head file; set when the files end with the active file.
  std::optional<std::filesystem::path> head_file;
};

struct AuditReport {
  bool ok() const { return !problem; }
  std::uint64_t records = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t last_checkpoint_seq = 0;
  std::string fingerprint;  // the key the signatures were checked with
  bool key_pinned = false;
  std::string beginning;                // why the log may begin where it does
  std::optional<Head> head;             // the signed head that anchors the end
  std::uint64_t unsigned_records = 0;   // after the newest signature
  std::vector<std::string> notes;       // worth knowing, not tampering
  std::vector<std::string> warnings;    // weaker than it could be (key not pinned, ...)
  std::optional<AuditProblem> problem;  // the first sign of tampering
};

// Verifies files in chain order (oldest first).
AuditReport verify_audit(const std::vector<std::filesystem::path>& files,
                         const VerifyOptions& options);

// The same, reading each file (and the head file) through `read`: its whole
// content, empty when it cannot be read. For the fuzzer, which verifies logs
// held in memory.
using ReadFile = std::function<std::string(const std::filesystem::path&)>;
AuditReport verify_audit(const std::vector<std::filesystem::path>& files,
                         const VerifyOptions& options, const ReadFile& read);

}  // namespace bastion::audit
