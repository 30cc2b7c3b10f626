// The Fernet keys of one data directory: <dir>/fernet.keys holds one url-safe
// base64 key per line, newest first, mode 0600. The newest encrypts; all of
// them decrypt (MultiFernet), so `bastion keys rotate` never strands a token.
// Used for the PII `encrypt` policy, the secrets store and the
// test_encryption tool.
#pragma once

#include <filesystem>
#include <string>

#include "security/fernet.hpp"

namespace bastion::security {

std::filesystem::path fernet_keys_file(const std::filesystem::path& dir);

// Loads the keyring; creates <dir> (0700) and a first key when the file is
// missing and `create` is set. Throws std::runtime_error on a missing file
// (without `create`), a readable-by-others file, or a malformed key line
// (naming the line).
MultiFernet load_fernet_keys(const std::filesystem::path& dir, bool create = true);

// Puts a new key in front of every key the ring in `dir` has (making the
// ring when there is none). Returns the new keyring. Dropping keys is
// trim_fernet_keys, after whatever they encrypted was re-encrypted:
// `bastion keys rotate` goes through rotate_keys_and_secrets (secrets.hpp).
MultiFernet rotate_fernet_keys(const std::filesystem::path& dir);

// Keeps the newest `keep` keys of the ring in `dir` (keep > 0). Returns it.
MultiFernet trim_fernet_keys(const std::filesystem::path& dir, std::size_t keep);

}  // namespace bastion::security
