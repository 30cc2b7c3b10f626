#include "protocol/sealed_state.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "protocol/base64.hpp"
#include "protocol/jsonrpc.hpp"

namespace bastion::protocol {

namespace json = boost::json;

namespace {

constexpr std::string_view kPrefix = "bs1.";

// The binding, reduced to a fixed-size digest; fields are length-prefixed so
// no two bindings share an encoding.
std::string binding_digest(const StateBinding& b) {
  std::string in;
  for (const std::string* f : {&b.principal, &b.method, &b.target, &b.arguments}) {
    in += std::to_string(f->size());
    in += ':';
    in += *f;
  }
  unsigned char out[crypto_generichash_BYTES];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(in.data()), in.size(),
                     nullptr, 0);
  return hex_encode(std::string_view(reinterpret_cast<const char*>(out), sizeof out));
}

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string read_key_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
  std::string key(StateSealer::kKeyBytes + 1, '\0');
  ssize_t n = ::read(fd, key.data(), key.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(StateSealer::kKeyBytes))
    throw std::runtime_error(path.string() + " is not a 32-byte key");
  key.resize(StateSealer::kKeyBytes);
  return key;
}

}  // namespace

StateSealer::StateSealer(const std::array<unsigned char, kKeyBytes>& key, std::chrono::seconds ttl)
    : key_(key), ttl_(ttl) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

StateSealer::~StateSealer() { sodium_memzero(key_.data(), key_.size()); }

std::shared_ptr<StateSealer> StateSealer::random(std::chrono::seconds ttl) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  std::array<unsigned char, kKeyBytes> key;
  crypto_secretbox_keygen(key.data());
  auto s = std::make_shared<StateSealer>(key, ttl);
  sodium_memzero(key.data(), key.size());
  return s;
}

std::shared_ptr<StateSealer> StateSealer::from_key_file(const std::filesystem::path& path,
                                                        std::chrono::seconds ttl) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    // The key's directory (data_dir/mcp, in a data directory that exists)
    // is private like every directory of it: 0700 from its mkdir, whatever
    // the umask. Should it fail, creating the key below says why.
    ::mkdir(path.parent_path().c_str(), 0700);
    // Written aside, then linked into place: link() fails when another
    // process got there first, and then its key is the one everybody uses.
    std::array<unsigned char, kKeyBytes> fresh;
    crypto_secretbox_keygen(fresh.data());
    auto tmp = path;
    tmp += ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
      throw std::runtime_error("cannot create " + tmp.string() + ": " + std::strerror(errno));
    bool ok = ::write(fd, fresh.data(), fresh.size()) == static_cast<ssize_t>(fresh.size()) &&
              ::fsync(fd) == 0;
    ::close(fd);
    sodium_memzero(fresh.data(), fresh.size());
    if (!ok) {
      ::unlink(tmp.c_str());
      throw std::runtime_error("cannot write " + tmp.string());
    }
    if (::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
      int e = errno;
      ::unlink(tmp.c_str());
      throw std::runtime_error("cannot create " + path.string() + ": " + std::strerror(e));
    }
    ::unlink(tmp.c_str());
  }
  std::string raw = read_key_file(path);
  std::array<unsigned char, kKeyBytes> key;
  std::memcpy(key.data(), raw.data(), kKeyBytes);
  sodium_memzero(raw.data(), raw.size());
  auto s = std::make_shared<StateSealer>(key, ttl);
  sodium_memzero(key.data(), key.size());
  return s;
}

std::string StateSealer::seal(const json::value& payload, const StateBinding& binding,
                              std::chrono::system_clock::time_point now) const {
  json::object box{
      {"v", 1}, {"exp", unix_ms(now + ttl_)}, {"b", binding_digest(binding)}, {"p", payload}};
  std::string plain = json::serialize(box);
  std::string out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), nonce,
                        key_.data());
  sodium_memzero(plain.data(), plain.size());
  return std::string(kPrefix) + base64url_nopad_encode(out);
}

Expected<json::value, StateError> StateSealer::open(
    std::string_view token, const StateBinding& binding,
    std::chrono::system_clock::time_point now) const {
  if (token.size() > kMaxToken) return StateError{"requestState too long"};
  if (token.substr(0, kPrefix.size()) != kPrefix) return StateError{"not a Bastion requestState"};
  auto raw = base64url_nopad_decode(token.substr(kPrefix.size()));
  if (!raw || raw->size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    return StateError{"malformed requestState"};
  const auto* nonce = reinterpret_cast<const unsigned char*>(raw->data());
  const std::size_t clen = raw->size() - crypto_secretbox_NONCEBYTES;
  std::string plain(clen - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 nonce + crypto_secretbox_NONCEBYTES, clen, nonce,
                                 key_.data()) != 0)
    return StateError{"requestState failed authentication (tampered, or sealed by another key)"};
  auto parsed = parse_json(plain);
  sodium_memzero(plain.data(), plain.size());
  if (!parsed || !parsed->is_object())
    return StateError{"requestState content is not an object"};
  auto& box = parsed->get_object();
  auto* v = box.if_contains("v");
  auto* exp = box.if_contains("exp");
  auto* b = box.if_contains("b");
  if (!v || !v->is_int64() || v->get_int64() != 1 || !exp || !exp->is_int64() || !b ||
      !b->is_string())
    return StateError{"requestState has an unknown layout"};
  if (exp->get_int64() <= unix_ms(now)) return StateError{"requestState expired"};
  const std::string want = binding_digest(binding);
  if (b->get_string().size() != want.size() ||
      sodium_memcmp(b->get_string().data(), want.data(), want.size()) != 0)
    return StateError{"requestState belongs to another caller or request"};
  json::value payload = box.contains("p") ? box.at("p") : json::value();
  return payload;
}

}  // namespace bastion::protocol
