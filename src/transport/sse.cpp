#include "transport/sse.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/serialize.hpp>

#include "protocol/json_text.hpp"

namespace bastion::transport {

namespace asio = boost::asio;
namespace json = boost::json;

std::shared_ptr<EventStream> SessionStreams::create(asio::any_io_executor ex) {
  std::lock_guard lk(mu_);
  auto id = std::to_string(next_++);
  auto s = std::make_shared<EventStream>(ex, id);
  streams_[id] = s;
  order_.push_back(id);
  while (order_.size() > kMaxStreams) {
    auto it = streams_.find(order_.front());
    if (it != streams_.end() && it->second != standalone_) streams_.erase(it);
    order_.pop_front();
  }
  trim_locked();
  return s;
}

void SessionStreams::trim() {
  std::lock_guard lk(mu_);
  trim_locked();
}

std::size_t SessionStreams::bytes() const {
  std::lock_guard lk(mu_);
  return bytes_locked();
}

std::size_t SessionStreams::bytes_locked() const {
  std::size_t n = 0;
  for (const auto& [id, s] : streams_) n += s->bytes();
  return n;
}

void SessionStreams::trim_locked() {
  std::size_t total = bytes_locked();
  // Oldest first; the newest stays whatever it holds.
  for (auto at = order_.begin(); total > max_bytes_ && at + 1 < order_.end();) {
    auto it = streams_.find(*at);
    if (it == streams_.end() || it->second == standalone_ || !it->second->finished()) {
      ++at;
      continue;
    }
    total -= std::min(total, it->second->bytes());
    streams_.erase(it);
    at = order_.erase(at);
  }
}

std::shared_ptr<EventStream> SessionStreams::find(const std::string& id) const {
  std::lock_guard lk(mu_);
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second;
}

std::shared_ptr<EventStream> SessionStreams::claim_standalone(asio::any_io_executor ex,
                                                              bool& created,
                                                              std::uint64_t& delivered) {
  created = false;
  {
    std::lock_guard lk(mu_);
    if (standalone_held_) return nullptr;
    standalone_held_ = true;
    delivered = standalone_delivered_;
    if (standalone_) return standalone_;
  }
  auto es = create(ex);
  std::lock_guard lk(mu_);
  standalone_ = es;
  created = true;
  return es;
}

void SessionStreams::release_standalone(std::uint64_t delivered) {
  std::lock_guard lk(mu_);
  standalone_held_ = false;
  standalone_delivered_ = std::max(standalone_delivered_, delivered);
}

std::shared_ptr<SessionStreams> StreamTable::get(const std::string& session_id,
                                                 const std::function<bool()>& closed) {
  std::shared_ptr<SessionStreams> s;
  {
    std::lock_guard lk(mu_);
    auto& slot = sessions_[session_id];
    if (!slot) slot = std::make_shared<SessionStreams>();
    s = slot;
  }
  if (closed()) drop(session_id);
  return s;
}

std::shared_ptr<SessionStreams> StreamTable::find(const std::string& session_id) const {
  std::lock_guard lk(mu_);
  auto it = sessions_.find(session_id);
  return it == sessions_.end() ? nullptr : it->second;
}

void StreamTable::drop(const std::string& session_id) {
  std::lock_guard lk(mu_);
  sessions_.erase(session_id);
}

std::size_t StreamTable::size() const {
  std::lock_guard lk(mu_);
  return sessions_.size();
}

void pump(std::shared_ptr<server::Outbox> out, std::shared_ptr<EventStream> es,
          std::optional<std::size_t> requests, asio::any_io_executor ex,
          std::weak_ptr<SessionStreams> owner) {
  asio::co_spawn(
      ex,
      [out, es, requests, owner = std::move(owner)]() mutable -> asio::awaitable<void> {
        while (!requests || *requests > 0) {
          auto m = co_await out->pop();
          if (!m) break;
          if (m->ends_request && requests) --*requests;
          if (m->message) es->append(server::wire_text(*m));
        }
        es->finish();
        out->close();
        if (auto table = owner.lock()) table->trim();
      },
      asio::detached);
}

std::optional<std::pair<std::string, std::uint64_t>> parse_event_id(std::string_view id) {
  auto dash = id.rfind('-');
  if (dash == std::string_view::npos || dash == 0) return std::nullopt;
  std::uint64_t seq = 0;
  auto digits = id.substr(dash + 1);
  if (digits.empty() || digits.size() > 19) return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    seq = seq * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return std::make_pair(std::string(id.substr(0, dash)), seq);
}

std::string format_events(const EventStream& es, const std::vector<EventStream::Event>& events) {
  std::string text;
  for (const auto& e : events) {
    text += "id: ";
    text += es.event_id(e.seq);
    text += "\nevent: message\ndata: ";
    text += e.data;
    text += "\n\n";
  }
  return text;
}

asio::awaitable<bool> write_sse(HttpConnection& conn, const Request& req,
                                std::shared_ptr<EventStream> es, std::uint64_t* last,
                                SseResponse head) {
  std::uint64_t after = *last;
  http::response<http::empty_body> res{http::status::ok, req.version()};
  res.set(http::field::content_type, "text/event-stream");
  res.set(http::field::cache_control, "no-cache");
  res.set(http::field::connection, "keep-alive");
  if (!head.session_id.empty()) res.set("Mcp-Session-Id", head.session_id);
  apply_cors(res, head.cors_origin, !head.cors_origin.empty());
  res.chunked(true);
  res.keep_alive(req.keep_alive());
  if (!co_await conn.write_header(res)) co_return false;

  auto token = es->claim_writer();
  bool ok = true;
  // Priming event (SEP-1699): gives the client an id to resume from before
  // anything else happens, and the reconnection delay.
  if (head.protocol_version >= "2025-11-25") {
    const std::string priming =
        fmt::format("id: {}\nretry: {}\ndata: \n\n", es->event_id(after), head.retry.count());
    ok = co_await conn.write_chunk(priming);
  }
  while (ok && !conn.stopping()) {
    auto batch = co_await es->wait_after(after, head.keepalive);
    if (!es->is_writer(token)) break;  // a resumed connection took over
    std::string text = format_events(*es, batch.events);
    if (!batch.events.empty()) after = batch.events.back().seq;
    if (text.empty() && !batch.finished) text = ": keep-alive\n\n";
    if (!text.empty()) ok = co_await conn.write_chunk(text);
    if (ok) *last = after;
    if (batch.finished && ok) {
      // Drained everything that will ever be on this stream.
      auto rest = co_await es->wait_after(after, std::chrono::milliseconds(0));
      if (rest.events.empty()) break;
    }
  }
  if (!ok) co_return false;
  co_return co_await conn.write_last_chunk() && req.keep_alive() && !conn.stopping();
}

}  // namespace bastion::transport
