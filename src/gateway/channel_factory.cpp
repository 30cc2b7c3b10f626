#include "gateway/channel_factory.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gateway/http_channel.hpp"
#include "gateway/stderr_tail.hpp"
#include "gateway/upstream.hpp"
#include "pii/log_sanitize.hpp"
#include "protocol/url_display.hpp"
#include "sandbox/launch.hpp"
#include "sandbox/spawn.hpp"

namespace bastion::gateway {

namespace asio = boost::asio;

namespace {

// Reads the child's stderr into our log, line by line, bounded.
asio::awaitable<void> pump_stderr(asio::any_io_executor ex, int fd, std::string name) {
  asio::posix::stream_descriptor in(ex, fd);
  std::string buf;
  for (;;) {
    auto [ec, n] = co_await asio::async_read_until(in, asio::dynamic_buffer(buf, 64 * 1024), '\n',
                                                   asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::not_found) {  // an over-long line: log a prefix, drop the rest
      std::string line = pii::sanitize_log_line(std::string_view(buf).substr(0, 512));
      spdlog::info("[{}] {}...", name, line);
      record_stderr(name, line + "...");
      buf.clear();
      continue;
    }
    if (ec) break;
    // PII masked, control characters escaped: the line cannot forge ours.
    std::string line = pii::sanitize_log_line(std::string_view(buf.data(), n - 1));
    spdlog::info("[{}] {}", name, line);
    record_stderr(name, line);
    buf.erase(0, n);
  }
}

ChannelResult open_http(const ChannelRequest& req) {
  const auto& o = req.options;
  auto hc = std::make_shared<HttpChannel>(
      req.executor,
      HttpChannelOptions{o.url, o.legacy_sse, o.headers, o.max_line_bytes, {}, req.param_headers});
  if (auto started = hc->start(); !started) return started.error();
  spdlog::info("upstream {}: connecting to {}{}", o.name, protocol::display_url(o.url),
               o.legacy_sse ? " (HTTP+SSE)" : "");
  return OpenedChannel{hc, {}};
}

ChannelResult open_stdio(const sandbox::Runtime& runtime, const ChannelRequest& req) {
  const auto& o = req.options;
  sandbox::LaunchRequest launch{o.name, o.command, req.env, req.secret_vars, o.cwd};
  auto planned = runtime.plan(launch);
  if (!planned.ok()) return ChannelError{planned.reason()};
  sandbox::LaunchPlan plan = std::move(planned.value());
  auto spawned = sandbox::spawn(plan.spec);
  for (int fd : plan.owned_fds) ::close(fd);
  if (!spawned.ok()) {
    if (plan.cleanup) plan.cleanup();
    return ChannelError{spawned.reason()};
  }
  const sandbox::ProcessHandle& h = spawned.value();
  std::string enforced;
  for (auto& e : plan.enforced) enforced += (enforced.empty() ? "" : "; ") + e;
  spdlog::info("upstream {}: started pid {} ({}) under {}: {}", o.name, h.pid, o.command[0],
               runtime.name(), enforced);
  asio::co_spawn(req.executor, pump_stderr(req.executor, h.stderr_fd, o.name), asio::detached);
  auto fc = std::make_shared<FdChannel>(req.executor, h.stdin_fd, h.stdout_fd,
                                        FdChannelOptions{o.max_line_bytes});
  fc->start();
  return OpenedChannel{fc, [pid = h.pid, cleanup = plan.cleanup] {
                         sandbox::terminate_process(pid, std::chrono::milliseconds(2000));
                         if (cleanup) cleanup();
                       }};
}

}  // namespace

ChannelFactory default_channel_factory(const UpstreamOptions& o) {
  if (!o.url.empty()) return open_http;
  std::shared_ptr<const sandbox::Runtime> runtime =
      sandbox::make_runtime(o.sandbox, sandbox::Host::system());
  return [runtime](const ChannelRequest& req) { return open_stdio(*runtime, req); };
}

}  // namespace bastion::gateway
