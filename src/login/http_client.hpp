// A small synchronous HTTP/1.1 client (Beast) for talking to an identity
// provider the operator configured: discovery, its keys and its token
// endpoint. https with certificate and host name verification (the system
// CAs plus an optional extra CA file); plain http only to a loopback
// address. A bound on the body, and one deadline (HttpCall::timeout) on the
// whole exchange (resolve, connect, handshake, write, read): a provider that
// accepts and then stalls costs the caller that long, never more.
//
// Not for URLs an untrusted party chose: those go through auth::safe_fetch.
//
// Thread-safety: reentrant (a private io_context per call).
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "auth/redirect_uri.hpp"
#include "auth/result.hpp"
#include "auth/token_client.hpp"

namespace bastion::login {

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

struct HttpCall {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string ca_file;
  std::chrono::milliseconds timeout{10000};
  std::size_t max_body = 1024 * 1024;
};

auth::Result<HttpReply> http_call(const HttpCall& call);

// Whether `url` is http to a loopback address (127.0.0.0/8, ::1, localhost).
using auth::loopback_http_url;

}  // namespace bastion::login
