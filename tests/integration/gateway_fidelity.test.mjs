// Fidelity of the gateway's relay to a Streamable HTTP upstream (issue 13's
// "fidelity defects"), against a hand-made Legacy (2025-11-25) upstream that
// does what the specification allows and the SDK server rarely does:
//   - it writes numbers as it likes (7.4, 0.1, 1.0): they reach the client
//     as written, and the client's numbers reach it as written;
//   - it closes a call's SSE response stream before the result, with an
//     event id and a `retry:` delay, and expects a GET with Last-Event-ID to
//     resume it;
//   - it restarts (its sessions vanish: 404 for the old session id);
//   - it sends list changes on its standalone (GET) stream, a flood of them;
//   - it answers with results a hostile or sloppy server may write (an
//     escaped "result" key, a duplicate one, members after it, a pretty-
//     printed result, strings that look like JSON-RPC members).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { eventually, initialize, post, startServe, startWithConfig } from './lib/bastion.mjs';
import { modernClient } from './lib/modern.mjs';

const VERSION = '2025-11-25';
const NUMBERS_RESULT = '{"content":[{"type":"text","text":"n"}],' +
  '"structuredContent":{"v":7.4,"tenth":0.1,"one":1.0,"price":1.50,"hundred":1E2,"big":12345678901234567890,"neg":-2.5e-3}}';

