#include "auth/token_client.hpp"

#include <fcntl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include "auth/jwk.hpp"
#include "auth/run_with_deadline.hpp"
#include "auth/server.hpp"
#include "protocol/version.hpp"

namespace bastion::auth {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

struct Target {
  std::string host, port, path;
};

Result<Target> parse_http_url(const std::string& url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return fail("'" + url + "' is not an absolute URL");
  if (u->scheme() != "http") return fail("only http:// URLs are supported here: " + url);
  Target t;
  t.host = std::string(u->host());
  t.port = u->has_port() ? std::string(u->port()) : "80";
  t.path = std::string(u->encoded_path());
  if (t.path.empty()) t.path = "/";
  if (u->has_query()) t.path += "?" + std::string(u->encoded_query());
  return t;
}

using HttpResponse = http::response<http::string_body>;

// One request/response exchange, asynchronous so that a single deadline
// bounds all of it (Beast's timeouts do not apply to synchronous calls):
// resolve, connect, write and read must finish within `timeout`.
asio::awaitable<Result<HttpResponse>> exchange(beast::tcp_stream& stream, const Target& t,
                                               http::request<http::string_body>& req,
                                               std::size_t max_bytes) {
  constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
  auto failed = [&](const boost::system::error_code& ec) -> Result<HttpResponse> {
    return fail("HTTP request to " + t.host + ":" + t.port + " failed: " + ec.message());
  };
  tcp::resolver resolver(stream.get_executor());
  auto [rec, endpoints] = co_await resolver.async_resolve(t.host, t.port, tuple);
  if (rec) co_return failed(rec);
  auto [cec, ep] = co_await stream.async_connect(endpoints, tuple);
  if (cec) co_return failed(cec);
  ::fcntl(stream.socket().native_handle(), F_SETFD, FD_CLOEXEC);  // Asio: no SOCK_CLOEXEC
  auto [wec, wn] = co_await http::async_write(stream, req, tuple);
  if (wec) co_return failed(wec);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_bytes);
  auto [hec, hn] = co_await http::async_read(stream, buf, parser, tuple);
  if (hec) co_return failed(hec);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return parser.release();
}

Result<HttpResponse> roundtrip(const Target& t, http::request<http::string_body> req,
                               std::chrono::seconds timeout, std::size_t max_bytes = 1024 * 1024) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  req.set(http::field::host, t.host + ":" + t.port);
  req.set(http::field::user_agent, protocol::user_agent());
  req.prepare_payload();
  auto out = run_with_deadline(ioc, exchange(stream, t, req, max_bytes), timeout, [&] {
    beast::error_code ignored;
    stream.socket().close(ignored);
  });
  if (!out)
    return fail("HTTP request to " + t.host + ":" + t.port + " timed out after " +
                std::to_string(timeout.count()) + " s");
  return std::move(*out);
}

}  // namespace

Result<std::string> http_get(const std::string& url, std::chrono::seconds timeout,
                             std::size_t max_bytes) {
  auto t = parse_http_url(url);
  if (!t) return t.error();
  http::request<http::string_body> req{http::verb::get, t->path, 11};
  req.set(http::field::accept, "application/json");
  auto res = roundtrip(t.value(), std::move(req), timeout, max_bytes);
  if (!res) return res.error();
  if (res->result() != http::status::ok)
    return fail("GET " + url + " answered " + std::to_string(res->result_int()));
  return std::move(res->body());
}

FetchFn http_fetch_default() {
  return [](const std::string& url) { return http_get(url, std::chrono::seconds(5), 256 * 1024); };
}

Result<TokenResponse> fetch_token(const std::string& base_url, const std::string& client_id,
                                  const std::string& secret, const std::string& scope,
                                  std::chrono::seconds timeout) {
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto t = parse_http_url(base + "/oauth2/token");
  if (!t) return t.error();
  http::request<http::string_body> req{http::verb::post, t->path, 11};
  req.set(http::field::content_type, "application/x-www-form-urlencoded");
  req.set(http::field::accept, "application/json");
  req.set(http::field::authorization, basic_authorization(client_id, secret));
  req.body() = "grant_type=client_credentials";
  if (!scope.empty()) req.body() += "&scope=" + form_encode(scope);
  auto res = roundtrip(t.value(), std::move(req), timeout);
  if (!res) return res.error();
  boost::system::error_code ec;
  json::value v = json::parse(res->body(), ec);
  if (ec || !v.is_object())
    return fail("token endpoint answered " + std::to_string(res->result_int()) + " without JSON");
  const json::object& o = v.as_object();
  if (res->result() != http::status::ok) {
    std::string msg = "token endpoint: ";
    if (auto* e = o.if_contains("error"); e && e->is_string()) msg += std::string(e->get_string());
    if (auto* d = o.if_contains("error_description"); d && d->is_string())
      msg += ": " + std::string(d->get_string());
    return fail(msg);
  }
  TokenResponse out;
  auto str = [&](const char* k) {
    auto* p = o.if_contains(k);
    return p && p->is_string() ? std::string(p->get_string()) : std::string();
  };
  out.access_token = str("access_token");
  out.token_type = str("token_type");
  out.scope = str("scope");
  if (auto* e = o.if_contains("expires_in"); e && e->is_number())
    out.expires_in = e->to_number<std::int64_t>();
  if (out.access_token.empty()) return fail("token endpoint answered without access_token");
  return out;
}

TokenSource::TokenSource(std::string base_url, std::string client_id, std::string secret,
                         std::string scope)
    : base_url_(std::move(base_url)),
      client_id_(std::move(client_id)),
      secret_(std::move(secret)),
      scope_(std::move(scope)) {}

Result<std::string> TokenSource::authorization(bool renew) {
  std::lock_guard lk(mu_);
  auto now = std::chrono::steady_clock::now();
  if (renew || token_.empty() || now >= renew_at_) {
    auto r = fetch_token(base_url_, client_id_, secret_, scope_);
    if (!r) return r.error();
    token_ = r->access_token;
    std::chrono::milliseconds life = std::chrono::seconds(r->expires_in > 0 ? r->expires_in : 60);
    renew_at_ = now + life - std::min<std::chrono::milliseconds>(life / 5, std::chrono::minutes(1));
  }
  return "Bearer " + token_;
}

}  // namespace bastion::auth
