// Error-as-value plumbing for the auth module: untrusted tokens, requests and
// key files fail with a reason that callers log, audit or send back.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace bastion::auth {

struct Error {
  std::string reason;
};

// Either a T or an Error. Small on purpose: no monadic API, just ok()/value()/error().
template <class T>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const {
    assert(ok());
    return std::get<0>(v_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  const std::string& reason() const { return error().reason; }

 private:
  std::variant<T, Error> v_;
};

using Status = Result<std::monostate>;
inline Status ok_status() { return Status(std::monostate{}); }
inline Error fail(std::string reason) { return Error{std::move(reason)}; }

}  // namespace bastion::auth