// A minimal Streamable HTTP MCP server, written out by hand so every byte on
// the wire is the test's choice. `seen` records what reached it.
function legacyUpstream({ forgetful = false, standalone = false } = {}) {
  // forgetful: forgets every session at once (answers 404 to each call).
  // standalone: answers a GET without Last-Event-ID with an SSE stream that
  // stays open (push() writes to every such stream); else 405.
  const seen = { bodies: [], gets: [], callsStarted: 0, initializes: 0, standaloneOpen: 0, standaloneClosed: 0 };
  const streams = new Set();
  let sessions = new Set();
  const pendingResume = new Map(); // Last-Event-ID -> SSE text that follows it
  let resumeRefusals = 0; // GETs with Last-Event-ID that answer an SSE stream and close again
  const tools = [
    { name: 'numbers', inputSchema: { type: 'object' } },
    { name: 'email', inputSchema: { type: 'object' } },
    { name: 'escaped_key', inputSchema: { type: 'object' } },
    { name: 'duplicate_key', inputSchema: { type: 'object' } },
    { name: 'trailing_member', inputSchema: { type: 'object' } },
    { name: 'pretty', inputSchema: { type: 'object' } },
    { name: 'lookalike', inputSchema: { type: 'object' } },
    { name: 'dropped', inputSchema: { type: 'object' } },
    { name: 'dropped_forever', inputSchema: { type: 'object' } },
    { name: 'dropped_no_id', inputSchema: { type: 'object' } },
    // x-mcp-header (2026-07-28): a valid annotation, and invalid ones.
    { name: 'header_ok', inputSchema: { type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Region' } } } },
    { name: 'header_number', inputSchema: { type: 'object', properties: { n: { type: 'number', 'x-mcp-header': 'N' } } } },
    { name: 'header_in_items', inputSchema: { type: 'object', properties: { a: { type: 'array', items: { type: 'string', 'x-mcp-header': 'A' } } } } },
    { name: 'header_injection', inputSchema: { type: 'object', properties: { a: { type: 'string', 'x-mcp-header': 'A\r\nX-Injected: 1' } } } },
  ];
  const json = (res, status, text, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(text);
  };
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const sid = req.headers['mcp-session-id'];
    if (req.method === 'GET') {
      const last = req.headers['last-event-id'];
      seen.gets.push({ sid, last });
      if (!last && standalone && sessions.has(sid)) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(': open\n\n');
        seen.standaloneOpen++;
        streams.add(res);
        res.on('close', () => {
          streams.delete(res);
          seen.standaloneClosed++;
        });
        return;
      }
      if (!last) return json(res, 405, '');
      if (!sessions.has(sid)) return json(res, 404, '{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}');
      if (last.startsWith('forever-')) {
        // Resumes, sends nothing useful, closes again.
        resumeRefusals++;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`id: forever-${resumeRefusals}\nretry: 50\n\n`);
        return;
      }
      const rest = pendingResume.get(last);
      if (!rest) return json(res, 404, '');
      pendingResume.delete(last);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(rest);
      return;
    }
    if (req.method !== 'POST') return json(res, 405, '');
    seen.bodies.push(body);
    const msg = JSON.parse(body);
    if (msg.method === 'initialize') {
      const id = randomUUID();
      seen.initializes++;
      if (!forgetful) sessions.add(id);
      return json(res, 200, JSON.stringify({
        jsonrpc: '2.0', id: msg.id,
        result: { protocolVersion: VERSION, capabilities: { tools: {} }, serverInfo: { name: 'legacy', version: '1' } },
      }), { 'mcp-session-id': id });
    }
    if (!sessions.has(sid) && !(forgetful && msg.method !== 'tools/call')) return json(res, 404, `{"jsonrpc":"2.0","id":${JSON.stringify(msg.id ?? null)},"error":{"code":-32001,"message":"Session not found"}}`);
    if (msg.id === undefined) return json(res, 202, '');
    if (msg.method === 'tools/list') return json(res, 200, JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { tools } }));
    if (msg.method === 'ping') return json(res, 200, `{"jsonrpc":"2.0","id":${msg.id},"result":{}}`);
    if (msg.method !== 'tools/call') return json(res, 200, `{"jsonrpc":"2.0","id":${msg.id},"error":{"code":-32601,"message":"no"}}`);
    seen.callsStarted++;
    const id = JSON.stringify(msg.id);
    const name = msg.params.name;
    if (name === 'numbers') {
      // Written by hand: Boost.JSON 1.81 would print 7.4 as 7.4E0.
      return json(res, 200, `{"jsonrpc":"2.0","id":${id},"result":${NUMBERS_RESULT}}`);
    }
    if (name === 'email') {
      return json(res, 200, `{"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":"write to alice@example.com"}],` +
        `"structuredContent":{"price":1.50}}}`);
    }
    if (name === 'escaped_key') {
      // One key, which decodes to "result": rebuilt, never relayed as text.
      return json(res, 200, `{"jsonrpc":"2.0","id":${id},"res\\u0075lt":{"structuredContent":{"price":1.50}}}`);
    }
    if (name === 'trailing_member') {
      return json(res, 200, `{"jsonrpc":"2.0","id":${id},"result":{"structuredContent":{"price":1.50}},` +
        `"smuggled":{"id":666,"result":{"x":1}}}`);
    }
    if (name === 'pretty') {
      return json(res, 200, `{"jsonrpc":"2.0","id":${id},"result":{\n  "structuredContent": {"price": 1.50}\n}}`);
    }
    if (name === 'lookalike') {
      // Strings that read like the end of the result and more members.
      return json(res, 200, `{"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text",` +
        `"text":"\\"}},\\"id\\":666,\\"result\\":{\\"x\\":\\"\\u007d"}],"structuredContent":{"price":1.50}}}`);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (name === 'duplicate_key') {
      // Two results: which one counts would be the reader's guess. Refused
      // (the message is dropped), and the stream ends without an answer.
      res.end(`data: {"jsonrpc":"2.0","id":${id},"result":{"structuredContent":{"price":1.50}},` +
        `"result":{"content":[{"type":"text","text":"SMUGGLED"}]}}\n\n`);
      return;
    }
    if (name === 'dropped') {
      // Progress first, then the server closes the stream: the result comes
      // only on the resumed stream.
      const evt = `dropped-${randomUUID()}`;
      pendingResume.set(evt, `id: ${evt}-2\ndata: {"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":"RESUMED"}]}}\n\n`);
      res.end(`id: ${evt}\nretry: 100\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"working"}}\n\n`);
    } else if (name === 'dropped_forever') {
      res.end('id: forever-0\nretry: 50\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"working"}}\n\n');
    } else {
      res.end(': no event id here\n\n');
    }
  });
  return {
    server,
    seen,
    push(text) {
      for (const res of streams) res.write(text);
    },
    async listen(port = 0) {
      await new Promise((r) => server.listen(port, '127.0.0.1', r));
      return `http://127.0.0.1:${server.address().port}/mcp`;
    },
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

async function gatewayTo(upstreamUrl) {
  return startWithConfig(`
servers:
  legacy:
    url: ${upstreamUrl}
    timeouts:
      call: 60s
      ping: 0s
`);
}

async function session(srv) {
  const s = await initialize(srv.url, VERSION);
  const headers = { 'mcp-session-id': s.sid, 'mcp-protocol-version': VERSION };
  let next = 10;
  return {
    // `args`: an object, or the arguments' JSON text as the client writes it.
    call: (name, args = {}) => post(srv.url,
      `{"jsonrpc":"2.0","id":${next++},"method":"tools/call","params":{"name":${JSON.stringify(name)},` +
      `"arguments":${typeof args === 'string' ? args : JSON.stringify(args)}}}`, headers),
    // `params`: the params' JSON text.
    callRaw: (params) => post(srv.url, `{"jsonrpc":"2.0","id":${next++},"method":"tools/call","params":${params}}`, headers),
  };
}

// The JSON-RPC message in a response that is either JSON or one SSE stream.
function responseOf(r) {
  if (r.json) return { text: r.text, json: r.json };
  for (const block of r.text.split('\n\n')) {
    const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
    if (!data) continue;
    const m = JSON.parse(data);
    if (m.result || m.error) return { text: data, json: m };
  }
  throw new Error(`no response in ${r.text}`);
}

test('numbers reach the client as the upstream wrote them, and the upstream as the client wrote them', async () => {
  const up = legacyUpstream();
  const srv = await gatewayTo(await up.listen());
  try {
    const c = await session(srv);
    const r = responseOf(await c.call('legacy__numbers', '{"x":7.4,"y":0.1,"z":1.0}'));
    assert.equal(r.json.result.structuredContent.v, 7.4, r.text);
    // No filter changed the result: relayed byte for byte (the zero-copy
    // relay), 1.50, 1E2 and the 20-digit integer included, under the
    // client's id.
    assert.equal(r.text, `{"jsonrpc":"2.0","id":10,"result":${NUMBERS_RESULT}}`);
    const sent = up.seen.bodies.find((b) => b.includes('"numbers"'));
    assert.match(sent, /"x":7\.4,"y":0\.1,"z":1\.0/, sent);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
    up.close();
  }
});

test('a result the PII filter masks is rebuilt; one it scanned and left alone is relayed as written', async () => {
  const up = legacyUpstream();
  const srv = await startWithConfig(`
servers:
  legacy:
    url: ${await up.listen()}
    timeouts:
      call: 60s
      ping: 0s
security:
  pii:
    default: mask
`);
  try {
    const c = await session(srv);
    const masked = responseOf(await c.call('legacy__email'));
    assert.doesNotMatch(masked.text, /alice@example\.com/, masked.text);
    assert.equal(masked.json.result.structuredContent.price, 1.5);
    assert.match(masked.text, /"price":1\.5\}/, 'rebuilt: the number in its shortest form');
    const clean = responseOf(await c.call('legacy__numbers'));
    assert.equal(clean.text, `{"jsonrpc":"2.0","id":11,"result":${NUMBERS_RESULT}}`);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
    up.close();
  }
});

