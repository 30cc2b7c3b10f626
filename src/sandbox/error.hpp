// The error type of the sandbox module: why a server could not be started,
// in words an operator can act on (it goes to the log, the audit log and
// back to the client whose call needed the server).
#pragma once

#include <string>

#include "protocol/expected.hpp"

namespace bastion::sandbox {

struct Error {
  std::string reason;
};

template <class T>
using Result = protocol::Expected<T, Error>;

// For results that carry no value.
struct Done {};

}  // namespace bastion::sandbox
