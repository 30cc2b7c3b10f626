// `bastion client-config`: the JSON that Cursor, Claude Desktop and VS Code
// expect in their MCP configuration files, pointing at a Bastion endpoint
// (over HTTP, or through the `bastion connect` stdio bridge).
#pragma once

#include <boost/json.hpp>
#include <string>

namespace bastion::app {

struct ClientConfigOptions {
  std::string client;  // cursor | claude | vscode
  std::string url = "http://127.0.0.1:8080/mcp";
  std::string name = "bastion";  // the server's key in the client's config
  bool stdio = false;            // spawn `bastion connect` instead of speaking HTTP
  std::string bastion_path = "bastion";
  std::string token_env;  // env var holding a bearer token ("" = no auth header)
  // Client credentials for the bridge (implies stdio): it fetches and renews
  // the token itself. The secret comes from secret_file, or else from
  // $BASTION_CLIENT_SECRET in the client's environment; never in the JSON.
  std::string client_id, secret_file;
};

// Throws std::invalid_argument for an unknown client.
boost::json::object client_config(const ClientConfigOptions& o);

}  // namespace bastion::app
