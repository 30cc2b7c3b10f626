// A stdio MCP server for bench/soak, written without the SDK so it can
// misbehave on request: `echo` answers, `flood` first writes `n`
// notifications/message lines (a log flood) and then answers, `hang` never
// answers. Newline-delimited JSON-RPC on stdin/stdout (MCP stdio transport).
import readline from 'node:readline';

const out = (m) => process.stdout.write(`${JSON.stringify(m)}\n`);
const tools = [
  { name: 'echo', description: 'Returns its text', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } },
  { name: 'flood', description: 'Logs n lines, then answers', inputSchema: { type: 'object', properties: { n: { type: 'integer' } } } },
  { name: 'hang', description: 'Never answers', inputSchema: { type: 'object' } },
];

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  let m;
  try { m = JSON.parse(line); } catch { return; }
  if (m.id === undefined || !m.method) return;
  const ok = (result) => out({ jsonrpc: '2.0', id: m.id, result });
  switch (m.method) {
    case 'initialize':
      return ok({ protocolVersion: m.params?.protocolVersion ?? '2025-11-25',
        capabilities: { tools: {}, logging: {} }, serverInfo: { name: 'soak-upstream', version: '1' } });
    case 'ping': return ok({});
    case 'tools/list': return ok({ tools });
    case 'tools/call': {
      const a = m.params?.arguments ?? {};
      if (m.params?.name === 'hang') return undefined;
      if (m.params?.name === 'flood') {
        const n = Math.min(Number(a.n) || 1000, 100000);
        for (let i = 0; i < n; i++)
          out({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: `flood ${i} ${'x'.repeat(200)}` } });
        return ok({ content: [{ type: 'text', text: `flooded ${n}` }] });
      }
      return ok({ content: [{ type: 'text', text: String(a.text ?? '') }] });
    }
    default:
      return out({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'Method not found' } });
  }
});
