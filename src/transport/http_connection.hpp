// One accepted HTTP connection and how answers are written to it: complete
// responses, or a chunked body (SSE) piece by piece, each write bounded by a
// timeout and counted in bastion_http_responses_total. Shared by the
// listener, the MCP endpoint and SSE streaming.
#pragma once

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <span>
#include <string_view>

#include "transport/http_server.hpp"
#include "transport/request_guards.hpp"

namespace bastion::transport {

// co_await op(..., tuple_awaitable) yields (error_code, result...) instead of
// throwing: the transport's I/O completion token.
inline constexpr auto tuple_awaitable = boost::asio::as_tuple(boost::asio::use_awaitable);

// One coroutine at a time uses a connection (its session loop, or the SSE
// writer that loop is awaiting), on the connection's executor (its worker
// loop, which one thread runs).
class HttpConnection {
 public:
  HttpConnection(boost::asio::ip::tcp::socket socket, std::chrono::milliseconds write_timeout,
                 const std::atomic<bool>& stopping);

  boost::beast::tcp_stream& stream() { return stream_; }
  // The TCP peer's address (unspecified if the socket could not say).
  const boost::asio::ip::address& peer() const { return peer_; }
  // The server is shutting down: answers say Connection: close.
  bool stopping() const { return stopping_.load(); }

  // Writes a complete response. True when the connection stays open
  // (`keep_alive` asked for it and the server is not stopping).
  boost::asio::awaitable<bool> write(Response res, bool keep_alive);

  // A chunked response: the header once, then chunks, then the last chunk.
  // Each returns false once the peer is gone.
  boost::asio::awaitable<bool> write_header(http::response<http::empty_body>& res);
  boost::asio::awaitable<bool> write_chunk(std::string_view data);
  boost::asio::awaitable<bool> write_last_chunk();

  // Ends reading: the session loop finishes after its current answer. Call
  // on the connection's executor.
  void shutdown_receive();
  void close();

 private:
  // Writes what the socket takes of `pieces` without waiting, and returns
  // how much. `failed` on an error other than a full send buffer (the peer
  // is gone).
  std::size_t write_now(std::span<const boost::asio::const_buffer> pieces, bool& failed);

  boost::beast::tcp_stream stream_;
  boost::asio::ip::address peer_;
  std::chrono::milliseconds write_timeout_;
  const std::atomic<bool>& stopping_;
};

Response json_response(unsigned version, http::status status, const boost::json::value& body);
// The same with the body's JSON text already written (server::wire_text).
Response json_text_response(unsigned version, http::status status, std::string body);
// A refusal as an HTTP error with a JSON-RPC error body, as the MCP
// transport spec suggests: the request's id when it is known, else null.
Response error_response(unsigned version, const Refusal& refusal);

}  // namespace bastion::transport
