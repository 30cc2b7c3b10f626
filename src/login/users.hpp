// Local users of the sign-in pages: a name and an argon2id password hash
// (libsodium, the same parameters as client secrets), one 0600 record per
// user in the data directory (auth::RecordStore under <auth data_dir>/users),
// so `bastion user` commands and every replica sharing the directory see the
// same users at once, and two concurrent `user add` of one name cannot both
// win. Who may use what is not here: the configuration maps users and
// groups to scopes (access.hpp).
//
// Names: 1-64 characters of letters, digits, '.', '_', '-' and '@' (an
// e-mail address works), never '|' (reserved: federated users are
// "<provider>|<sub>"), case-sensitive.
// Passwords: 8-1024 bytes (longer ones would only make argon2id a DoS lever).
//
// Thread-safety: all members may be called concurrently, from any process.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/options.hpp"
#include "auth/record_store.hpp"
#include "auth/result.hpp"

namespace bastion::login {

inline constexpr std::size_t kMinPasswordBytes = 8;
inline constexpr std::size_t kMaxPasswordBytes = 1024;

struct User {
  std::string name;
  std::string password_hash;  // $argon2id$...
  std::int64_t created = 0;
  // When the password last changed: sessions opened before it end.
  std::int64_t password_changed = 0;
};

// Empty when `name` is a valid user name, else why not.
std::string check_user_name(std::string_view name);
// Empty when `password` is acceptable, else why not.
std::string check_password(std::string_view password);

class UserStore {
 public:
  // Creates `dir` 0700 when missing.
  explicit UserStore(std::filesystem::path dir, auth::Clock clock = auth::system_now);

  // Adds a user. Errors: a bad name or password, "user X exists", I/O.
  auth::Status add(std::string_view name, std::string_view password);
  // Replaces the password. Errors: bad password, "no user X", I/O.
  auth::Status set_password(std::string_view name, std::string_view password);
  // False when there was no such user.
  bool remove(std::string_view name);
  std::optional<User> find(std::string_view name) const;
  // Sorted by name.
  std::vector<User> list() const;

  // The user when the password is right. Takes as long for an unknown
  // name as for a known one (a dummy hash is checked), so the answer does
  // not tell which names exist.
  std::optional<User> verify(std::string_view name, std::string_view password) const;

 private:
  auth::Clock clock_;
  mutable auth::RecordStore store_;
};

}  // namespace bastion::login
