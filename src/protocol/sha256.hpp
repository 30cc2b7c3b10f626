// SHA-256, the one implementation every module uses (token cache keys, the
// audit log's Merkle tree, definition pins, JWK thumbprints, PKCE, cache seals).
//
// OpenSSL 3 looks an algorithm up by name on every one-shot call that is given
// a legacy EVP_sha256() (EVP_MD_fetch under a lock: a quarter of the time of
// hashing a bearer token). Here the digest is fetched once for the process and
// kept, so a call is the hash and nothing else.
#pragma once

#include <array>
#include <initializer_list>
#include <string>
#include <string_view>

namespace bastion::protocol {

using Sha256 = std::array<unsigned char, 32>;

// The digest of the concatenation of `parts`.
Sha256 sha256_of(std::initializer_list<std::string_view> parts);
inline Sha256 sha256_of(std::string_view data) { return sha256_of({data}); }

// The digest as 32 raw bytes in a string.
std::string sha256(std::string_view data);

}  // namespace bastion::protocol
