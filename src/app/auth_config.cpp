#include "app/auth_config.hpp"

#include <fmt/format.h>

namespace bastion::app {

std::optional<AuthSection> read_auth_section(const config::Document& doc,
                                             const std::filesystem::path& data_dir,
                                             SignInPages pages) {
  config::Reader root(doc, "");
  if (!root.has("auth")) return std::nullopt;
  config::Reader r = root.child("auth");
  if (!r.present()) doc.fail("/auth", "must be a mapping");
  AuthSection out;
  auth::Options defaults;
  defaults.issuer = "";
  defaults.data_dir = data_dir / "auth";
  out.options = auth::read_options(r, std::move(defaults));
  // The sign-in pages' settings belong to the login module.
  if (pages == SignInPages::kSkip) {
    r.raw("login");
    r.raw("access");
  } else if (r.has("login") || r.has("access")) {
    out.login = login::read_login_options(r.child("login"));
    out.access = login::Access::read(r.child("access"));
  }
  r.finish();
  return out;
}

std::string local_issuer(std::string host, std::uint16_t port) {
  if (host == "0.0.0.0" || host == "::") host = "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return fmt::format("http://{}:{}", host, port);
}

}  // namespace bastion::app
