#include "auth/revocation.hpp"

#include <boost/json.hpp>
#include <stdexcept>

#include "auth/keystore.hpp"

namespace bastion::auth {

RevocationList::RevocationList(std::filesystem::path file, std::chrono::seconds skew, Clock clock)
    : file_(std::move(file)), skew_(skew), clock_(std::move(clock)) {
  std::error_code ec;
  if (!std::filesystem::exists(file_, ec)) return;
  auto text = read_private_file(file_);
  if (!text) throw std::runtime_error(text.reason());
  boost::system::error_code jec;
  boost::json::value v = boost::json::parse(text.value(), jec);
  if (jec || !v.is_object() || !v.as_object().contains("revoked") || !v.at("revoked").is_object())
    throw std::runtime_error("revocation list " + file_.string() + " is corrupt");
  for (const auto& [jti, exp] : v.at("revoked").as_object()) {
    if (!exp.is_int64() && !exp.is_uint64())
      throw std::runtime_error("revocation list " + file_.string() + " is corrupt");
    revoked_[std::string(jti)] = exp.to_number<std::int64_t>();
  }
  prune();
}

void RevocationList::persist_locked() const {
  boost::json::object r;
  for (const auto& [jti, exp] : revoked_) r[jti] = exp;
  write_private_file(file_, boost::json::serialize(boost::json::object{{"revoked", std::move(r)}}));
}

bool RevocationList::revoke(const std::string& jti, std::int64_t exp) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = revoked_.emplace(jti, exp);
  if (inserted) persist_locked();
  return inserted;
}

bool RevocationList::is_revoked(std::string_view jti) const {
  std::lock_guard lock(mu_);
  return revoked_.find(std::string(jti)) != revoked_.end();
}

std::size_t RevocationList::prune() {
  std::int64_t now = clock_();
  std::lock_guard lock(mu_);
  std::size_t n =
      std::erase_if(revoked_, [&](const auto& e) { return e.second + skew_.count() < now; });
  if (n) persist_locked();
  return n;
}

std::size_t RevocationList::size() const {
  std::lock_guard lock(mu_);
  return revoked_.size();
}

}  // namespace bastion::auth
