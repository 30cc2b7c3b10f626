// Speaking MCP 2026-07-28 ("Modern") to Bastion over Streamable HTTP, for the
// suites that test it (modern, replicas, era_bridge, tasks, gateway_listen):
// a conformant POST whose headers are derived from its body as the spec says,
// and a subscriptions/listen that collects its SSE events. Each suite binds
// its own client name and capabilities with modernClient(); a test that
// checks the header rules overrides or removes headers per call.
import { post } from './bastion.mjs';

export const V = '2026-07-28';
export const SUB = 'io.modelcontextprotocol/subscriptionId';

let nextId = 1;
export const newId = () => nextId++;

// The _meta every Modern request carries.
export function modernMeta(client, caps) {
  return {
    'io.modelcontextprotocol/protocolVersion': V,
    'io.modelcontextprotocol/clientInfo': { name: client, version: '1' },
    'io.modelcontextprotocol/clientCapabilities': caps,
  };
}

// The body field the Mcp-Name header mirrors (protocol/era.cpp's mcp_name_field).
export function nameOf(method, params) {
  if (method === 'tools/call' || method === 'prompts/get') return params?.name;
  if (method === 'resources/read') return params?.uri;
  if (method === 'tasks/get' || method === 'tasks/update' || method === 'tasks/cancel') return params?.taskId;
  return undefined;
}

// The JSON-RPC messages of an SSE body, in order.
export function sseMessages(text) {
  return text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
}

// `client` names the suite in clientInfo; `caps` are its default client
// capabilities (a call may pass its own).
export function modernClient({ client, caps = {} }) {
  const META = modernMeta(client, caps);

  // A conformant Modern POST: the answer's JSON-RPC message in r.json (an SSE
  // answer's events in r.events, the response among them). `headers`
  // override the derived ones (null removes one); `meta` is merged over _meta.
  async function modern(url, method, params = {},
    { caps: c, meta = {}, headers = {}, token, id = newId() } = {}) {
    const h = { 'mcp-protocol-version': V, 'mcp-method': method };
    const n = nameOf(method, params);
    if (n !== undefined) h['mcp-name'] = n;
    if (token) h.authorization = `Bearer ${token}`;
    for (const [k, v] of Object.entries(headers)) {
      if (v === null) delete h[k.toLowerCase()];
      else h[k.toLowerCase()] = v;
    }
    const _meta = { ...(c ? modernMeta(client, c) : META), ...meta };
    const r = await post(url, { jsonrpc: '2.0', id, method, params: { ...params, _meta } }, h);
    if (r.json === undefined && /^(event|data):/m.test(r.text)) {
      r.events = sseMessages(r.text);
      r.json = r.events.find((e) => e.id === id);
    }
    return r;
  }

  // Opens subscriptions/listen and collects what it hears in `events` (a
  // refusal answered as plain JSON is its one event; `events.status` is the
  // HTTP status). until(pred) waits for pred(events); close() aborts it.
  function listen(url, notifications, { token, id = newId() } = {}) {
    const controller = new AbortController();
    const events = [];
    const waiters = [];
    const wake = () => waiters.splice(0).forEach((w) => w());
    const done = (async () => {
      const res = await fetch(url, {
        method: 'POST',
        signal: controller.signal,
        headers: {
          'content-type': 'application/json', accept: 'application/json, text/event-stream',
          'mcp-protocol-version': V, 'mcp-method': 'subscriptions/listen',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ jsonrpc: '2.0', id, method: 'subscriptions/listen', params: { _meta: META, notifications } }),
      });
      events.status = res.status;
      if (!res.headers.get('content-type')?.includes('text/event-stream')) {
        events.push(await res.json());
        wake();
        return;
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) break;
        buf += decoder.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const data = buf.slice(0, i).split('\n').find((l) => l.startsWith('data: '));
          buf = buf.slice(i + 2);
          if (data) events.push(JSON.parse(data.slice(6)));
          wake();
        }
      }
    })().catch(() => {});
    const until = async (pred, ms = 10000) => {
      const deadline = Date.now() + ms;
      while (!pred(events)) {
        if (Date.now() > deadline) throw new Error(`timed out; events: ${JSON.stringify(events)}`);
        await new Promise((r) => { waiters.push(r); setTimeout(r, 100); });
      }
    };
    return { id, events, until, close: () => controller.abort(), done };
  }

  return { META, modern, listen };
}
