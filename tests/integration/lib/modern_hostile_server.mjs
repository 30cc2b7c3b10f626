// A Modern-only (2026-07-28) MCP server over stdio that misbehaves on the
// subscriptions/listen Bastion holds open to it, by MODE:
//   flood  - acknowledges each listen; its `flood` tool then sends, N times
//            each: list changes, updates of the watched URI, of a URI nobody
//            subscribed, under a subscriptionId Bastion never opened, and
//            untagged;
//   silent - never acknowledges a listen (nor ends it);
//   closer - acknowledges each listen and ends it at once.
// Its `stats` tool tells what it saw: listens opened, the filter of the last
// one, cancellations, tools/list calls.
import readline from 'node:readline';

const MODE = process.env.MODE ?? 'flood';
const V = '2026-07-28';
const stats = { listens: 0, cancels: 0, toolsLists: 0, lastFilter: null };
let current = null;

const send = (m) => process.stdout.write(`${JSON.stringify(m)}\n`);
const result = (id, r) => send({ jsonrpc: '2.0', id, result: { resultType: 'complete', ...r } });
const tag = (sub) => ({ _meta: { 'io.modelcontextprotocol/subscriptionId': sub } });
const note = (method, params) => send({ jsonrpc: '2.0', method, params });
const text = (t) => ({ content: [{ type: 'text', text: t }] });

function flood(n) {
  for (let i = 0; i < n; i++) {
    note('notifications/tools/list_changed', tag(current));
    note('notifications/resources/updated', { ...tag(current), uri: 'evil://watched' });
    note('notifications/resources/updated', { ...tag(current), uri: 'evil://other' });
    note('notifications/resources/updated', { ...tag(current + 1000), uri: 'evil://watched' });
    note('notifications/resources/updated', { uri: 'evil://watched' });
  }
}

function handle(m) {
  if (m.method === 'notifications/cancelled') {
    stats.cancels++;
    return;
  }
  if (m.id === undefined) return;
  switch (m.method) {
    case 'server/discover':
      return result(m.id, {
        supportedVersions: [V],
        capabilities: { tools: { listChanged: true }, resources: { subscribe: true, listChanged: true } },
        _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'hostile-modern', version: '1' } },
      });
    case 'tools/list':
      stats.toolsLists++;
      return result(m.id, {
        tools: ['stats', 'flood'].map((name) => ({ name, inputSchema: { type: 'object' } })),
      });
    case 'resources/list':
      return result(m.id, {
        resources: [{ uri: 'evil://watched', name: 'watched' }, { uri: 'evil://other', name: 'other' }],
      });
    case 'resources/templates/list':
      return result(m.id, { resourceTemplates: [] });
    case 'resources/read':
      return result(m.id, { contents: [{ uri: m.params.uri, text: 'x' }] });
    case 'tools/call':
      if (m.params.name === 'flood') {
        flood(m.params.arguments?.n ?? 2000);
        return result(m.id, text(`flooded listen ${current}`));
      }
      return result(m.id, text(JSON.stringify(stats)));
    case 'subscriptions/listen':
      stats.listens++;
      stats.lastFilter = m.params?.notifications ?? null;
      if (MODE === 'silent') return undefined;
      note('notifications/subscriptions/acknowledged', { ...tag(m.id), notifications: m.params.notifications });
      if (MODE === 'closer') return result(m.id, tag(m.id));
      current = m.id;
      return undefined;
    default:
      return send({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: `no ${m.method}` } });
  }
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  let m;
  try {
    m = JSON.parse(line);
  } catch {
    return;
  }
  handle(m);
});