test('a hostile upstream cannot smuggle anything through the relay of its raw result', async () => {
  const up = legacyUpstream();
  const srv = await gatewayTo(await up.listen());
  try {
    const c = await session(srv);
    const only = (r, id) => {
      assert.deepEqual(Object.keys(r.json), ['jsonrpc', 'id', 'result'], r.text);
      assert.equal(r.json.id, id, r.text);
    };
    // An escaped "result" key: rebuilt from the parsed value.
    const esc = responseOf(await c.call('legacy__escaped_key'));
    only(esc, 10);
    assert.equal(esc.text, '{"jsonrpc":"2.0","id":10,"result":{"structuredContent":{"price":1.5}}}');
    // Members after the result stay behind; the result alone is relayed.
    const trailing = responseOf(await c.call('legacy__trailing_member'));
    only(trailing, 11);
    assert.equal(trailing.text, '{"jsonrpc":"2.0","id":11,"result":{"structuredContent":{"price":1.50}}}');
    // A result across lines would break line and SSE framing: rebuilt.
    const pretty = responseOf(await c.call('legacy__pretty'));
    only(pretty, 12);
    assert.equal(pretty.text, '{"jsonrpc":"2.0","id":12,"result":{"structuredContent":{"price":1.5}}}');
    // Strings that look like more members are only strings.
    const look = responseOf(await c.call('legacy__lookalike'));
    only(look, 13);
    assert.equal(look.json.result.structuredContent.price, 1.5);
    assert.match(look.json.result.content[0].text, /^"\}\},"id":666,"result":\{"x":"\}$/);
    assert.match(look.text, /"price":1\.50\}\}\}$/, look.text);
    // Duplicate results: the message is refused, never relayed.
    const dup = responseOf(await c.call('legacy__duplicate_key'));
    assert.equal(dup.json.id, 14, dup.text);
    assert.ok(dup.json.error, dup.text);
    assert.doesNotMatch(dup.text, /SMUGGLED|1\.50/, dup.text);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
    up.close();
  }
});

