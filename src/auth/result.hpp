// Error-as-value plumbing for the auth module: untrusted tokens, requests and
// key files fail with a reason that callers log, audit or send back.
#pragma once

#include <string>
#include <variant>

#include "protocol/expected.hpp"

namespace bastion::auth {

struct Error {
  std::string reason;
};

// Either a T or an Error: ok()/value()/error()/reason().
template <class T>
using Result = protocol::Expected<T, Error>;

using Status = Result<std::monostate>;
inline Status ok_status() { return Status(std::monostate{}); }
inline Error fail(std::string reason) { return Error{std::move(reason)}; }

}  // namespace bastion::auth
