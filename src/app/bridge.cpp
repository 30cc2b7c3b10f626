#include "app/bridge.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>
#include <set>
#include <thread>

#include "app/login_tokens.hpp"
#include "auth/token_client.hpp"
#include "gateway/http_channel.hpp"
#include "protocol/jsonrpc.hpp"
#include "transport/ndjson.hpp"

namespace bastion::app {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {
void write_line(const json::value& v) { transport::write_all(1, transport::to_line(v)); }

// "http://h:p/mcp" -> "http://h:p"; empty if `url` is not absolute.
std::string origin_of(const std::string& url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return {};
  return std::string(u->scheme()) + "://" + std::string(u->encoded_authority());
}

}  // namespace

int run_bridge(const BridgeOptions& opts) {
  asio::io_context ioc;
  auto strand = asio::make_strand(ioc);
  gateway::HttpChannelOptions copts{opts.url, opts.legacy_sse, opts.headers};
  std::shared_ptr<auth::TokenSource> tokens;
  if (opts.login) {
    LoginTokenOptions lo;
    lo.mcp_url = opts.url;
    lo.auth_base = opts.auth_url.empty() ? origin_of(opts.url) : opts.auth_url;
    lo.client_id = opts.client_id;
    lo.scope = opts.scope;
    lo.state_dir = opts.state_dir;
    lo.open_browser = opts.open_browser;
    auto login = std::make_shared<LoginTokens>(std::move(lo));
    if (auto first = login->authorization(); !first) {
      spdlog::error("connect: cannot sign in: {}", first.error().reason);
      return 1;
    }
    copts.authorization = [login](bool renew) {
      auto r = login->authorization(renew);
      if (r) return r.value();
      spdlog::error("connect: cannot renew the token: {}", r.error().reason);
      return std::string();
    };
  } else if (!opts.client_id.empty()) {
    std::string base = opts.auth_url.empty() ? origin_of(opts.url) : opts.auth_url;
    tokens =
        std::make_shared<auth::TokenSource>(base, opts.client_id, opts.client_secret, opts.scope);
    // Fail now, with the server's reason, rather than on the first request.
    if (auto first = tokens->authorization(); !first) {
      spdlog::error("connect: cannot get a token from {}: {}", base, first.error().reason);
      return 1;
    }
    copts.authorization = [tokens](bool renew) {
      auto r = tokens->authorization(renew);
      if (r) return r.value();
      spdlog::error("connect: cannot renew the token: {}", r.error().reason);
      return std::string();
    };
  }
  auto channel = std::make_shared<gateway::HttpChannel>(strand, std::move(copts));
  if (auto started = channel->start(); !started) {
    spdlog::error("connect: {}", started.reason());
    return 1;
  }
  // Ids of our client's requests still waiting for an answer.
  std::set<std::string> pending;
  bool eof = false;
  int exit_code = 0;

  asio::co_spawn(
      strand,
      [&]() -> asio::awaitable<void> {
        while (auto in = co_await channel->receive()) {
          const json::object* m = &in->message;
          if (auto* id = m->if_contains("id"); id && !m->contains("method"))
            pending.erase(json::serialize(*id));
          write_line(*m);
          if (eof && pending.empty()) break;
        }
        if (!eof) {
          auto why = channel->close_reason();
          if (!why.empty() && why != "closed by bastion") {
            spdlog::error("connect: the remote endpoint went away: {}", why);
            exit_code = 1;
          }
        }
        channel->close();
        ioc.stop();
      },
      asio::detached);

  std::thread reader([&] {
    // Bounded like `bastion stdio`: an over-long line is answered with a
    // parse error and dropped as it arrives, never buffered whole.
    transport::LineReader lines(opts.max_line_bytes);
    transport::read_lines(0, lines, [&](const transport::LineReader::Frame& f) {
      if (f.kind == transport::LineReader::Frame::kTooLong) {
        asio::post(strand, [] {
          write_line(protocol::make_error(
              nullptr, {protocol::kParseError, "Parse error: message exceeds the size limit"}));
        });
        return true;
      }
      asio::post(strand, [&, line = std::string(f.text)] {
        if (line.find_first_not_of(" \t") == std::string::npos) return;
        auto parsed = protocol::parse_json(line);
        if (!parsed || !parsed->is_object()) {
          write_line(protocol::make_error(
              nullptr, !parsed ? parsed.error()
                               : protocol::RpcError{protocol::kInvalidRequest,
                                                    "Invalid Request: expected an object"}));
          return;
        }
        auto& obj = parsed->get_object();
        if (obj.contains("method") && obj.contains("id"))
          pending.insert(json::serialize(obj.at("id")));
        channel->send(std::move(obj));
      });
      return true;
    });
    asio::post(strand, [&] {
      eof = true;
      if (pending.empty()) {
        channel->close();
        ioc.stop();
      }
    });
  });
  // A bound on waiting for answers after EOF.
  asio::steady_timer guard(strand);
  std::function<void()> arm = [&] {
    guard.expires_after(std::chrono::seconds(1));
    guard.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      static int waited = 0;
      if (eof && ++waited > 60) {
        spdlog::warn("connect: giving up on {} unanswered request(s)", pending.size());
        ioc.stop();
        return;
      }
      arm();
    });
  };
  arm();
  ioc.run();
  reader.detach();  // blocked in read(2) only if stdin is still open; we exit anyway
  return exit_code;
}

}  // namespace bastion::app
