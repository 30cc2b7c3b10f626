// Private files on disk: the data directory's keys, secrets, revocation list
// and audit signing key. Directories are 0700 and files 0600; anything more
// open is refused with the chmod that fixes it, because a key that others
// can read is no longer a key.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace bastion::storage {

// Creates `dir` (and missing parents) 0700; throws std::runtime_error if it
// is not a directory or group/others can access it.
void ensure_private_dir(const std::filesystem::path& dir);

// Replaces `file` atomically: a 0600 temp file beside it (named for this
// process and write, so concurrent writers of one file cannot tear it),
// fsync, rename, fsync of the directory. Throws std::runtime_error on
// failure (and leaves no temp file).
void write_private_file(const std::filesystem::path& file, std::string_view content);

// Reads a regular file (not through a symlink). On failure returns nullopt
// and sets `why`: missing, not a regular file, or readable by group/others
// ("refusing F: mode 0644 lets group/others read it; run: chmod 600 F").
std::optional<std::string> read_private_file(const std::filesystem::path& file, std::string* why);

// The first line of a file without trailing whitespace (a secret or hash
// mounted by Docker or Kubernetes), or nullopt when it cannot be read.
std::optional<std::string> read_first_line(const std::filesystem::path& file);

// The first line of `text` without trailing whitespace.
std::string first_line(std::string_view text);

// fsync of a directory, so a rename or a new file in it survives a crash.
void sync_dir(const std::filesystem::path& dir);

}  // namespace bastion::storage
