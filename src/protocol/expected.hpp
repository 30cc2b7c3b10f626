// Error-as-value for untrusted input and expected failures (STYLE: errors,
// tier 1): either a T or an E, with ok()/value()/error() and nothing clever.
// E carries at least `reason` (a message to log, audit or send back); modules
// alias it with their own error type (auth::Result, security::CryptoResult).
#pragma once

#include <cassert>
#include <utility>
#include <variant>

namespace bastion::protocol {

template <class T, class E>
class Expected {
 public:
  Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Expected(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

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
  const E& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  const auto& reason() const { return error().reason; }
  auto code() const { return error().code; }  // for error types that have one

 private:
  std::variant<T, E> v_;
};

}  // namespace bastion::protocol
