// A real MCP server over Streamable HTTP for `url:` servers: the SDK's
// server transport, one per session, on 127.0.0.1 and a free port.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

// `serverFor(req, msg)` makes the McpServer of a new session (`msg`: the
// parsed request body). `onRequest(req, res, msg)` sees every request first
// and may answer it itself by returning true.
export async function startHttpUpstream(serverFor, { onRequest } = {}) {
  const sessions = new Map();
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const msg = body ? JSON.parse(body) : undefined;
    if (onRequest?.(req, res, msg)) return;
    const sid = req.headers['mcp-session-id'];
    let transport = sid && sessions.get(sid);
    if (!transport) {
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => sessions.set(id, transport),
      });
      await serverFor(req, msg).connect(transport);
    }
    await transport.handleRequest(req, res, msg);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    port: server.address().port,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
