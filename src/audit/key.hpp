// The audit log's Ed25519 signing key: how it is loaded or created in the
// audit directory, its fingerprint (what operators pin), and the signatures
// of checkpoints and of the head file.
//
//   audit.key   base64 secret key (0600); made at the first start only
//   audit.pub   base64 public key: a convenience copy, never trusted by verify
//
// Fingerprint: "SHA256:" and the unpadded base64 of SHA-256(public key), the
// form OpenSSH uses, so it reads and compares like an SSH host key. The short
// key id ("ak_" + 16 hex) stays in records for humans; pins use the
// fingerprint (256 bits).
//
// Thread-safety: an AuditKey is immutable after construction.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace bastion::audit {

class AuditKey {
 public:
  // Loads audit.key from `dir`, or creates it when `may_create` (a directory
  // with no records yet). Throws std::runtime_error naming the file and the
  // fix: a missing key next to an existing log is never silently replaced,
  // since a new key would make every later signature unverifiable against
  // the one operators pinned.
  static AuditKey load_or_create(const std::filesystem::path& dir, bool may_create);
  // Reads audit.key without writing anything (`bastion doctor`); nullopt
  // with `why` when it is missing or unusable.
  static std::optional<AuditKey> read(const std::filesystem::path& dir, std::string* why);
  AuditKey(AuditKey&&) noexcept;
  AuditKey& operator=(AuditKey&&) noexcept;
  ~AuditKey();  // wipes the secret key

  const std::string& public_key() const { return pk_; }  // 32 raw bytes
  std::string public_key_b64() const;
  const std::string& key_id() const { return key_id_; }
  const std::string& fingerprint() const { return fingerprint_; }
  bool created() const { return created_; }  // made by this load_or_create
  // Detached Ed25519 signature of `msg`, base64.
  std::string sign(std::string_view msg) const;

 private:
  AuditKey() = default;
  std::string sk_;
  std::string pk_;
  std::string key_id_;
  std::string fingerprint_;
  bool created_ = false;
};

// "SHA256:<unpadded base64 of SHA-256(pk)>" for a raw 32-byte public key.
std::string key_fingerprint(std::string_view pk);
// A fingerprint as an operator typed it, in canonical form (the "SHA256:"
// prefix is optional, trailing '=' ignored); nullopt when it cannot be one.
std::optional<std::string> parse_fingerprint(std::string_view text);
// A base64 Ed25519 public key (audit.pub's content), raw; nullopt otherwise.
std::optional<std::string> parse_public_key(std::string_view b64);
// Whether `sig_b64` is a valid Ed25519 signature of `msg` by raw key `pk`.
bool signature_valid(std::string_view pk, std::string_view msg, std::string_view sig_b64);

}  // namespace bastion::audit
