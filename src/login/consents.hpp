// Remembered consents ("remember my choice"): one 0600 record per user and
// client in <auth data_dir>/consents (auth::RecordStore), so every replica
// honours and forgets them at once. A remembered consent answers a later
// authorization request of the same client, to the same redirect host, for
// scopes it covers, without showing the consent page; the user lists and
// revokes them on /account.
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

struct Consent {
  std::string subject;
  std::string client_id;
  std::string client_name;    // as shown when the user agreed
  std::string redirect_host;  // the host the codes went to
  std::vector<std::string> scopes;
  std::int64_t created = 0;
  std::int64_t expires = 0;
};

class ConsentStore {
 public:
  explicit ConsentStore(std::filesystem::path dir, auth::Clock clock = auth::system_now);

  // Remembers (replaces) the consent of c.subject for c.client_id.
  auth::Status remember(const Consent& c);
  std::optional<Consent> find(std::string_view subject, std::string_view client_id) const;
  // The user's consents, newest first.
  std::vector<Consent> of(std::string_view subject) const;
  // False when there was none.
  bool forget(std::string_view subject, std::string_view client_id);

 private:
  auth::Clock clock_;
  mutable auth::RecordStore store_;
};

}  // namespace bastion::login
