// Sealed requestState for multi round-trip requests (spec basic/patterns/mrtr).
//
// The state a server hands a client in an InputRequiredResult comes back as
// attacker-controlled input. Bastion seals it with XSalsa20-Poly1305
// (libsodium secretbox) under a key from the data directory: the client can
// neither read nor change it, a state sealed by another key (another
// deployment) does not open, and any replica sharing the data directory's
// key can resume it. Inside the box, next to the backend's payload, sit an
// expiry and a digest of what the state is bound to (the caller, the method,
// the tool/prompt/URI and the arguments), so a state replayed by another
// principal, on another request or after it expired is refused.
// It bounds replay but does not make a state single-use (spec MRTR warning).
#pragma once

#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "protocol/expected.hpp"

namespace bastion::protocol {

// What a sealed state belongs to.
struct StateBinding {
  std::string principal;  // "<client_id>\n<subject>" of the caller
  std::string method;     // tools/call, prompts/get, resources/read
  std::string target;     // tool or prompt name, or resource URI
  std::string arguments;  // canonical JSON of the request's arguments
};

struct StateError {
  std::string reason;  // for logs; clients get one generic message
};

// Thread-safe (immutable after construction).
class StateSealer {
 public:
  static constexpr std::size_t kKeyBytes = 32;
  // Longest token accepted by open(): larger input is refused unread.
  static constexpr std::size_t kMaxToken = 64 * 1024;

  explicit StateSealer(const std::array<unsigned char, kKeyBytes>& key,
                       std::chrono::seconds ttl = std::chrono::minutes(10));
  ~StateSealer();
  StateSealer(const StateSealer&) = delete;
  StateSealer& operator=(const StateSealer&) = delete;

  // A sealer with a fresh random key (tests, and an engine nobody gave a key).
  static std::shared_ptr<StateSealer> random(std::chrono::seconds ttl = std::chrono::minutes(10));
  // The key at `path` (32 raw bytes, mode 0600), created when absent; two
  // processes racing to create it end up with the same key. Throws
  // std::runtime_error when it cannot be read or has the wrong size.
  static std::shared_ptr<StateSealer> from_key_file(
      const std::filesystem::path& path, std::chrono::seconds ttl = std::chrono::minutes(10));

  std::chrono::seconds ttl() const { return ttl_; }

  // An opaque ASCII token ("bs1." + base64url) carrying `payload`.
  std::string seal(
      const boost::json::value& payload, const StateBinding& binding,
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;
  // The payload of a token this sealer made for the same binding, not expired.
  Expected<boost::json::value, StateError> open(
      std::string_view token, const StateBinding& binding,
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;

 private:
  std::array<unsigned char, kKeyBytes> key_;
  std::chrono::seconds ttl_;
};

}  // namespace bastion::protocol
