#include "auth/revocation.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <stdexcept>

#include "auth/keystore.hpp"

namespace bastion::auth {

RevocationList::RevocationList(std::filesystem::path file, std::chrono::seconds skew, Clock clock)
    : file_(std::move(file)), skew_(skew), clock_(std::move(clock)) {
  std::lock_guard lock(mu_);
  merge_from_disk_locked(true);
  last_check_ = clock_();
  std::int64_t now = clock_();
  std::erase_if(revoked_, [&](const auto& e) { return e.second + skew_.count() < now; });
}

void RevocationList::merge_from_disk_locked(bool strict) const {
  struct stat st {};
  if (::stat(file_.c_str(), &st) != 0) return;  // no file yet
  // Writers replace the file (rename), so a new inode means new content even
  // when two writes share one coarse mtime tick.
  FileStamp stamp{st.st_ino, st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_size};
  if (!strict && stamp == seen_) return;
  auto text = read_private_file(file_);
  boost::system::error_code jec;
  boost::json::value v;
  if (text) v = boost::json::parse(text.value(), jec);
  bool ok = text && !jec && v.is_object() && v.as_object().contains("revoked") &&
            v.at("revoked").is_object();
  if (ok)
    for (const auto& [jti, exp] : v.at("revoked").as_object())
      ok = ok && (exp.is_int64() || exp.is_uint64());
  if (!ok) {
    std::string why = text ? "revocation list " + file_.string() + " is corrupt" : text.reason();
    if (strict) throw std::runtime_error(why);
    spdlog::warn("auth: {}; keeping the revocations in memory", why);
    return;
  }
  // A union: revocations are never undone, whoever wrote them (expired ones
  // are left out: they can no longer matter).
  std::int64_t now = clock_();
  for (const auto& [jti, exp] : v.at("revoked").as_object()) {
    auto e = exp.to_number<std::int64_t>();
    if (e + skew_.count() >= now) revoked_.emplace(std::string(jti), e);
  }
  seen_ = stamp;
}

void RevocationList::persist_locked() const {
  // Replicas may share the file: take an exclusive lock, merge what others
  // wrote, then replace it.
  std::filesystem::path lock_path = file_;
  lock_path += ".lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) ::flock(fd, LOCK_EX);
  merge_from_disk_locked(false);
  boost::json::object r;
  for (const auto& [jti, exp] : revoked_) r[jti] = exp;
  write_private_file(file_, boost::json::serialize(boost::json::object{{"revoked", std::move(r)}}));
  struct stat st {};
  if (::stat(file_.c_str(), &st) == 0)
    seen_ = FileStamp{st.st_ino, st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_size};
  if (fd >= 0) {
    ::flock(fd, LOCK_UN);
    ::close(fd);
  }
}

bool RevocationList::revoke(const std::string& jti, std::int64_t exp) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = revoked_.emplace(jti, exp);
  if (inserted) persist_locked();
  return inserted;
}

bool RevocationList::is_revoked(std::string_view jti) const {
  std::lock_guard lock(mu_);
  // Revocations by replicas sharing the file show within a second.
  std::int64_t now = clock_();
  if (now != last_check_) {
    last_check_ = now;
    merge_from_disk_locked(false);
  }
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
