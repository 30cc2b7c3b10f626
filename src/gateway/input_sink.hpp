// InputSink: where an upstream's server-to-client requests go during one call
// whose client cannot take them as requests — a Modern (stateless) client,
// which gets them as an InputRequiredResult instead (era_bridge.hpp). Kept
// apart so the Upstream need not know the bridge.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <memory>
#include <string>

#include "protocol/jsonrpc.hpp"

namespace bastion::server {
class RequestContext;
}

namespace bastion::gateway {

// Thread-safe.
class InputSink {
 public:
  virtual ~InputSink() = default;
  // The upstream's request (sampling/createMessage, elicitation/create,
  // roots/list), already allowed by the server's relay setting; resolves to
  // the client's answer, or an error when none comes.
  virtual boost::asio::awaitable<protocol::Outcome> ask(std::string method,
                                                        boost::json::object params) = 0;
  // The client request the call's notifications go to now: the latest retry.
  virtual std::shared_ptr<server::RequestContext> current() const = 0;
  // Whether the call waits for the client's answer to a request of its (the
  // client was handed an input_required and has not retried yet).
  virtual bool waiting() const { return false; }
};

}  // namespace bastion::gateway
