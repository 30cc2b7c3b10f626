#include "login/users.hpp"

#include <algorithm>

#include "auth/clients.hpp"

namespace bastion::login {

namespace json = boost::json;

namespace {

// Records never expire on their own (RecordStore keeps expiry as mtime).
constexpr std::int64_t kForever = 4102444800;  // 2100-01-01

std::optional<User> user_from_record(const json::object& r) {
  User u;
  auto str = [&](std::string_view k) -> std::string {
    auto* v = r.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  auto num = [&](std::string_view k) -> std::int64_t {
    auto* v = r.if_contains(k);
    return v && v->is_int64() ? v->get_int64() : 0;
  };
  u.name = str("name");
  u.password_hash = str("password_hash");
  u.created = num("created");
  u.password_changed = num("password_changed");
  if (u.name.empty() || u.password_hash.empty()) return std::nullopt;
  return u;
}

json::object to_record(const User& u) {
  return json::object{{"name", u.name},
                      {"password_hash", u.password_hash},
                      {"created", u.created},
                      {"password_changed", u.password_changed}};
}

}  // namespace

std::string check_user_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return "a user name has 1 to 64 characters";
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-' || c == '@'))
      return "a user name may only contain letters, digits, '.', '_', '-' and '@'";
  return {};
}

std::string check_password(std::string_view password) {
  if (password.size() < kMinPasswordBytes)
    return "a password has at least " + std::to_string(kMinPasswordBytes) + " characters";
  if (password.size() > kMaxPasswordBytes)
    return "a password has at most " + std::to_string(kMaxPasswordBytes) + " bytes";
  return {};
}

UserStore::UserStore(std::filesystem::path dir, auth::Clock clock)
    : clock_(clock), store_(std::move(dir), auth::RecordStoreOptions{.durable = true}, clock) {}

auth::Status UserStore::add(std::string_view name, std::string_view password) {
  if (auto why = check_user_name(name); !why.empty()) return auth::fail(why);
  if (auto why = check_password(password); !why.empty()) return auth::fail(why);
  User u;
  u.name = std::string(name);
  u.password_hash = auth::hash_secret(password);
  u.created = u.password_changed = clock_();
  auto r = store_.create(name, to_record(u), kForever);
  if (!r) return r.error();
  if (!r.value()) return auth::fail("user " + u.name + " exists");
  return auth::ok_status();
}

auth::Status UserStore::set_password(std::string_view name, std::string_view password) {
  if (auto why = check_password(password); !why.empty()) return auth::fail(why);
  std::string hash = auth::hash_secret(password);  // outside the lock: it takes a while
  bool found = false;
  auto r = store_.update(
      name, [&](std::optional<json::object> cur) -> std::optional<auth::RecordStore::Versioned> {
        if (!cur) return std::nullopt;
        auto u = user_from_record(*cur);
        if (!u) return std::nullopt;
        found = true;
        u->password_hash = hash;
        // Strictly later than any session opened before, even within one second.
        u->password_changed = std::max(clock_(), u->password_changed + 1);
        return auth::RecordStore::Versioned{to_record(*u), kForever};
      });
  if (!r) return r.error();
  if (!found) return auth::fail("no user " + std::string(name));
  return auth::ok_status();
}

bool UserStore::remove(std::string_view name) { return store_.remove(name); }

std::optional<User> UserStore::find(std::string_view name) const {
  if (!check_user_name(name).empty()) return std::nullopt;
  auto r = store_.get(name);
  if (!r) return std::nullopt;
  auto u = user_from_record(*r);
  if (!u || u->name != name) return std::nullopt;
  return u;
}

std::vector<User> UserStore::list() const {
  std::vector<User> out;
  for (const auto& r : store_.list())
    if (auto u = user_from_record(r)) out.push_back(std::move(*u));
  std::sort(out.begin(), out.end(), [](const User& a, const User& b) { return a.name < b.name; });
  return out;
}

std::optional<User> UserStore::verify(std::string_view name, std::string_view password) const {
  auto u = password.size() <= kMaxPasswordBytes ? find(name) : std::nullopt;
  if (!u) {
    // Same work as for a real user, so timing does not tell who exists.
    static const std::string dummy = auth::hash_secret("bastion: no such user");
    auth::verify_secret(dummy, password.substr(0, kMaxPasswordBytes));
    return std::nullopt;
  }
  if (!auth::verify_secret(u->password_hash, password)) return std::nullopt;
  return u;
}

}  // namespace bastion::login
