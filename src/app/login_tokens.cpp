#include "app/login_tokens.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <fstream>
#include <iostream>

#include "auth/jwk.hpp"
#include "auth/jwt.hpp"
#include "auth/scopes.hpp"
#include "login/http_client.hpp"
#include "protocol/form.hpp"
#include "storage/private_file.hpp"

extern char** environ;

namespace bastion::app {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

auth::Result<json::object> call_json(login::HttpCall call) {
  auto r = login::http_call(call);
  if (!r) return r.error();
  boost::system::error_code ec;
  auto v = json::parse(r.value().body, ec);
  if (ec || !v.is_object())
    return auth::fail(call.url + " answered HTTP " + std::to_string(r.value().status) +
                      " without JSON");
  if (r.value().status / 100 != 2) {
    std::string e = str(v.get_object(), "error"), d = str(v.get_object(), "error_description");
    return auth::fail(call.url + ": " +
                      (e.empty() ? "HTTP " + std::to_string(r.value().status) : e) +
                      (d.empty() ? "" : " (" + d + ")"));
  }
  return v.get_object();
}

login::HttpCall post_form(std::string url, std::string body) {
  login::HttpCall c;
  c.method = "POST";
  c.url = std::move(url);
  c.body = std::move(body);
  c.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  return c;
}

void try_open_browser(const std::string& url) {
  if (!std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY")) return;
  pid_t pid;
  const char* argv[] = {"xdg-open", url.c_str(), nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  if (posix_spawnp(&pid, "xdg-open", &fa, nullptr, const_cast<char**>(argv), environ) == 0) {
    int st;
    ::waitpid(pid, &st, 0);
  }
  posix_spawn_file_actions_destroy(&fa);
}

}  // namespace

LoginTokens::LoginTokens(LoginTokenOptions o) : o_(std::move(o)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialize");
  // Created 0700 with its missing parents (as XDG asks for its base
  // directories), whatever the umask; one that exists is closed to others.
  std::error_code ec;
  if (!std::filesystem::exists(o_.state_dir, ec))
    storage::ensure_private_dir(o_.state_dir);
  else
    std::filesystem::permissions(o_.state_dir, std::filesystem::perms::owner_all, ec);
  auto keyfile = o_.state_dir / "connect.key";
  std::string why;
  if (auto k = storage::read_private_file(keyfile, &why); k) {
    key_ = auth::b64url_decode(storage::first_line(*k)).value_or("");
  }
  if (key_.size() != crypto_secretbox_KEYBYTES) {
    key_ = auth::random_bytes(crypto_secretbox_KEYBYTES);
    int fd = ::open(keyfile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
      std::string text = auth::b64url_encode(key_) + "\n";
      if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        spdlog::warn("connect: cannot write {}", keyfile.string());
      ::close(fd);
    }
  }
  state_file_ =
      o_.state_dir / (auth::b64url_encode(auth::sha256(o_.auth_base)).substr(0, 22) + ".json");
  load();
}

void LoginTokens::load() {
  std::string why;
  auto text = storage::read_private_file(state_file_, &why);
  if (!text) return;
  boost::system::error_code ec;
  auto v = json::parse(*text, ec);
  if (ec || !v.is_object()) return;
  const auto& o = v.get_object();
  if (o_.client_id.empty()) client_id_ = str(o, "client_id");
  if (str(o, "client_id") != (o_.client_id.empty() ? client_id_ : o_.client_id)) return;
  auto sealed = auth::b64url_decode(str(o, "refresh_token_sealed"));
  if (!sealed || sealed->size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) return;
  std::string plain(sealed->size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  const auto* s = reinterpret_cast<const unsigned char*>(sealed->data());
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 s + crypto_secretbox_NONCEBYTES,
                                 sealed->size() - crypto_secretbox_NONCEBYTES, s,
                                 reinterpret_cast<const unsigned char*>(key_.data())) != 0) {
    spdlog::warn("connect: the saved sign-in cannot be opened (another key?); signing in again");
    return;
  }
  refresh_token_ = std::move(plain);
}

void LoginTokens::save() const {
  std::string sealed;
  if (!refresh_token_.empty()) {
    sealed.resize(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + refresh_token_.size());
    auto* out = reinterpret_cast<unsigned char*>(sealed.data());
    randombytes_buf(out, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES,
                          reinterpret_cast<const unsigned char*>(refresh_token_.data()),
                          refresh_token_.size(), out,
                          reinterpret_cast<const unsigned char*>(key_.data()));
  }
  json::object o{{"server", o_.auth_base},
                 {"client_id", client_id_},
                 {"refresh_token_sealed", auth::b64url_encode(sealed)}};
  auto tmp = state_file_;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
  if (fd < 0) return spdlog::warn("connect: cannot write {}", tmp.string());
  std::string text = json::serialize(o) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::fsync(fd);
  ::close(fd);
  if (ok) std::filesystem::rename(tmp, state_file_);
}

auth::Status LoginTokens::discover() {
  if (!token_endpoint_.empty()) return auth::ok_status();
  login::HttpCall c;
  c.url = o_.auth_base + "/.well-known/oauth-authorization-server";
  auto md = call_json(c);
  if (!md) return md.error();
  issuer_ = str(md.value(), "issuer");
  authorization_endpoint_ = str(md.value(), "authorization_endpoint");
  token_endpoint_ = str(md.value(), "token_endpoint");
  registration_endpoint_ = str(md.value(), "registration_endpoint");
  if (authorization_endpoint_.empty() || token_endpoint_.empty())
    return auth::fail(o_.auth_base + " does not offer the authorization code flow");
  scope_ = o_.scope.empty() ? advertised_scopes() : o_.scope;
  return auth::ok_status();
}

// MCP's scope selection (authorization §Scope Selection Strategy): with no
// scope named, the scopes the protected resource metadata lists (valid and
// bounded: auth::scopes_to_request), so that offline_access (a refresh
// token) is asked for where it is offered. Empty (the user's default grant)
// when the document cannot be had.
std::string LoginTokens::advertised_scopes() const {
  auto u = boost::urls::parse_absolute_uri(o_.mcp_url);
  if (!u) return {};
  std::string path(u->encoded_path());
  login::HttpCall c;
  c.url = std::string(u->scheme()) + "://" + std::string(u->encoded_authority()) +
          "/.well-known/oauth-protected-resource" + (path == "/" ? "" : path);
  auto md = call_json(c);
  const json::value* list = md ? md.value().if_contains("scopes_supported") : nullptr;
  if (!list || !list->is_array()) {
    spdlog::warn("connect: {} lists no scopes; asking for the user's default access{}", c.url,
                 md ? std::string() : " (" + md.error().reason + ")");
    return {};
  }
  return auth::join_scopes(auth::scopes_to_request(list->get_array()));
}

auth::Status LoginTokens::ensure_client() {
  if (!o_.client_id.empty()) {
    client_id_ = o_.client_id;
    return auth::ok_status();
  }
  if (!client_id_.empty()) return auth::ok_status();
  if (registration_endpoint_.empty())
    return auth::fail("the server does not let clients register: give --client-id");
  json::object req{{"client_name", "bastion connect"},
                   {"redirect_uris", json::array{"http://127.0.0.1/callback"}},
                   {"grant_types", json::array{"authorization_code", "refresh_token"}},
                   {"response_types", json::array{"code"}},
                   {"token_endpoint_auth_method", "none"}};
  login::HttpCall c;
  c.method = "POST";
  c.url = registration_endpoint_;
  c.body = json::serialize(req);
  c.headers = {{"Content-Type", "application/json"}};
  auto r = call_json(c);
  if (!r) return r.error();
  client_id_ = str(r.value(), "client_id");
  if (client_id_.empty()) return auth::fail("the registration answer has no client_id");
  save();
  return auth::ok_status();
}

auth::Status LoginTokens::take_tokens(const std::string& body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return auth::fail("the token answer is not JSON");
  const auto& o = v.get_object();
  access_token_ = str(o, "access_token");
  if (access_token_.empty()) return auth::fail("the token answer has no access_token");
  if (auto rt = str(o, "refresh_token"); !rt.empty()) refresh_token_ = rt;
  std::int64_t expires_in = 300;
  if (auto* e = o.if_contains("expires_in"); e && e->is_int64()) expires_in = e->get_int64();
  // Renew in the last fifth of the lifetime, at most a minute early.
  std::int64_t early = std::min<std::int64_t>(60, expires_in / 5);
  renew_at_ = std::chrono::steady_clock::now() + std::chrono::seconds(expires_in - early);
  save();
  return auth::ok_status();
}

auth::Status LoginTokens::refresh() {
  if (refresh_token_.empty()) return auth::fail("no refresh token");
  auto r = login::http_call(
      post_form(token_endpoint_, protocol::encode_form({{"grant_type", "refresh_token"},
                                                   {"refresh_token", refresh_token_},
                                                   {"client_id", client_id_}})));
  if (!r) return r.error();
  if (r.value().status != 200) {
    refresh_token_.clear();  // rotated away, revoked or expired: sign in again
    save();
    return auth::fail("the refresh token was refused (HTTP " + std::to_string(r.value().status) +
                      ")");
  }
  return take_tokens(r.value().body);
}

auth::Status LoginTokens::sign_in() {
  if (auto s = ensure_client(); !s.ok()) return s;
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::string redirect_uri =
      "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/callback";
  std::string state = auth::b64url_encode(auth::random_bytes(32));
  std::string verifier = auth::b64url_encode(auth::random_bytes(32));
  std::string challenge = auth::b64url_encode(auth::sha256(verifier));
  std::string url = authorization_endpoint_ + "?" +
                    protocol::encode_form({{"response_type", "code"},
                                           {"client_id", client_id_},
                                           {"redirect_uri", redirect_uri},
                                           {"code_challenge", challenge},
                                           {"code_challenge_method", "S256"},
                                           {"state", state},
                                           {"scope", scope_},
                                           {"resource", o_.mcp_url}});
  std::cerr << "bastion connect: sign in to " << o_.auth_base << " in your browser:\n  " << url
            << "\n"
            << std::flush;
  if (o_.open_browser) try_open_browser(url);

  auto deadline = std::chrono::steady_clock::now() + o_.login_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    boost::system::error_code ec;
    // Accept with the remaining time as a deadline.
    acceptor.non_blocking(false);
    struct timeval tv {};
    auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline -
                                                                 std::chrono::steady_clock::now());
    tv.tv_sec = std::max<long>(1, left.count());
    ::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    tcp::socket sock(io);
    acceptor.accept(sock, ec);
    if (ec) continue;
    beast::tcp_stream stream(std::move(sock));
    stream.expires_after(std::chrono::seconds(10));
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::read(stream, buf, req, ec);
    if (ec) continue;
    auto reply = [&](http::status st, std::string location, std::string text) {
      http::response<http::string_body> res{st, req.version()};
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      res.set(http::field::cache_control, "no-store");
      if (!location.empty()) res.set(http::field::location, location);
      res.body() = std::move(text);
      res.prepare_payload();
      res.keep_alive(false);
      http::write(stream, res, ec);
    };
    if (protocol::target_path(req.target()) != "/callback") {
      reply(http::status::not_found, "", "not found\n");
      continue;
    }
    auto q = protocol::parse_query(req.target());
    const std::string* got_state = q ? q->get("state") : nullptr;
    if (!got_state || *got_state != state) {
      // Not the answer to our request (another tab, or a forged one): ignore it.
      reply(http::status::bad_request, "", "This is not the sign-in bastion connect started.\n");
      continue;
    }
    const std::string* iss = q->get("iss");
    if (iss && !issuer_.empty() && *iss != issuer_) {
      reply(http::status::bad_request, "", "The answer names another issuer.\n");
      return auth::fail("the authorization answer names another issuer (mix-up?)");
    }
    if (const std::string* err = q->get("error")) {
      reply(http::status::ok, "",
            "Sign-in did not complete: " + *err + ". You can close this window.\n");
      return auth::fail("sign-in refused: " + *err);
    }
    const std::string* code = q->get("code");
    if (!code) {
      reply(http::status::bad_request, "", "The answer has no code.\n");
      return auth::fail("the authorization answer has no code");
    }
    auto r = login::http_call(
        post_form(token_endpoint_, protocol::encode_form({{"grant_type", "authorization_code"},
                                                     {"code", *code},
                                                     {"redirect_uri", redirect_uri},
                                                     {"client_id", client_id_},
                                                     {"code_verifier", verifier},
                                                     {"resource", o_.mcp_url}})));
    if (!r || r.value().status != 200) {
      reply(http::status::ok, "",
            "Sign-in failed at the token endpoint. You can close this window.\n");
      return auth::fail("the code was refused: " +
                        (r ? r.value().body.substr(0, 300) : r.reason()));
    }
    // Show Bastion's own "signed in" page.
    reply(http::status::see_other, issuer_ + "/signin/done", "Signed in.\n");
    std::cerr << "bastion connect: signed in\n" << std::flush;
    return take_tokens(r.value().body);
  }
  return auth::fail("nobody signed in within " + std::to_string(o_.login_timeout.count()) + " s");
}

auth::Result<std::string> LoginTokens::authorization(bool renew) {
  std::lock_guard lock(mu_);
  if (!renew && !access_token_.empty() && std::chrono::steady_clock::now() < renew_at_)
    return "Bearer " + access_token_;
  if (auto d = discover(); !d.ok()) return d.error();
  if (!client_id_.empty() || !o_.client_id.empty()) {
    if (client_id_.empty()) client_id_ = o_.client_id;
    if (refresh().ok()) return "Bearer " + access_token_;
  }
  if (auto s = sign_in(); !s.ok()) return s.error();
  return "Bearer " + access_token_;
}

}  // namespace bastion::app
