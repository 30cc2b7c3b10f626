#include "auth/signin_options.hpp"

#include <stdexcept>

#include "auth/clients.hpp"
#include "auth/safe_fetch.hpp"
#include "auth/scopes.hpp"
#include "storage/private_file.hpp"

namespace bastion::auth {

namespace json = boost::json;

namespace {

[[noreturn]] void bad(std::string_view key, std::string_view what) {
  throw std::invalid_argument("auth." + std::string(key) + ": " + std::string(what));
}

std::string get_string(const json::value& v, std::string_view key) {
  if (!v.is_string()) bad(key, "expected a string");
  return std::string(v.get_string());
}

std::int64_t get_int(const json::value& v, std::string_view key, std::int64_t min,
                     std::int64_t max) {
  if (!v.is_int64() && !v.is_uint64()) bad(key, "expected an integer");
  std::int64_t n = v.is_int64() ? v.get_int64() : static_cast<std::int64_t>(v.get_uint64());
  if (n < min) bad(key, "must be at least " + std::to_string(min));
  if (n > max) bad(key, "must be at most " + std::to_string(max));
  return n;
}

bool get_bool(const json::value& v, std::string_view key) {
  if (!v.is_bool()) bad(key, "expected true or false");
  return v.get_bool();
}

std::vector<std::string> get_strings(const json::value& v, std::string_view key) {
  if (!v.is_array()) bad(key, "expected an array of strings");
  std::vector<std::string> out;
  for (const auto& e : v.get_array()) out.push_back(get_string(e, key));
  return out;
}

const json::object& get_object(const json::value& v, std::string_view key) {
  if (!v.is_object()) bad(key, "expected a mapping");
  return v.get_object();
}

}  // namespace

bool is_signin_key(std::string_view k) {
  return k == "signin" || k == "registration" || k == "client_metadata_documents" ||
         k == "test_login";
}

void parse_signin_key(SignInSettings& s, std::string_view key, const json::value& v) {
  std::string base(key);
  if (key == "signin") {
    for (const auto& [k, x] : get_object(v, key)) {
      std::string at = base + "." + std::string(k);
      if (k == "code_lifetime")
        s.code_lifetime = std::chrono::seconds(get_int(x, at, 10, 600));
      else if (k == "pending_lifetime")
        s.pending_lifetime = std::chrono::seconds(get_int(x, at, 60, 3600));
      else if (k == "refresh_token_lifetime")
        s.refresh_token_lifetime = std::chrono::seconds(get_int(x, at, 60, 400 * 86400));
      else if (k == "refresh_token_max_lifetime")
        s.refresh_token_max_lifetime = std::chrono::seconds(get_int(x, at, 60, 400 * 86400));
      else
        bad(at, "unknown key");
    }
    if (s.refresh_token_lifetime > s.refresh_token_max_lifetime)
      bad(base + ".refresh_token_lifetime", "is longer than refresh_token_max_lifetime");
  } else if (key == "registration") {
    auto& r = s.registration;
    std::string token_file;
    for (const auto& [k, x] : get_object(v, key)) {
      std::string at = base + "." + std::string(k);
      if (k == "mode") {
        r.mode = get_string(x, at);
        if (r.mode != "open" && r.mode != "token" && r.mode != "off")
          bad(at, "must be open, token or off");
      } else if (k == "initial_access_token_file") {
        token_file = get_string(x, at);
      } else if (k == "max_clients") {
        r.max_clients = static_cast<std::size_t>(get_int(x, at, 1, 1'000'000));
      } else if (k == "per_source_per_hour") {
        r.per_source_per_hour = static_cast<std::size_t>(get_int(x, at, 1, 100000));
      } else {
        bad(at, "unknown key (mode, initial_access_token_file, max_clients, per_source_per_hour)");
      }
    }
    if (r.mode == "token") {
      if (token_file.empty())
        bad(base + ".initial_access_token_file", "mode token needs the file with the token");
      auto t = storage::read_first_line(token_file);
      if (!t || t->size() < 16)
        bad(base + ".initial_access_token_file",
            "cannot read " + token_file + " (or the token is shorter than 16 characters)");
      r.initial_access_token = std::move(*t);
    } else if (!token_file.empty()) {
      bad(base + ".initial_access_token_file", "only with mode: token");
    }
  } else if (key == "client_metadata_documents") {
    auto& m = s.metadata_documents;
    for (const auto& [k, x] : get_object(v, key)) {
      std::string at = base + "." + std::string(k);
      if (k == "enabled")
        m.enabled = get_bool(x, at);
      else if (k == "timeout")
        m.timeout = std::chrono::seconds(get_int(x, at, 1, 60));
      else if (k == "max_bytes")
        m.max_bytes = static_cast<std::size_t>(get_int(x, at, 512, 1024 * 1024));
      else if (k == "max_redirects")
        m.max_redirects = static_cast<int>(get_int(x, at, 0, 10));
      else if (k == "min_cache")
        m.min_cache = std::chrono::seconds(get_int(x, at, 0, 86400));
      else if (k == "max_cache")
        m.max_cache = std::chrono::seconds(get_int(x, at, 0, 30 * 86400));
      else if (k == "allow_addresses") {
        m.allow_addresses = get_strings(x, at);
        for (const auto& a : m.allow_addresses)
          if (!parse_ip_network(a)) bad(at, "'" + a + "' is not an IP address or network");
      } else if (k == "allow_hosts")
        m.allow_hosts = get_strings(x, at);
      else if (k == "ca_file")
        m.ca_file = get_string(x, at);
      else
        bad(at, "unknown key");
    }
  } else if (key == "test_login") {
    for (const auto& [k, x] : get_object(v, key)) {
      std::string at = base + "." + std::string(k);
      if (k != "users") bad(at, "unknown key (users)");
      if (!x.is_array()) bad(at, "expected a list of users");
      std::size_t i = 0;
      for (const auto& u : x.get_array()) {
        std::string ua = at + "[" + std::to_string(i++) + "]";
        TestLoginUser tu;
        for (const auto& [uk, uv] : get_object(u, ua)) {
          std::string ukey = ua + "." + std::string(uk);
          if (uk == "name")
            tu.name = get_string(uv, ukey);
          else if (uk == "password_hash")
            tu.password_hash = get_string(uv, ukey);
          else if (uk == "scopes")
            tu.scopes = get_strings(uv, ukey);
          else
            bad(ukey, "unknown key (name, password_hash, scopes)");
        }
        if (tu.name.empty() || tu.name.size() > 64 || tu.name.find(':') != std::string::npos)
          bad(ua + ".name", "1-64 characters, no ':'");
        if (!well_formed_hash(tu.password_hash))
          bad(ua + ".password_hash", "must be an $argon2id$ hash, never a password");
        for (const auto& sc : tu.scopes)
          if (!valid_scope_token(sc)) bad(ua + ".scopes", "malformed scope '" + sc + "'");
        s.test_login.push_back(std::move(tu));
      }
    }
  }
}

}  // namespace bastion::auth
