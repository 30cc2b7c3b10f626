#include "web/csrf.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <boost/url/parse.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "auth/jwk.hpp"
#include "storage/private_file.hpp"

namespace bastion::web {

namespace http = boost::beast::http;
namespace fs = std::filesystem;

namespace {
constexpr std::size_t kKeyBytes = 32;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}
}  // namespace

SecretKey SecretKey::from_bytes(std::string bytes) {
  SecretKey k;
  k.key_ = std::move(bytes);
  return k;
}

SecretKey SecretKey::load_or_create(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    storage::ensure_private_dir(file.parent_path());
    fs::path tmp = file.parent_path() / (".tmp-" + auth::b64url_encode(auth::random_bytes(12)));
    std::string text = auth::b64url_encode(auth::random_bytes(kKeyBytes)) + "\n";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
      throw std::runtime_error("cannot create " + tmp.string() + ": " + std::strerror(errno));
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
              ::fsync(fd) == 0;
    ::close(fd);
    // link(2) fails with EEXIST when another process created it first: use theirs.
    int rc = ok ? ::link(tmp.c_str(), file.c_str()) : -1;
    int e = errno;
    ::unlink(tmp.c_str());
    if (!ok) throw std::runtime_error("cannot write " + tmp.string());
    if (rc != 0 && e != EEXIST)
      throw std::runtime_error("cannot create " + file.string() + ": " + std::strerror(e));
    storage::sync_dir(file.parent_path());
  }
  std::string why;
  auto text = storage::read_private_file(file, &why);
  if (!text) throw std::runtime_error(why);
  auto raw = auth::b64url_decode(storage::first_line(*text));
  if (!raw || raw->size() != kKeyBytes)
    throw std::runtime_error(file.string() + ": not a 256-bit base64url key");
  return from_bytes(std::move(*raw));
}

std::string SecretKey::mac(std::string_view data) const { return auth::hmac_sha256(key_, data); }

std::string csrf_token(const SecretKey& key, std::string_view binding, std::string_view purpose) {
  std::string input = "bastion-csrf";
  input += '\0';
  input += purpose;
  input += '\0';
  input += binding;
  return auth::b64url_encode(key.mac(input));
}

bool csrf_valid(const SecretKey& key, std::string_view binding, std::string_view purpose,
                const std::string* token) {
  if (!token || binding.empty()) return false;
  std::string want = csrf_token(key, binding, purpose);
  return token->size() == want.size() &&
         CRYPTO_memcmp(token->data(), want.data(), want.size()) == 0;
}

Html csrf_field(const SecretKey& key, std::string_view binding, std::string_view purpose) {
  return format(R"(<input type="hidden" name="{}" value="{}">)",
                {kCsrfField, csrf_token(key, binding, purpose)});
}

std::string origin_of(std::string_view url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u || !u->has_authority()) return {};
  std::string scheme = lower(u->scheme());
  if (scheme != "http" && scheme != "https") return {};
  std::string out = scheme + "://" + lower(u->encoded_host());
  std::string port(u->port());
  if (!port.empty() && !(scheme == "http" && port == "80") && !(scheme == "https" && port == "443"))
    out += ":" + port;
  return out;
}

bool same_origin_request(const http::request_header<>& req, std::string_view origin) {
  bool fetch_same_origin = false;
  if (auto it = req.find("Sec-Fetch-Site"); it != req.end()) {
    std::string site = lower(std::string_view(it->value().data(), it->value().size()));
    if (site != "same-origin" && site != "none") return false;
    fetch_same_origin = site == "same-origin";
  }
  if (auto it = req.find(http::field::origin); it != req.end()) {
    std::string_view o(it->value().data(), it->value().size());
    // Our pages send Referrer-Policy: no-referrer, under which browsers send
    // "Origin: null" even for a same-origin form post (Fetch, "serializing a
    // request origin"); the browser's own Sec-Fetch-Site: same-origin vouches
    // for such a post. Without it, "null" is refused like any other origin.
    if (o == "null" && fetch_same_origin) return true;
    std::string want = origin_of(origin);
    if (want.empty() || origin_of(o) != want) return false;
  }
  return true;
}

}  // namespace bastion::web