test('a response stream the upstream closes before the result is resumed with Last-Event-ID', async () => {
  const up = legacyUpstream();
  const srv = await gatewayTo(await up.listen());
  try {
    const c = await session(srv);
    const t0 = Date.now();
    const r = responseOf(await c.call('legacy__dropped'));
    assert.equal(r.json.result?.content?.[0]?.text, 'RESUMED', r.text);
    assert.ok(Date.now() - t0 < 10000, 'the call waited for a timeout');
    const resumed = up.seen.gets.filter((g) => g.last?.startsWith('dropped-'));
    assert.equal(resumed.length, 1, JSON.stringify(up.seen.gets));
    assert.ok(resumed[0].sid, 'the resumption carries the session id');
    // The call ran once: resuming is not sending again.
    assert.equal(up.seen.callsStarted, 1);

    // An upstream that keeps closing: a bounded number of resumptions, then
    // a clear error, long before the call timeout.
    const t1 = Date.now();
    const f = responseOf(await c.call('legacy__dropped_forever'));
    assert.match(f.json.error?.message ?? '', /closed the response stream before answering/, f.text);
    assert.ok(Date.now() - t1 < 10000, 'the call waited for a timeout');
    const forever = up.seen.gets.filter((g) => g.last?.startsWith('forever-'));
    assert.ok(forever.length >= 1 && forever.length <= 5, `${forever.length} resumptions`);

    // Nothing to resume from: an error at once, no hang.
    const t2 = Date.now();
    const n = responseOf(await c.call('legacy__dropped_no_id'));
    assert.match(n.json.error?.message ?? '', /without an event id/, n.text);
    assert.ok(Date.now() - t2 < 10000, 'the call waited for a timeout');
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
    up.close();
  }
});

