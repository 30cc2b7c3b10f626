// A stdio MCP server that floods (notification_flood.test.mjs), written
// without the SDK so it can write as fast as the pipe takes it:
// `flood {n, size}` writes n notifications/message lines during the call and
// then answers; `flood_later {n, size}` answers first and writes them 300 ms
// later, when the gateway has closed the call, so they are tied to no call
// and go to every session allowed to use this server.
import readline from 'node:readline';

const out = (m) => process.stdout.write(`${JSON.stringify(m)}\n`);
const lines = (n, size) => {
  for (let i = 0; i < n; i++)
    out({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: `flood ${i} ${'x'.repeat(size)}` } });
};
const tools = ['flood', 'flood_later'].map((name) => ({
  name,
  description: 'Writes n log lines of size bytes',
  inputSchema: { type: 'object', properties: { n: { type: 'integer' }, size: { type: 'integer' } } },
}));

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  let m;
  try { m = JSON.parse(line); } catch { return; }
  if (m.id === undefined || !m.method) return;
  const ok = (result) => out({ jsonrpc: '2.0', id: m.id, result });
  switch (m.method) {
    case 'initialize':
      return ok({ protocolVersion: m.params?.protocolVersion ?? '2025-11-25',
        capabilities: { tools: {}, logging: {} }, serverInfo: { name: 'flood', version: '1' } });
    case 'ping': return ok({});
    case 'tools/list': return ok({ tools });
    case 'tools/call': {
      const n = Math.min(Number(m.params?.arguments?.n) || 1000, 200000);
      const size = Math.min(Number(m.params?.arguments?.size) || 100, 100000);
      if (m.params?.name === 'flood') {
        lines(n, size);
        return ok({ content: [{ type: 'text', text: `flooded ${n}` }] });
      }
      ok({ content: [{ type: 'text', text: `flooding ${n}` }] });
      return setTimeout(() => lines(n, size), 300);
    }
    default:
      return out({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'Method not found' } });
  }
});
