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

// Puts a new key in front and keeps at most `keep` keys (0 = all). Returns
// the new keyring. Trimming here drops keys whatever they still decrypt:
// `bastion keys rotate` goes through rotate_keys_and_secrets (secrets.hpp),
// which trims only after the secrets were re-encrypted.
MultiFernet rotate_fernet_keys(const std::filesystem::path& dir, std::size_t keep = 0);

// Keeps the newest `keep` keys of the ring in `dir` (keep > 0). Returns it.
MultiFernet trim_fernet_keys(const std::filesystem::path& dir, std::size_t keep);

}  // namespace bastion::security
