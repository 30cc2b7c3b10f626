// `bastion connect --login`: the stdio bridge signs its user in with the
// authorization code flow + PKCE (S256) on a loopback redirect (RFC 8252):
// it listens on 127.0.0.1:<random port>, prints the authorization URL (and
// opens the system browser when it can), receives the code, and keeps the
// refresh token so later runs and expired access tokens renew silently.
//
// The client: --client-id when given (a configured public client whose
// redirect_uris list http://127.0.0.1/callback), else the bridge registers
// itself once (RFC 7591, token_endpoint_auth_method none) and remembers the
// client_id.
//
// What is kept, in <state dir>/<hash of the server>.json (0600): the
// client_id and the refresh token sealed with XSalsa20-Poly1305
// (libsodium secretbox) under a 256-bit key in <state dir>/connect.key
// (0600). That protects the token from anything that copies the state file
// alone (backups, sync); something that can read both files as the user can
// use the token (there is no OS keyring to hold the key).
//
// Thread-safety: authorization() may be called from any thread; calls are
// serialized (a sign-in in progress blocks the others).
#pragma once

#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>

#include "auth/result.hpp"

namespace bastion::app {

struct LoginTokenOptions {
  std::string mcp_url;    // the protected resource (RFC 8707 resource)
  std::string auth_base;  // the authorization server's base URL (issuer)
  std::string client_id;  // empty: register (DCR) once
  std::string scope;      // empty: what the resource's metadata lists
  std::filesystem::path state_dir;
  bool open_browser = true;                 // try xdg-open; the URL is always printed
  std::chrono::seconds login_timeout{300};  // how long to wait for the browser
};

class LoginTokens {
 public:
  explicit LoginTokens(LoginTokenOptions o);
  // "Bearer <token>": the current access token; a refreshed one when it is
  // near its end or `renew` (after a 401); a new sign-in when there is no
  // usable refresh token.
  auth::Result<std::string> authorization(bool renew = false);

 private:
  auth::Status discover();
  std::string advertised_scopes() const;
  auth::Status ensure_client();
  auth::Status sign_in();
  auth::Status refresh();
  auth::Status take_tokens(const std::string& body);
  void load();
  void save() const;

  LoginTokenOptions o_;
  std::mutex mu_;
  std::string issuer_, authorization_endpoint_, token_endpoint_, registration_endpoint_;
  std::string client_id_, refresh_token_, access_token_;
  std::string scope_;  // asked for at sign-in
  std::chrono::steady_clock::time_point renew_at_{};
  std::string key_;
  std::filesystem::path state_file_;
};

}  // namespace bastion::app
