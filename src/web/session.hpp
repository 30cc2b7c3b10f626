// Server-side browser sessions: the cookie carries only a random id (256
// bits, base64url); what the session knows lives in the data directory
// (auth::RecordStore: one 0600 file per session, named by a hash of the id),
// so every replica that shares the directory sees it, a copied directory
// listing reveals no id, and signing out anywhere ends it everywhere.
//
//   web::SessionStore sessions(data_dir / "sessions", {.lifetime = 12h});
//   auto s = sessions.create({{"user", "alice"}});        // at login: always a new id
//   res.insert(http::field::set_cookie, web::set_cookie(policy, "session", s->id, ...));
//   if (auto s = sessions.find(cookie_value)) ...         // nullopt: unknown or expired
//   sessions.destroy(id);                                  // sign out
//
// Session fixation: ids are only ever made by create(); an id a browser
// presents is looked up, never adopted, and a login always creates a new
// session (destroying the one the browser had).
//
// Thread-safety: all members may be called concurrently, from any process.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "auth/options.hpp"
#include "auth/record_store.hpp"
#include "auth/result.hpp"

namespace bastion::web {

struct SessionOptions {
  // A session ends this long after it began, used or not (default 12 h).
  std::chrono::seconds lifetime{12 * 3600};
};

struct Session {
  std::string id;
  boost::json::object data;
  std::int64_t created = 0;
  std::int64_t expires = 0;
};

class SessionStore {
 public:
  // Creates `dir` 0700. Throws on a directory others can access.
  SessionStore(std::filesystem::path dir, SessionOptions options = {},
               auth::Clock clock = auth::system_now);

  // A new session with a fresh id. Errors: I/O.
  auth::Result<Session> create(boost::json::object data);
  // The live session with this id.
  std::optional<Session> find(std::string_view id) const;
  // Replaces the data of a live session (same id, same expiry). False when
  // it has ended.
  bool set_data(std::string_view id, boost::json::object data);
  void destroy(std::string_view id);
  std::size_t prune();

  const SessionOptions& options() const { return options_; }

 private:
  SessionOptions options_;
  auth::Clock clock_;
  mutable auth::RecordStore store_;
};

// Whether `s` looks like an id create() made (43 base64url characters):
// anything else is not looked up at all.
bool plausible_session_id(std::string_view s);

}  // namespace bastion::web
