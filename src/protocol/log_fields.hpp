// Structured fields for the next log lines of this thread: a scope sets them
// around a synchronous spdlog call, and Bastion's formatters add them to the
// line (`"request_id":..` in log.format json, ` request_id=..` in text).
// spdlog's loggers here are synchronous, so the formatter runs on this thread.
#pragma once

#include <boost/json/object.hpp>

namespace bastion::protocol {

class LogFields {
 public:
  explicit LogFields(const boost::json::object& fields) : prev_(current_) { current_ = &fields; }
  ~LogFields() { current_ = prev_; }
  LogFields(const LogFields&) = delete;
  LogFields& operator=(const LogFields&) = delete;

  // The innermost scope's fields on this thread, or nullptr.
  static const boost::json::object* current() { return current_; }

 private:
  const boost::json::object* prev_;
  static inline thread_local const boost::json::object* current_ = nullptr;
};

}  // namespace bastion::protocol