test('after the upstream restarts, a call refused for its old session is sent once more on a new one', async () => {
  const first = legacyUpstream();
  const url = await first.listen();
  const port = Number(new URL(url).port);
  const srv = await gatewayTo(url);
  let second;
  let third;
  try {
    const c = await session(srv);
    assert.equal(responseOf(await c.call('legacy__numbers')).json.result?.structuredContent?.v, 7.4);
    // A real restart: the process's server goes away, a new one (no
    // sessions) listens on the same port.
    first.close();
    second = legacyUpstream();
    await second.listen(port);
    const r = responseOf(await c.call('legacy__numbers'));
    assert.equal(r.json.result?.structuredContent?.v, 7.4, r.text);
    assert.equal(second.seen.initializes, 1);
    assert.equal(second.seen.callsStarted, 1, 'the call ran once on the new instance');
    assert.match(srv.stderr, /sending it again on a new session/);
    // And keeps working on the new session.
    assert.equal(responseOf(await c.call('legacy__numbers')).json.result?.structuredContent?.v, 7.4);
    assert.equal(second.seen.initializes, 1);

    // An upstream that refuses every session: one more attempt, then the
    // error (no loop, and the gateway's marker never reaches the client).
    second.close();
    third = legacyUpstream({ forgetful: true });
    await third.listen(port);
    const posts = () => third.seen.bodies.filter((b) => b.includes('"tools/call"')).length;
    const f = responseOf(await c.call('legacy__numbers'));
    assert.match(f.json.error?.message ?? '', /session expired/, f.text);
    assert.doesNotMatch(f.text, /notDelivered/, f.text);
    assert.equal(posts(), 2, 'sent more than twice');
    assert.ok(third.seen.initializes <= 2, `${third.seen.initializes} initializes`);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
    first.close();
    second?.close();
    third?.close();
  }
});

// A Legacy client's standalone (GET) stream to Bastion: the JSON-RPC
// messages it has carried so far.
function standaloneStream(url, headers) {
  const controller = new AbortController();
  const messages = [];
  let primed = false;
  (async () => {
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const data = buf.slice(0, i).split('\n').find((l) => l.startsWith('data: '));
        buf = buf.slice(i + 2);
        primed = true;  // the priming event (id and retry, empty data) comes first
        if (data && data.length > 6) messages.push(JSON.parse(data.slice(6)));
      }
    }
  })().catch(() => {});
  return { messages, primed: () => primed, close: () => controller.abort() };
}

const TOOLS_CHANGED = (m) => m.method === 'notifications/tools/list_changed';

test('list changes a Legacy Streamable HTTP server announces outside any call reach the clients, every time', async () => {
  // Bastion used to open its standalone stream to such a server only after a
  // non-202 answer to notifications/initialized, which never comes: nothing
  // the server sent outside a call (list changes, resource updates, log
  // lines) reached anyone.
  const up = await startServe(['--testkit']);
  const srv = await startWithConfig(`servers:\n  up:\n    prefix: ""\n    url: ${up.url}\n    era: legacy\n    timeouts:\n      ping: 0s\n`);
  const { listen } = modernClient({ client: 'it-fidelity' });
  let legacy;
  let modern;
  try {
    const s = await initialize(srv.url, VERSION);
    const h = { 'mcp-session-id': s.sid, 'mcp-protocol-version': VERSION };
    const call = (id, name, args = {}) =>
      post(srv.url, { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }, h);
    // The server starts; the announcement of its first catalogue passes.
    assert.equal((await call(2, 'echo', { text: 'x' })).json?.result?.content?.[0]?.text, 'x');
    legacy = standaloneStream(srv.url, h);
    modern = listen(srv.url, { toolsListChanged: true });
    await modern.until((e) => e.length >= 1);  // the acknowledgment
    assert.ok(await eventually(() => legacy.primed()), 'the Legacy client\'s stream did not open');
    await new Promise((r) => setTimeout(r, 300));
    for (let k = 1; k <= 3; k++) {
      const before = [legacy.messages.filter(TOOLS_CHANGED).length, modern.events.filter(TOOLS_CHANGED).length];
      const t = await call(10 + k, 'test_trigger_tool_change');
      assert.equal(t.json?.result?.content?.[0]?.text, 'Mutation triggered', t.text);
      const heard = await eventually(() =>
        legacy.messages.filter(TOOLS_CHANGED).length > before[0] &&
        modern.events.filter(TOOLS_CHANGED).length > before[1], { timeoutMs: 5000 });
      assert.ok(heard, `change ${k} did not reach both clients: ${JSON.stringify({ legacy: legacy.messages, modern: modern.events })}`);
    }
  } finally {
    legacy?.close();
    modern?.close();
    assert.equal(await srv.stop(), 0, srv.stderr);
    await up.stop();
  }
});

