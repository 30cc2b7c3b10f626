// What the parts of SignIn (signin.cpp: clients and the authorization
// endpoint; signin_settle.cpp: a pending authorization settled into a code;
// signin_tokens.cpp: the grants at the token endpoint and refresh families;
// signin_registration.cpp: Dynamic Client Registration) share:
// readers of the JSON records they keep in RecordStores, and the secret
// hashing that every stored secret goes through. Private to those files.
#pragma once

#include <openssl/crypto.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwk.hpp"

namespace bastion::auth::signin_records {

namespace json = boost::json;

// Past rotations a refresh family remembers (for reuse detection).
constexpr std::size_t kMaxFamilyHistory = 200;
// The start of every registered client's id (never a URL nor a configured name).
constexpr std::string_view kRegisteredPrefix = "bcl_";
// Year 2096: records that do not expire.
constexpr std::int64_t kForever = 4'000'000'000;
// The scope that asks for a refresh token (granted only to clients that may hold one).
constexpr std::string_view kOfflineAccess = "offline_access";

inline json::array to_array(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

inline std::vector<std::string> from_array(const json::value* v) {
  std::vector<std::string> out;
  if (v && v->is_array())
    for (const auto& e : v->get_array())
      if (e.is_string()) out.emplace_back(e.get_string());
  return out;
}

inline std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

inline std::int64_t num(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  return 0;
}

inline bool has(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

inline bool same(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

inline std::string secret_hash(std::string_view secret) { return b64url_encode(sha256(secret)); }

}  // namespace bastion::auth::signin_records
