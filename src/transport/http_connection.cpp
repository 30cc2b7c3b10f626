#include "transport/http_connection.hpp"

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/json/serialize.hpp>

#include "metrics/metrics.hpp"
#include "protocol/json_text.hpp"
#include "protocol/jsonrpc.hpp"

namespace bastion::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using tcp = asio::ip::tcp;

HttpConnection::HttpConnection(tcp::socket socket, std::chrono::milliseconds write_timeout,
                               const std::atomic<bool>& stopping)
    : stream_(std::move(socket)), write_timeout_(write_timeout), stopping_(stopping) {
  boost::system::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) peer_ = ep.address();
  // A synchronous write returns would_block instead of waiting (write()).
  stream_.socket().non_blocking(true, ec);
}

namespace {

// bastion_http_responses_total{code="..."}, its series found on the code's
// first response and kept (a response then costs one atomic add).
metrics::Metrics::Counter& responses_with(unsigned code) {
  static std::array<std::atomic<metrics::Metrics::Counter*>, 600> kByCode{};
  auto make = [code] {
    return &metrics::Metrics::global().counter("bastion_http_responses_total",
                                               fmt::format("code=\"{}\"", code));
  };
  if (code >= kByCode.size()) return *make();
  return metrics::kept(kByCode[code], make);
}

}  // namespace

std::size_t HttpConnection::write_now(std::span<const asio::const_buffer> pieces, bool& failed) {
  boost::system::error_code ec;
  std::size_t n = stream_.socket().write_some(pieces, ec);
  failed = ec && ec != asio::error::would_block && ec != asio::error::try_again;
  return ec ? 0 : n;
}

asio::awaitable<bool> HttpConnection::write(Response res, bool keep_alive) {
  responses_with(res.result_int()).add();
  res.keep_alive(keep_alive && !stopping());
  res.prepare_payload();
  // The header block as Beast's serializer writes it (the fields' own
  // writer), then the body: one gather write. Most answers fit in the
  // socket's send buffer and are written at once, with no timer armed and
  // no completion to wait for; what does not fit goes on asynchronously,
  // under the write timeout.
  const http::fields::writer head(res.base(), res.version(), res.result_int());
  boost::container::small_vector<asio::const_buffer, 12> pieces;
  for (asio::const_buffer b : head.get()) pieces.push_back(b);
  pieces.push_back(asio::buffer(res.body()));
  bool failed = false;
  const std::size_t sent = write_now(pieces, failed);
  if (failed) co_return false;
  if (sent < asio::buffer_size(pieces)) {
    beast::buffers_suffix<std::span<const asio::const_buffer>> rest(pieces);
    rest.consume(sent);
    stream_.expires_after(write_timeout_);
    auto [ec, n] = co_await asio::async_write(stream_, rest, tuple_awaitable);
    stream_.expires_never();
    if (ec) co_return false;
  }
  co_return res.keep_alive();
}

asio::awaitable<bool> HttpConnection::write_header(http::response<http::empty_body>& res) {
  metrics::Metrics::global().add("bastion_http_responses_total",
                                 fmt::format("code=\"{}\",stream=\"sse\"", res.result_int()));
  http::response_serializer<http::empty_body> sr{res};
  stream_.expires_after(write_timeout_);
  auto [ec, n] = co_await http::async_write_header(stream_, sr, tuple_awaitable);
  stream_.expires_never();
  co_return !ec;
}

asio::awaitable<bool> HttpConnection::write_chunk(std::string_view data) {
  stream_.expires_after(write_timeout_);
  auto [ec, n] = co_await asio::async_write(
      stream_, http::make_chunk(asio::buffer(data.data(), data.size())), tuple_awaitable);
  stream_.expires_never();
  co_return !ec;
}

asio::awaitable<bool> HttpConnection::write_last_chunk() {
  stream_.expires_after(write_timeout_);
  auto [ec, n] = co_await asio::async_write(stream_, http::make_chunk_last(), tuple_awaitable);
  stream_.expires_never();
  co_return !ec;
}

void HttpConnection::shutdown_receive() {
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_receive, ignored);
}

void HttpConnection::close() {
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
}

Response json_response(unsigned version, http::status status, const json::value& body) {
  return json_text_response(version, status, protocol::json_text(body));
}

Response json_text_response(unsigned version, http::status status, std::string body) {
  Response res{status, version};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

Response error_response(unsigned version, const Refusal& refusal) {
  return json_response(
      version, refusal.status,
      protocol::make_error(refusal.id, {refusal.code, refusal.reason, refusal.data}));
}

}  // namespace bastion::transport
