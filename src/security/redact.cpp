#include "security/redact.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>

namespace bastion::security {

namespace {

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string percent_encode(std::string_view v, bool lower, bool plus_for_space) {
  static constexpr char kUpper[] = "0123456789ABCDEF";
  static constexpr char kLower[] = "0123456789abcdef";
  const char* digits = lower ? kLower : kUpper;
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ' && plus_for_space) {
      out += '+';
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> encoded_forms(std::string_view value) {
  std::vector<std::string> out;
  auto add = [&](std::string f) {
    if (f.size() >= 4 && f != value && std::find(out.begin(), out.end(), f) == out.end())
      out.push_back(std::move(f));
  };
  // Hex, both cases.
  std::string hex;
  for (unsigned char c : value) {
    hex += "0123456789abcdef"[c >> 4];
    hex += "0123456789abcdef"[c & 15];
  }
  std::string upper = hex;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  add(hex);
  add(upper);
  // URL (percent) encoding: upper- and lower-case digits, '+' for spaces.
  add(percent_encode(value, false, false));
  add(percent_encode(value, true, false));
  add(percent_encode(value, false, true));
  // Base64 and base64url. Inside a longer encoded text the secret starts at
  // any byte offset modulo 3, and each offset encodes it differently: for
  // each, the characters that depend on the secret's bytes alone.
  for (std::size_t k = 0; k < 3; ++k) {
    std::string buf(k, '\0');
    buf.append(value);
    std::string b64 = base64(buf);
    std::size_t begin = (k * 8 + 5) / 6;
    std::size_t end = ((k + value.size()) * 8) / 6;
    if (end <= begin) continue;
    std::string core = b64.substr(begin, end - begin);
    std::string url = core;
    for (char& c : url) c = c == '+' ? '-' : c == '/' ? '_' : c;
    add(core);
    add(url);
  }
  return out;
}

Redactor& Redactor::global() {
  static Redactor r;
  return r;
}

void Redactor::add(std::string value) {
  if (value.size() < 4) return;
  // The encoded forms of short values would scrub ordinary text.
  std::vector<std::string> forms;
  if (value.size() >= kMinEncodedBytes) forms = encoded_forms(value);
  forms.push_back(std::move(value));
  std::unique_lock lock(mu_);
  bool added = false;
  for (auto& f : forms) {
    if (std::find(values_.begin(), values_.end(), f) != values_.end()) continue;
    values_.push_back(std::move(f));
    added = true;
  }
  if (!added) return;
  std::sort(values_.begin(), values_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  count_.store(values_.size(), std::memory_order_release);
}

std::string Redactor::redact(std::string_view text) const {
  if (empty()) return std::string(text);
  std::shared_lock lock(mu_);
  std::string out(text);
  for (const auto& v : values_)
    for (auto pos = out.find(v); pos != std::string::npos; pos = out.find(v, pos + 3))
      out.replace(pos, v.size(), "***");
  return out;
}

bool Redactor::contains_secret(std::string_view text) const {
  if (empty()) return false;
  std::shared_lock lock(mu_);
  for (const auto& v : values_)
    if (text.find(v) != std::string_view::npos) return true;
  return false;
}

std::size_t scrub_json(boost::json::value& v, const Redactor& r) {
  std::size_t n = 0;
  switch (v.kind()) {
    case boost::json::kind::string: {
      auto& s = v.get_string();
      std::string_view sv(s.data(), s.size());
      if (r.contains_secret(sv)) {
        s = r.redact(sv);
        ++n;
      }
      break;
    }
    case boost::json::kind::array:
      for (auto& x : v.get_array()) n += scrub_json(x, r);
      break;
    case boost::json::kind::object:
      for (auto& kv : v.get_object()) n += scrub_json(kv.value(), r);
      break;
    default:
      break;
  }
  return n;
}

server::Verdict SecretScrubFilter::on_response(boost::json::object& result,
                                               server::CallContext& ctx) {
  if (r_.empty()) return server::Verdict::unchanged();
  std::size_t n = 0;
  for (auto& kv : result) n += scrub_json(kv.value(), r_);
  if (n) ctx.notes.secrets_redacted += static_cast<std::int64_t>(n);
  return n ? server::Verdict::pass() : server::Verdict::unchanged();
}

void SecretScrubFilter::on_error(protocol::RpcError& error, server::CallContext& ctx) {
  if (r_.empty()) return;
  std::size_t n = 0;
  if (r_.contains_secret(error.message)) {
    error.message = r_.redact(error.message);
    ++n;
  }
  n += scrub_json(error.data, r_);
  if (n) ctx.notes.secrets_redacted += static_cast<std::int64_t>(n);
}

server::Verdict SecretScrubFilter::on_outbound(boost::json::object& message,
                                               const server::MessageContext& ctx) {
  if (r_.empty()) return {};
  auto* params = message.if_contains("params");
  if (!params) return {};
  std::size_t n = scrub_json(*params, r_);
  if (!n) return {};
  const std::string_view session_id = ctx.session_id;
  auto* m = message.if_contains("method");
  std::string method = m && m->is_string() ? std::string(m->get_string()) : std::string();
  spdlog::warn("a secret was redacted from {} sent to session {}", method, session_id);
  if (report_)
    report_({{"event_type", "secret_redacted"},
             {"method", method},
             {"session_id", session_id},
             {"secrets_redacted", n}});
  return {};
}

namespace {

class RedactingSink : public spdlog::sinks::sink {
 public:
  RedactingSink(std::shared_ptr<spdlog::sinks::sink> inner, const Redactor& r)
      : inner_(std::move(inner)), r_(r) {}
  void log(const spdlog::details::log_msg& msg) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (!r_.contains_secret(payload)) return inner_->log(msg);
    std::string clean = r_.redact(payload);
    spdlog::details::log_msg copy = msg;
    copy.payload = clean;
    inner_->log(copy);
  }
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> f) override {
    inner_->set_formatter(std::move(f));
  }

 private:
  std::shared_ptr<spdlog::sinks::sink> inner_;
  const Redactor& r_;
};

}  // namespace

std::shared_ptr<spdlog::sinks::sink> redacting_sink(std::shared_ptr<spdlog::sinks::sink> inner,
                                                    const Redactor& redactor) {
  return std::make_shared<RedactingSink>(std::move(inner), redactor);
}

}  // namespace bastion::security
