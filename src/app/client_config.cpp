#include "app/client_config.hpp"

#include <stdexcept>

namespace bastion::app {

namespace json = boost::json;

namespace {

json::object stdio_entry(const ClientConfigOptions& o) {
  json::array args{"connect", "--url", o.url};
  if (!o.token_env.empty()) {
    args.emplace_back("--header");
    // `bastion connect` expands ${NAME} from its own environment.
    args.emplace_back("Authorization: Bearer ${" + o.token_env + "}");
  }
  if (!o.client_id.empty()) {
    args.emplace_back("--client-id");
    args.emplace_back(o.client_id);
    if (!o.secret_file.empty()) {
      args.emplace_back("--client-secret-file");
      args.emplace_back(o.secret_file);
    }
  }
  return {{"command", o.bastion_path}, {"args", std::move(args)}};
}

}  // namespace

json::object client_config(const ClientConfigOptions& opts) {
  ClientConfigOptions o = opts;
  if (!o.client_id.empty()) o.stdio = true;
  if (o.client == "cursor") {
    // ~/.cursor/mcp.json: remote servers by url (+ headers), or a command.
    json::object entry;
    if (o.stdio) {
      entry = stdio_entry(o);
    } else {
      entry["url"] = o.url;
      if (!o.token_env.empty())
        entry["headers"] = json::object{{"Authorization", "Bearer ${env:" + o.token_env + "}"}};
    }
    return {{"mcpServers", json::object{{o.name, std::move(entry)}}}};
  }
  if (o.client == "claude") {
    // claude_desktop_config.json: its config file only starts local commands,
    // so Claude Desktop reaches Bastion through the stdio bridge.
    return {{"mcpServers", json::object{{o.name, stdio_entry(o)}}}};
  }
  if (o.client == "vscode") {
    // .vscode/mcp.json
    json::object entry;
    if (o.stdio) {
      entry = stdio_entry(o);
      entry["type"] = "stdio";
    } else {
      entry = {{"type", "http"}, {"url", o.url}};
      if (!o.token_env.empty())
        entry["headers"] = json::object{{"Authorization", "Bearer ${env:" + o.token_env + "}"}};
    }
    return {{"servers", json::object{{o.name, std::move(entry)}}}};
  }
  throw std::invalid_argument("unknown client '" + o.client + "' (cursor, claude or vscode)");
}

}  // namespace bastion::app
