// JWS compact serialization: sign, verify, peek at the protected header.
#include "auth/jws.hpp"

#include <array>
#include <string>

#include "protocol/jsonrpc.hpp"

namespace bastion::auth {

Result<std::string> jws_sign(const Key& key, std::string_view payload, json::object header) {
  json::object h;
  h["alg"] = alg_name(key.alg());
  for (auto& [k, v] : header) {
    if (k == "alg") {
      if (!v.is_string() || v.get_string() != alg_name(key.alg()))
        return fail("header alg differs from the key's alg");
      continue;
    }
    h[k] = v;
  }
  std::string input = b64url_encode(json::serialize(h));
  input += '.';
  input += b64url_encode(payload);
  auto sig = key.sign(input);
  if (!sig) return sig.error();
  input += '.';
  input += b64url_encode(sig.value());
  return input;
}

namespace {

struct Segments {
  std::string_view header, payload, signature;
};

Result<Segments> split_compact(std::string_view token, std::size_t max_bytes) {
  if (token.size() > max_bytes)
    return fail("token is " + std::to_string(token.size()) + " bytes, limit " +
                std::to_string(max_bytes));
  auto d1 = token.find('.');
  if (d1 == std::string_view::npos) return fail("token is not a compact JWS (no '.')");
  auto d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return fail("token is not a compact JWS (one '.')");
  if (token.find('.', d2 + 1) != std::string_view::npos)
    return fail("token has more than three segments (JWE or garbage)");
  Segments s{token.substr(0, d1), token.substr(d1 + 1, d2 - d1 - 1), token.substr(d2 + 1)};
  if (s.header.empty()) return fail("empty JWS header segment");
  return s;
}

Result<json::object> decode_header(std::string_view segment) {
  auto bytes = b64url_decode(segment);
  if (!bytes) return fail("JWS header is not base64url");
  // The project's strict parser: a duplicate member (two `alg`s, two
  // `kid`s) is an error, not "last one wins" (RFC 7515 §4).
  auto parsed = protocol::parse_json(*bytes);
  if (const auto* e = parsed ? nullptr : &parsed.error())
    return fail("JWS header is not JSON: " + e->message);
  json::value& v = parsed.value();
  if (!v.is_object()) return fail("JWS header is not a JSON object");
  return std::move(v.as_object());
}

// Registered header names (RFC 7515 §4.1) that may not appear in crit.
constexpr std::array<std::string_view, 11> kRegisteredHeaders = {
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit"};

}  // namespace

Result<json::object> jws_peek_header(std::string_view token, std::size_t max_token_bytes) {
  auto seg = split_compact(token, max_token_bytes);
  if (!seg) return seg.error();
  return decode_header(seg->header);
}

Result<VerifiedJws> jws_verify(std::string_view token, const Key& key,
                               const JwsVerifyOptions& options) {
  auto seg = split_compact(token, options.max_token_bytes);
  if (!seg) return seg.error();
  auto header = decode_header(seg->header);
  if (!header) return header.error();
  json::object& h = header.value();

  auto alg_it = h.find("alg");
  if (alg_it == h.end() || !alg_it->value().is_string()) return fail("JWS header has no alg");
  std::string_view alg = alg_it->value().as_string();
  if (alg == "none") return fail("alg 'none' is never accepted");
  if (alg != alg_name(key.alg()))
    return fail("alg mismatch: token says '" + std::string(alg) + "', key " + key.kid() +
                " is pinned to " + std::string(alg_name(key.alg())));

  if (auto it = h.find("crit"); it != h.end()) {
    if (!it->value().is_array() || it->value().as_array().empty())
      return fail("crit must be a non-empty array");
    for (const auto& name : it->value().as_array()) {
      if (!name.is_string()) return fail("crit entries must be strings");
      std::string_view n = name.as_string();
      for (auto reg : kRegisteredHeaders)
        if (reg == n) return fail("crit lists registered header '" + std::string(n) + "'");
      bool understood = false;
      for (auto u : options.understood_crit) understood = understood || u == n;
      if (!understood) return fail("unsupported critical header '" + std::string(n) + "'");
      if (!h.contains(n)) return fail("crit names '" + std::string(n) + "' but it is absent");
    }
  }
  if (auto it = h.find("b64"); it != h.end() && !(it->value().is_bool() && it->value().get_bool()))
    return fail("unencoded payloads (b64=false) are not supported");

  std::string input;
  std::string payload;
  if (options.detached_payload) {
    if (!seg->payload.empty()) return fail("detached JWS carries a payload");
    payload = std::string(*options.detached_payload);
    input = std::string(seg->header) + "." + b64url_encode(payload);
  } else {
    auto p = b64url_decode(seg->payload);
    if (!p) return fail("JWS payload is not base64url");
    payload = std::move(*p);
    input = std::string(token.substr(0, seg->header.size() + 1 + seg->payload.size()));
  }
  auto sig = b64url_decode(seg->signature);
  if (!sig) return fail("JWS signature is not base64url");
  if (!key.verify(input, *sig)) return fail("signature verification failed");
  return VerifiedJws{std::move(h), std::move(payload)};
}

}  // namespace bastion::auth
