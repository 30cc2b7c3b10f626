// The channel factory: how an Upstream gets a Channel to a fresh instance of
// its server. LevelDB's Env in miniature — the default launches a stdio
// server under its sandbox runtime (chosen once per server) or connects to
// an HTTP one; tests hand an Upstream or the gateway a factory of scripted
// in-process servers (fake_channel.hpp) and so test lazy start, restarts,
// idle shutdown, caps, reload and routing without a process.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "gateway/channel.hpp"
#include "protocol/expected.hpp"

namespace bastion::gateway {

struct UpstreamOptions;

struct ChannelRequest {
  const UpstreamOptions& options;
  // The server's own environment (env: and the decrypted secrets:); the
  // runtime adds its fixed PATH and private HOME and nothing of Bastion's.
  std::map<std::string, std::string> env;
  std::set<std::string> secret_vars;      // which entries of env hold secrets
  boost::asio::any_io_executor executor;  // the upstream's strand: the channel runs on it
  // The x-mcp-header annotations of a tool by its name at the server (from
  // the upstream's last tools/list): an HTTP channel mirrors the annotated
  // arguments of a Modern tools/call into Mcp-Param-* headers. May be empty.
  ParamHeaderLookup param_headers;
};

struct OpenedChannel {
  std::shared_ptr<Channel> channel;  // started, ready to send
  // Ends what runs behind the channel once it is closed: kills and reaps the
  // process, undoes host-side sandbox state. May block (a bounded grace
  // period); empty when there is nothing to end (HTTP, fakes).
  std::function<void()> terminate;
};

using ChannelResult = protocol::Expected<OpenedChannel, ChannelError>;

// Called on the upstream's strand for every start. A factory shared by
// several upstreams must be thread-safe.
using ChannelFactory = std::function<ChannelResult(const ChannelRequest&)>;

// The real thing for `o`: its sandbox runtime is made here, once.
ChannelFactory default_channel_factory(const UpstreamOptions& o);

}  // namespace bastion::gateway
