#include "audit/merkle.hpp"

#include <array>
#include <bit>
#include <cstring>

#include "protocol/base64.hpp"
#include "protocol/sha256.hpp"

namespace bastion::audit::merkle {

using protocol::hex_decode;

namespace {

Hash digest(std::initializer_list<std::string_view> parts) { return protocol::sha256_of(parts); }

std::string_view view(const Hash& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

// Go's transparency-dev/merkle proof decomposition (RFC 9162 in index form).
int inner_proof_size(std::uint64_t index, std::uint64_t size) {
  return std::bit_width(index ^ (size - 1));
}

Hash chain_inner(Hash seed, const std::vector<Hash>& proof, std::size_t from, std::size_t to,
                 std::uint64_t index) {
  for (std::size_t i = from; i < to; ++i)
    seed = ((index >> (i - from)) & 1) == 0 ? node_hash(seed, proof[i]) : node_hash(proof[i], seed);
  return seed;
}

Hash chain_inner_right(Hash seed, const std::vector<Hash>& proof, std::size_t from, std::size_t to,
                       std::uint64_t index) {
  for (std::size_t i = from; i < to; ++i)
    if ((index >> (i - from)) & 1) seed = node_hash(proof[i], seed);
  return seed;
}

Hash chain_border_right(Hash seed, const std::vector<Hash>& proof, std::size_t from) {
  for (std::size_t i = from; i < proof.size(); ++i) seed = node_hash(proof[i], seed);
  return seed;
}

std::optional<std::vector<Hash>> parse_proof(const std::vector<std::string>& proof) {
  std::vector<Hash> out;
  out.reserve(proof.size());
  for (const auto& p : proof) {
    auto h = from_bytes(p);
    if (!h) return std::nullopt;
    out.push_back(*h);
  }
  return out;
}

}  // namespace

Hash sha256(std::string_view data) { return digest({data}); }
Hash leaf_hash(std::string_view leaf) { return digest({std::string_view("\x00", 1), leaf}); }
Hash node_hash(const Hash& l, const Hash& r) { return digest({"\x01", view(l), view(r)}); }
Hash empty_root() { return digest({}); }

// A hash is public: no need for libsodium's constant-time encoder, whose call
// per record cost more than the rest of the record's framing. Two digits a
// byte from one table.
void append_hex(std::string& out, const Hash& h) {
  static constexpr std::array<char, 512> kPairs = [] {
    constexpr char kDigits[] = "0123456789abcdef";
    std::array<char, 512> t{};
    for (int b = 0; b < 256; ++b) {
      t[2 * b] = kDigits[b >> 4];
      t[2 * b + 1] = kDigits[b & 0xf];
    }
    return t;
  }();
  const std::size_t at = out.size();
  out.resize(at + 2 * h.size());
  char* p = out.data() + at;
  for (unsigned char b : h) {
    std::memcpy(p, &kPairs[2 * b], 2);
    p += 2;
  }
}

std::string to_hex(const Hash& h) {
  std::string out;
  append_hex(out, h);
  return out;
}

std::optional<Hash> from_hex(std::string_view hex) {
  auto raw = hex_decode(hex);
  if (!raw) return std::nullopt;
  return from_bytes(*raw);
}

std::optional<Hash> from_bytes(std::string_view raw) {
  if (raw.size() != 32) return std::nullopt;
  Hash h;
  std::memcpy(h.data(), raw.data(), 32);
  return h;
}

std::optional<CompactRange> CompactRange::restore(std::uint64_t size, std::vector<Hash> hashes) {
  if (static_cast<std::size_t>(std::popcount(size)) != hashes.size()) return std::nullopt;
  CompactRange r;
  r.size_ = size;
  r.hashes_ = std::move(hashes);
  return r;
}

void CompactRange::append(const Hash& leaf) {
  Hash h = leaf;
  // Like a binary counter: each trailing 1 bit of size_ merges a subtree.
  for (std::uint64_t s = size_; s & 1; s >>= 1) {
    h = node_hash(hashes_.back(), h);
    hashes_.pop_back();
  }
  hashes_.push_back(h);
  ++size_;
}

Hash CompactRange::root() const {
  if (hashes_.empty()) return empty_root();
  Hash r = hashes_.back();
  for (std::size_t i = hashes_.size() - 1; i-- > 0;) r = node_hash(hashes_[i], r);
  return r;
}

bool verify_inclusion(std::uint64_t index, std::uint64_t size, std::string_view leaf_hash,
                      const std::vector<std::string>& proof, std::string_view root) {
  if (index >= size) return false;
  auto leaf = from_bytes(leaf_hash);
  auto want = from_bytes(root);
  auto p = parse_proof(proof);
  if (!leaf || !want || !p) return false;
  int inner = inner_proof_size(index, size);
  int border = std::popcount(index >> inner);
  if (p->size() != static_cast<std::size_t>(inner + border)) return false;
  Hash r = chain_inner(*leaf, *p, 0, static_cast<std::size_t>(inner), index);
  r = chain_border_right(r, *p, static_cast<std::size_t>(inner));
  return r == *want;
}

bool verify_consistency(std::uint64_t size1, std::uint64_t size2,
                        const std::vector<std::string>& proof, std::string_view root1,
                        std::string_view root2) {
  // An empty first tree proves nothing, so it is refused (as Sigstore's and
  // Trillian's verifiers do); equal sizes need equal roots and no proof.
  if (size1 == 0 || size2 < size1) return false;
  if (size1 == size2) return proof.empty() && root1 == root2;
  if (proof.empty()) return false;
  auto r1 = from_bytes(root1);
  auto r2 = from_bytes(root2);
  auto p = parse_proof(proof);
  if (!r1 || !r2 || !p) return false;
  int inner = inner_proof_size(size1 - 1, size2);
  int border = std::popcount((size1 - 1) >> inner);
  int shift = std::countr_zero(size1);
  inner -= shift;
  // The proof starts with the root of the subtree of size 2^shift, unless
  // size1 is that very power of two (then it is root1 itself).
  Hash seed = (*p)[0];
  std::size_t start = 1;
  if (size1 == (std::uint64_t{1} << shift)) {
    seed = *r1;
    start = 0;
  }
  if (p->size() != start + static_cast<std::size_t>(inner + border)) return false;
  std::uint64_t mask = (size1 - 1) >> shift;
  std::size_t mid = start + static_cast<std::size_t>(inner);
  Hash h1 = chain_border_right(chain_inner_right(seed, *p, start, mid, mask), *p, mid);
  if (h1 != *r1) return false;
  Hash h2 = chain_border_right(chain_inner(seed, *p, start, mid, mask), *p, mid);
  return h2 == *r2;
}

}  // namespace bastion::audit::merkle