test('attack: a flood of list changes on the standalone stream costs a bounded number of refreshes; the stream closes with the server', async () => {
  const up = legacyUpstream({ standalone: true });
  const srv = await startWithConfig(`
servers:
  legacy:
    url: ${await up.listen()}
    timeouts:
      ping: 0s
      idle: 2s
`);
  try {
    const c = await session(srv);
    assert.equal(responseOf(await c.call('legacy__numbers')).json.result?.structuredContent?.v, 7.4);
    assert.ok(await eventually(() => up.seen.standaloneOpen === 1), 'no standalone stream was opened');
    const lists = () => up.seen.bodies.filter((b) => b.includes('"tools/list"')).length;
    const before = lists();
    up.push('data: {"jsonrpc":"2.0","method":"notifications/tools/list_changed"}\n\n'.repeat(2000));
    assert.ok(await eventually(() => lists() > before), 'the list change was not heard');
    await new Promise((r) => setTimeout(r, 1000));
    // One refresh runs at a time and at most one more waits: 2,000 changes
    // are a few tools/list, not 2,000.
    assert.ok(lists() - before <= 20, `${lists() - before} refreshes for one flood`);
    assert.equal(responseOf(await c.call('legacy__numbers')).json.result?.structuredContent?.v, 7.4);
    // Stopped when idle: its standalone stream is closed with it, not left
    // open until the server ends it.
    assert.ok(await eventually(() => /idle, stopping/.test(srv.stderr), { timeoutMs: 15000 }), srv.stderr);
    assert.ok(await eventually(() => up.seen.standaloneClosed === 1, { timeoutMs: 5000 }),
      'the standalone stream outlived the server\'s instance');
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
    up.close();
  }
});

test('trace context in _meta reaches the upstream when well-formed, and never when not', async () => {
  const up = legacyUpstream();
  const srv = await gatewayTo(await up.listen());
  try {
    const c = await session(srv);
    const good = '00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01';
    const call = (meta) => c.callRaw(`{"name":"legacy__numbers","arguments":{},"_meta":${JSON.stringify(meta)}}`);
    const sentWith = (marker) => up.seen.bodies.filter((b) => b.includes(marker)).map((b) => JSON.parse(b).params._meta);
    await call({ traceparent: good, tracestate: 'rojo=00f067aa0ba902b7', mark: 'm1' });
    assert.deepEqual(sentWith('"m1"'), [{ traceparent: good, tracestate: 'rojo=00f067aa0ba902b7', mark: 'm1' }]);
    // Header injection in either field, uppercase hex, a state without a parent.
    await call({ traceparent: 'garbage\r\nX-Injected: 1', tracestate: 'a=1', mark: 'm2' });
    await call({ traceparent: good, tracestate: 'a=1\r\nX-Injected: 1', mark: 'm3' });
    await call({ traceparent: good.toUpperCase(), mark: 'm4' });
    await call({ tracestate: 'a=1', mark: 'm5' });
    assert.deepEqual(sentWith('"m2"'), [{ mark: 'm2' }]);
    assert.deepEqual(sentWith('"m3"'), [{ traceparent: good, mark: 'm3' }]);
    assert.deepEqual(sentWith('"m4"'), [{ mark: 'm4' }]);
    assert.deepEqual(sentWith('"m5"'), [{ mark: 'm5' }]);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
    up.close();
  }
});

