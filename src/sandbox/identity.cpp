#include "sandbox/identity.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <vector>

namespace bastion::sandbox {

namespace {

std::optional<std::uint32_t> number(std::string_view s) {
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// FNV-1a: small, stable across builds and platforms (std::hash is neither).
std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

IdentityHost IdentityHost::system() {
  IdentityHost h;
  h.euid = ::geteuid();
  h.egid = ::getegid();
  h.lookup = [](const std::string& name) -> std::optional<std::pair<uid_t, gid_t>> {
    long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
    struct passwd pw;
    struct passwd* out = nullptr;
    if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &out) != 0 || !out)
      return std::nullopt;
    return std::make_pair(out->pw_uid, out->pw_gid);
  };
  return h;
}

std::optional<std::pair<std::uint32_t, std::uint32_t>> parse_uid_range(const std::string& s) {
  auto dash = s.find('-');
  if (dash == std::string::npos) return std::nullopt;
  auto a = number(std::string_view(s).substr(0, dash));
  auto b = number(std::string_view(s).substr(dash + 1));
  if (!a || !b || *b < *a || *a == 0) return std::nullopt;
  return std::make_pair(*a, *b - *a + 1);
}

Result<Identity> resolve_identity(const IdentityOptions& opts, const std::string& user,
                                  const std::string& key, bool container,
                                  const IdentityHost& host) {
  const std::string& spec = user.empty() ? opts.user : user;
  bool root = host.euid == 0;
  Identity id;
  if (spec == "auto") {
    if (!root && !container) {
      id.uid = host.euid;
      id.gid = host.egid;
      id.description = fmt::format(
          "uid {} gid {} (Bastion's own: not root, so it cannot switch users)", id.uid, id.gid);
      return id;
    }
    if (opts.uid_count == 0) return Error{"gateway.sandbox.uid_range is empty"};
    id.uid = static_cast<uid_t>(opts.uid_first + fnv1a(key) % opts.uid_count);
    id.gid = static_cast<gid_t>(id.uid);
    id.description = fmt::format("uid {} gid {} (this server's own)", id.uid, id.gid);
  } else {
    auto colon = spec.find(':');
    auto u = number(std::string_view(spec).substr(0, colon));
    if (u) {
      id.uid = *u;
      id.gid = *u;
      if (colon != std::string::npos) {
        auto g = number(std::string_view(spec).substr(colon + 1));
        if (!g) return Error{fmt::format("user '{}': expected UID, UID:GID or a user name", spec)};
        id.gid = *g;
      }
    } else if (colon == std::string::npos && host.lookup) {
      auto found = host.lookup(spec);
      if (!found) return Error{fmt::format("user '{}' does not exist on this host", spec)};
      id.uid = found->first;
      id.gid = found->second;
    } else {
      return Error{fmt::format("user '{}': expected UID, UID:GID or a user name", spec)};
    }
    id.description = fmt::format("uid {} gid {} (user: {})", id.uid, id.gid, spec);
  }
  if (id.uid == 0 || id.gid == 0)
    return Error{
        fmt::format("user '{}' is root (uid/gid 0): Bastion never runs a server as root; choose an "
                    "unprivileged user",
                    spec)};
  if (container) return id;  // the daemon switches; nothing to do in our child
  if (!root) {
    if (id.uid == host.euid && id.gid == host.egid) return id;
    return Error{fmt::format(
        "user '{}' (uid {}) needs Bastion to run as root to switch to it; Bastion runs as uid {}",
        spec, id.uid, host.euid)};
  }
  id.switch_user = true;
  return id;
}

}  // namespace bastion::sandbox
