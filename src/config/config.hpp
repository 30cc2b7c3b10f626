// Configuration files: YAML (or JSON, a YAML subset) loaded into a JSON tree
// that remembers where every value came from, and a Reader that checks keys
// and types so that a bad file is rejected at start with file, line and
// reason. Modules turn the tree into their own Options structs.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bastion::config {

namespace json = boost::json;

// Thrown for any configuration problem; what() is "FILE:LINE:COL: reason".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Document {
 public:
  // Parses YAML text. `name` is used in messages. Throws ConfigError.
  static Document parse(std::string_view text, std::string name);
  static Document load(const std::string& path);
  // An empty document (all defaults).
  static Document empty(std::string name = "<defaults>");

  const json::value& root() const { return root_; }
  const std::string& name() const { return name_; }
  // "FILE:LINE:COL" for a JSON pointer ("/http/port"); the file alone when
  // the location is unknown (e.g. a missing key).
  std::string where(const std::string& pointer) const;
  [[noreturn]] void fail(const std::string& pointer, const std::string& reason) const;

 private:
  json::value root_;
  std::string name_;
  std::map<std::string, std::pair<int, int>> marks_;  // pointer -> (line, col), 1-based
  friend struct Converter;
};

// Reads one object of the document. Every getter records the key as known;
// finish() rejects the keys nobody asked for (typos must not pass silently).
class Reader {
 public:
  Reader(const Document& doc, std::string pointer);
  bool present() const { return obj_ != nullptr; }
  bool has(std::string_view key) const;
  const std::string& pointer() const { return pointer_; }
  const Document& document() const { return doc_; }

  std::string str(std::string_view key, std::string def);
  std::optional<std::string> opt_str(std::string_view key);
  std::int64_t integer(std::string_view key, std::int64_t def, std::int64_t min, std::int64_t max);
  bool boolean(std::string_view key, bool def);
  double number(std::string_view key, double def, double min, double max);
  // "250ms", "30s", "5m", "2h", or a bare number of seconds.
  std::chrono::milliseconds duration(std::string_view key, std::chrono::milliseconds def);
  // "512", "64KiB", "4MiB", "1GiB" (also KB/MB/GB as powers of 1000).
  std::uint64_t bytes(std::string_view key, std::uint64_t def);
  std::vector<std::string> str_list(std::string_view key, std::vector<std::string> def = {});
  // One of `choices`.
  std::string choice(std::string_view key, std::string def,
                     const std::vector<std::string>& choices);
  // A nested object (may be absent: present() == false).
  Reader child(std::string_view key);
  // A list of mappings, one Reader per element (absent: none). Each element
  // checks its own keys: call finish() on it.
  std::vector<Reader> list(std::string_view key);
  // A list of strings, or one string of words separated by spaces ("a b c",
  // as the OAuth scope parameter is written).
  std::vector<std::string> words(std::string_view key);
  // Raw access for sections handed to another module as JSON.
  const json::value* raw(std::string_view key);
  std::vector<std::string> keys() const;

  [[noreturn]] void fail(std::string_view key, const std::string& reason) const;
  // Throws for the first key that no getter asked for.
  void finish() const;

 private:
  const json::value* get(std::string_view key);
  std::string child_pointer(std::string_view key) const;

  const Document& doc_;
  std::string pointer_;
  const json::object* obj_ = nullptr;
  std::vector<std::string> seen_;
};

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s);
std::optional<std::uint64_t> parse_bytes(std::string_view s);

}  // namespace bastion::config