test('tools with invalid x-mcp-header annotations are not listed, valid ones are', async () => {
  const up = legacyUpstream();
  const srv = await gatewayTo(await up.listen());
  try {
    const s = await initialize(srv.url, VERSION);
    const r = await post(srv.url, { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      { 'mcp-session-id': s.sid, 'mcp-protocol-version': VERSION });
    const names = responseOf(r).json.result.tools.map((t) => t.name);
    assert.ok(names.includes('legacy__header_ok'), names.join());
    for (const bad of ['header_number', 'header_in_items', 'header_injection'])
      assert.ok(!names.includes(`legacy__${bad}`), `${bad} listed: ${names.join()}`);
    assert.match(srv.stderr, /invalid x-mcp-header/);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
    up.close();
  }
});

// A server that sends ping after ping and never takes Bastion's answers
// (each answer is a POST the server leaves without a response). Bastion
// used to open a connection per answer and keep it for 24 hours: a few
// thousand pings took every descriptor it had. Now at most 64 answers wait
// at once, for 30 seconds each; past that the channel fails and closes them.
test('attack: a server that floods pings and never takes the answers holds a bounded number of connections', async () => {
  const PINGS = 200;
  const seen = { open: 0, most: 0, answers: 0 };
  const perSession = new Map();
  const reply = (res, obj) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(obj));
  };
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    if (req.method !== 'POST') {
      res.writeHead(405);
      return res.end();
    }
    const m = JSON.parse(body);
    if (m.method === 'initialize') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'mcp-session-id': randomUUID() });
      for (let i = 0; i < PINGS; i++) res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', id: `p${i}`, method: 'ping' })}\n\n`);
      const result = { protocolVersion: VERSION, capabilities: { tools: {} }, serverInfo: { name: 'pinger', version: '1' } };
      return res.end(`data: ${JSON.stringify({ jsonrpc: '2.0', id: m.id, result })}\n\n`);
    }
    if (!('method' in m)) { // an answer of Bastion's: never taken
      // Counted per session: the channel's bound is its own.
      const sid = req.headers['mcp-session-id'];
      seen.answers++;
      seen.open++;
      perSession.set(sid, (perSession.get(sid) ?? 0) + 1);
      seen.most = Math.max(seen.most, perSession.get(sid));
      res.on('close', () => {
        seen.open--;
        perSession.set(sid, perSession.get(sid) - 1);
      });
      return undefined;
    }
    if (m.id === undefined) {
      res.writeHead(202);
      return res.end();
    }
    if (m.method === 'tools/list') return reply(res, { jsonrpc: '2.0', id: m.id, result: { tools: [{ name: 'noop', inputSchema: { type: 'object' } }] } });
    return reply(res, { jsonrpc: '2.0', id: m.id, result: {} });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const pinger = `http://127.0.0.1:${server.address().port}/mcp`;
  const up = await startServe(['--testkit']);
  const srv = await startWithConfig(`servers:
  up:
    url: ${up.url}
    era: legacy
    timeouts: {ping: 0s}
  pinger:
    url: ${pinger}
    era: legacy
    start: eager
    timeouts: {ping: 0s}
`);
  try {
    // The channel fails at the bound (before the fix: never, every answer
    // waited 24 hours)...
    const failed = /left 64 of Bastion's answers and notifications unaccepted/;
    assert.ok(await eventually(() => failed.test(srv.stderr), { timeoutMs: 30000 }), JSON.stringify(seen));
    // ... and closes what it held; the server is tried again later (its
    // backoff), never holding more than the bound.
    assert.ok(await eventually(() => seen.open === 0, { timeoutMs: 30000 }), JSON.stringify(seen));
    assert.ok(seen.most <= 64, `Bastion held ${seen.most} answers open at once`);
    // Everyone else is still served.
    const s = await initialize(srv.url, VERSION);
    const r = await post(srv.url, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'up__echo', arguments: { text: 'still here' } } },
      { 'mcp-session-id': s.sid, 'mcp-protocol-version': VERSION });
    assert.equal(r.json?.result?.content?.[0]?.text, 'still here', r.text);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
    await up.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
