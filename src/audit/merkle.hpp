// RFC 6962 / RFC 9162 Merkle tree hashing for the audit log's signed
// checkpoints: leaf and node hashes, an append-only compact range that gives
// the root of everything appended so far in O(log n) memory, and the
// verifiers for inclusion and consistency proofs.
//
// Hashes are raw 32-byte SHA-256 digests in std::array form.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bastion::audit::merkle {

using Hash = std::array<unsigned char, 32>;

Hash sha256(std::string_view data);
Hash leaf_hash(std::string_view leaf);                // SHA-256(0x00 || leaf)
Hash node_hash(const Hash& left, const Hash& right);  // SHA-256(0x01 || l || r)
Hash empty_root();                                    // SHA-256("")

std::string to_hex(const Hash& h);
// Appends to_hex(h) to `out` (64 lowercase hex digits).
void append_hex(std::string& out, const Hash& h);
std::optional<Hash> from_hex(std::string_view hex);
std::optional<Hash> from_bytes(std::string_view raw);  // exactly 32 bytes

// The roots of the perfect subtrees covering leaves [0, size), largest
// first: what an append-only log needs to keep to compute its root.
class CompactRange {
 public:
  CompactRange() = default;
  // Restores a range saved with hashes(); nullopt when `hashes` cannot be the
  // range of a tree of `size` leaves (one hash per set bit of size).
  static std::optional<CompactRange> restore(std::uint64_t size, std::vector<Hash> hashes);

  void append(const Hash& leaf);  // a leaf hash
  std::uint64_t size() const { return size_; }
  Hash root() const;
  const std::vector<Hash>& hashes() const { return hashes_; }

 private:
  std::uint64_t size_ = 0;
  std::vector<Hash> hashes_;  // one per set bit of size_, highest bit first
};

// RFC 9162 §2.1.3.2. False for any malformed input.
bool verify_inclusion(std::uint64_t index, std::uint64_t size, std::string_view leaf_hash,
                      const std::vector<std::string>& proof, std::string_view root);
// RFC 9162 §2.1.4.2. size1 = 0 is refused: a proof from the empty tree
// proves nothing.
bool verify_consistency(std::uint64_t size1, std::uint64_t size2,
                        const std::vector<std::string>& proof, std::string_view root1,
                        std::string_view root2);

}  // namespace bastion::audit::merkle
