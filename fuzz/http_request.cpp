// The HTTP request path of the listener and the MCP endpoint, without
// sockets: the raw header block (check_raw_header), Beast's parser with the
// listener's limits, the framing checks (check_framing), the DNS-rebinding
// and CORS guards (admit) under two configurations, MCP-Protocol-Version,
// content negotiation, the session id's consistent-hash routing, and the
// POST body as JSON-RPC (read_post_body). Input: the bytes a client sends.
//
// Promises checked: framing refusals close the connection; a refused
// request never gets CORS; a grant only goes to an allowed Origin; every
// refusal's JSON-RPC body is valid JSON with a valid or null id; a body read
// as JSON-RPC counts its requests right and never has initialize in a batch.
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http.hpp>

#include "fuzz_util.hpp"
#include "protocol/jsonrpc.hpp"
#include "server/chash.hpp"
#include "transport/post_body.hpp"
#include "transport/request_guards.hpp"

namespace {

using namespace bastion;
using namespace bastion::transport;
namespace json = boost::json;

void check_refusal(const Refusal& r) {
  auto s = static_cast<unsigned>(r.status);
  FUZZ_CHECK(s >= 400 && s < 600);
  FUZZ_CHECK(r.id.is_null() || protocol::valid_id(r.id));
  FUZZ_CHECK(fuzz::wire_json(protocol::make_error(r.id, {r.code, r.reason})));
}

void check_admission(const http::request_header<>& h, const GuardOptions& opts) {
  Admission a = admit(h, opts);
  if (a.refusal) {
    check_refusal(*a.refusal);
    FUZZ_CHECK(!a.cors);
    return;
  }
  FUZZ_CHECK(host_allowed(h[http::field::host], opts.allowed_hosts, opts.loopback_only));
  if (a.cors) {
    FUZZ_CHECK(!h[http::field::origin].empty());
    FUZZ_CHECK(origin_allowed(h[http::field::origin], opts.allowed_origins));
  }
}

const server::NginxChashRing& ring() {
  static const server::NginxChashRing r({"10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"});
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes = fuzz::as_text(data, size);
  // The listener reads until the blank line, then refuses line folding
  // before Beast sees the header.
  auto end = bytes.find("\r\n\r\n");
  if (end == std::string_view::npos) return 0;
  if (auto r = check_raw_header(bytes.substr(0, end + 4))) {
    check_refusal(*r);
    FUZZ_CHECK(r->close);
    return 0;
  }
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  boost::system::error_code ec;
  std::size_t used = 0;
  while (!parser.is_header_done() && used < bytes.size()) {
    std::size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (ec) return 0;
    if (n == 0) break;
    used += n;
  }
  if (!parser.is_header_done()) return 0;
  if (auto r = check_framing(parser.get())) {
    check_refusal(*r);
    FUZZ_CHECK(r->close);
    return 0;
  }
  parser.eager(true);
  while (!parser.is_done() && used < bytes.size()) {
    std::size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (ec == http::error::need_more) break;
    if (ec) return 0;
    used += n;
  }
  if (!parser.is_done()) return 0;
  const auto& req = parser.get();

  // The guards under the defaults on a loopback listener, and with explicit lists.
  check_admission(req, GuardOptions{{}, {}, true});
  check_admission(req, GuardOptions{{"https://app.example"}, {"mcp.example.com"}, false});
  check_admission(req, GuardOptions{{"*"}, {"*"}, false});
  if (auto r = check_protocol_version(req, 1)) check_refusal(*r);

  auto accept = req[http::field::accept];
  accepts(accept, "application/json");
  accepts(accept, "text/event-stream");
  if (auto sid = req["Mcp-Session-Id"]; !sid.empty()) {
    const std::string& owner = ring().lookup(sid);
    FUZZ_CHECK(owner.starts_with("10.0.0."));
  }

  if (req.method() != http::verb::post || !is_json_content_type(req[http::field::content_type]))
    return 0;
  auto body = read_post_body(req.body());
  if (!body) {
    check_refusal(body.error());
    return 0;
  }
  const PostBody& b = body.value();
  FUZZ_CHECK(!b.messages.empty());
  FUZZ_CHECK(b.batch || b.messages.size() == 1);
  FUZZ_CHECK(!(b.batch && b.initialize));
  std::size_t requests = 0;
  for (const auto& m : b.messages) requests += m.kind == protocol::MessageKind::kRequest;
  FUZZ_CHECK(requests == b.requests);
  FUZZ_CHECK(b.id.is_null() == (requests != 1));
  return 0;
}
