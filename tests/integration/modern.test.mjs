// MCP 2026-07-28 ("Modern") next to Legacy on one endpoint and over stdio,
// against the real binary: stateless requests, server/discover, the
// Streamable HTTP header rules, subscriptions/listen, multi round-trip
// requests with a sealed requestState. Each feature has its abuse beside it:
// headers that disagree with the body, a Modern request naming a session,
// forged / tampered / replayed / foreign / expired requestState, a flood of
// listens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { BIN, eventually, initialize, post, startServe, startWithConfig, tempDir } from './lib/bastion.mjs';
import { V, modernClient } from './lib/modern.mjs';

const { META, modern, listen } = modernClient({
  client: 'it-modern', caps: { elicitation: {}, sampling: {}, roots: {} },
});

test('Modern requests are stateless: discover, calls, lists, no session', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const d = await modern(srv.url, 'server/discover');
    assert.equal(d.status, 200, d.text);
    assert.equal(d.json.result.resultType, 'complete');
    assert.ok(d.json.result.supportedVersions.includes(V));
    assert.ok(d.json.result.supportedVersions.includes('2025-11-25'));
    assert.ok(d.json.result.capabilities.tools);
    assert.equal(d.json.result._meta['io.modelcontextprotocol/serverInfo'].name, 'bastion');
    assert.equal(d.headers.get('mcp-session-id'), null);

    const c = await modern(srv.url, 'tools/call', { name: 'echo', arguments: { text: 'hi' } });
    assert.equal(c.status, 200, c.text);
    assert.equal(c.headers.get('mcp-session-id'), null, 'a Modern answer never mints a session');
    assert.equal(c.json.result.resultType, 'complete');
    assert.equal(c.json.result.content[0].text, 'hi');

    const l = await modern(srv.url, 'tools/list');
    const names = l.json.result.tools.map((t) => t.name);
    assert.deepEqual(names, [...names].sort(), 'tools/list is sorted by name');
    assert.equal(l.json.result.ttlMs, 0);
    assert.equal(l.json.result.cacheScope, 'public');

    // Per-request log level: none asked, no notifications/message.
    const quiet = await modern(srv.url, 'tools/call', { name: 'test_tool_with_logging', arguments: {} });
    assert.ok(!(quiet.events ?? []).some((e) => e.method === 'notifications/message'), quiet.text);
    const loud = await modern(srv.url, 'tools/call', { name: 'test_tool_with_logging', arguments: {} },
      { meta: { 'io.modelcontextprotocol/logLevel': 'info' } });
    assert.equal(loud.events.filter((e) => e.method === 'notifications/message').length, 3, loud.text);
    assert.ok(!/^id:/m.test(loud.text), 'Modern SSE streams carry no event ids');

    // Legacy is untouched on the same endpoint.
    const legacy = await initialize(srv.url);
    assert.match(legacy.sid, /^[0-9a-f]{32}$/);
    assert.equal(legacy.result.protocolVersion, '2025-11-25');
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('Modern errors: unsupported version, malformed _meta, removed methods, capabilities', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const u = await modern(srv.url, 'server/discover', {}, {
      headers: { 'mcp-protocol-version': '1999-01-01' },
      meta: { 'io.modelcontextprotocol/protocolVersion': '1999-01-01' },
      id: 'u1',
    });
    assert.equal(u.status, 400);
    assert.equal(u.json.id, 'u1');
    assert.equal(u.json.error.code, -32022);
    assert.equal(u.json.error.data.requested, '1999-01-01');
    assert.ok(u.json.error.data.supported.includes(V));

    const noCaps = await post(srv.url, {
      jsonrpc: '2.0', id: 5, method: 'tools/list',
      params: { _meta: { 'io.modelcontextprotocol/protocolVersion': V } },
    }, { 'mcp-protocol-version': V, 'mcp-method': 'tools/list' });
    assert.equal(noCaps.status, 400);
    assert.equal(noCaps.json.error.code, -32602);
    assert.equal(noCaps.json.id, 5);

    for (const m of ['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'no/such']) {
      const r = await modern(srv.url, m, { uri: 'test://static-text' });
      assert.equal(r.status, 404, `${m}: ${r.text}`);
      assert.equal(r.json.error.code, -32601);
    }

    const miss = await modern(srv.url, 'tools/call', { name: 'test_missing_capability', arguments: {} },
      { meta: { 'io.modelcontextprotocol/clientCapabilities': {} } });
    assert.equal(miss.status, 400);
    assert.equal(miss.json.error.code, -32021);
    assert.deepEqual(miss.json.error.data.requiredCapabilities, { sampling: {} });

    // Batches do not exist in 2026-07-28.
    const batch = await post(srv.url, [{ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: META } }],
      { 'mcp-protocol-version': V, 'mcp-method': 'tools/list' });
    assert.equal(batch.status, 400);
    // Nor does the GET stream.
    const get = await fetch(srv.url, { headers: { accept: 'text/event-stream', 'mcp-protocol-version': V } });
    assert.equal(get.status, 405);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('attack: headers that disagree with the body are refused with HeaderMismatch', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const cases = [
      ['method', 'tools/list', {}, { 'mcp-method': 'prompts/list' }],
      ['missing method', 'tools/list', {}, { 'mcp-method': null }],
      ['method case', 'tools/list', {}, { 'mcp-method': 'TOOLS/LIST' }],
      ['name', 'tools/call', { name: 'echo', arguments: {} }, { 'mcp-name': 'sleep' }],
      ['missing name', 'tools/call', { name: 'echo', arguments: {} }, { 'mcp-name': null }],
      ['uri', 'resources/read', { uri: 'test://static-text' }, { 'mcp-name': 'test://static-binary' }],
      ['bad base64 name', 'tools/call', { name: 'echo', arguments: {} }, { 'mcp-name': '=?base64?ZWNo!!!?=' }],
      ['version', 'tools/list', {}, { 'mcp-protocol-version': '2025-11-25' }],
      ['missing version', 'tools/list', {}, { 'mcp-protocol-version': null }],
    ];
    for (const [what, method, params, headers] of cases) {
      const r = await modern(srv.url, method, params, { headers, id: `hm-${what}` });
      assert.equal(r.status, 400, `${what}: ${r.text}`);
      assert.equal(r.json.error.code, -32020, `${what}: ${r.text}`);
      assert.equal(r.json.id, `hm-${what}`, `${what}: the error carries the request id`);
    }
    // What the spec allows: OWS around the value, Base64-encoded names.
    const ows = await modern(srv.url, 'tools/call', { name: 'echo', arguments: { text: 'x' } }, { headers: { 'mcp-name': '  echo  ' } });
    assert.equal(ows.status, 200, ows.text);
    const b64 = await modern(srv.url, 'tools/call', { name: 'echo', arguments: { text: 'x' } },
      { headers: { 'mcp-name': `=?base64?${Buffer.from('echo').toString('base64')}?=` } });
    assert.equal(b64.status, 200, b64.text);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('attack: a Modern request naming a session gets no session (ignored, never echoed)', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const { sid } = await initialize(srv.url);
    // A Modern request carrying a live session id runs statelessly: the id is
    // not echoed and the session's removed methods stay removed.
    const r = await modern(srv.url, 'resources/subscribe', { uri: 'test://watched-resource' }, { headers: { 'mcp-session-id': sid } });
    assert.equal(r.status, 404, r.text);
    assert.equal(r.headers.get('mcp-session-id'), null);
    // A made-up id is ignored too, not answered with "Session not found".
    const bogus = await modern(srv.url, 'tools/list', {}, { headers: { 'mcp-session-id': 'f'.repeat(32) } });
    assert.equal(bogus.status, 200, bogus.text);
    assert.equal(bogus.headers.get('mcp-session-id'), null);
    // The Legacy session still works as before.
    const l = await post(srv.url, { jsonrpc: '2.0', id: 9, method: 'tools/list' },
      { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' });
    assert.equal(l.status, 200);
    assert.ok(Array.isArray(l.json.result.tools));
    assert.equal(l.json.result.resultType, undefined, 'Legacy results are as before');
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

const MULTI = 'test_input_required_result_multi_round';

test('multi round-trip: input_required, retry with inputResponses and the sealed requestState', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const r1 = await modern(srv.url, 'tools/call', { name: MULTI, arguments: {} });
    assert.equal(r1.json.result.resultType, 'input_required');
    assert.equal(r1.json.result.inputRequests.step1.method, 'elicitation/create');
    const s1 = r1.json.result.requestState;
    assert.match(s1, /^bs1\.[A-Za-z0-9_-]+$/);
    assert.ok(!s1.includes('round') && !Buffer.from(s1.slice(4), 'base64url').toString().includes('round'),
      'the state is confidential');
    assert.equal(r1.json.result.ttlMs, undefined, 'interim results carry no caching hints');
    const r2 = await modern(srv.url, 'tools/call', {
      name: MULTI, arguments: {}, requestState: s1,
      inputResponses: { step1: { action: 'accept', content: { name: 'Alice' } } },
    });
    assert.equal(r2.json.result.resultType, 'input_required', r2.text);
    const r3 = await modern(srv.url, 'tools/call', {
      name: MULTI, arguments: {}, requestState: r2.json.result.requestState,
      inputResponses: { step2: { action: 'accept', content: { color: 'blue' } } },
    });
    assert.equal(r3.json.result.resultType, 'complete', r3.text);
    assert.equal(r3.json.result.content[0].text, 'Alice likes blue');

    // A Legacy client calling the same tool: Bastion asks it by elicitation
    // itself (server-to-client request) and answers complete.
    const client = new Client({ name: 'legacy', version: '1' }, { capabilities: { elicitation: {} } });
    let asked = 0;
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked += 1;
      return { action: 'accept', content: req.params.message.includes('color') ? { color: 'red' } : { name: 'Bob' } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(srv.url)));
    const res = await client.callTool({ name: MULTI, arguments: {} });
    assert.equal(res.content[0].text, 'Bob likes red');
    assert.equal(asked, 2);
    await client.close();
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('attack: forged, tampered, replayed, foreign and expired requestState are refused', async () => {
  const dir = tempDir();
  const srv = await startWithConfig('mcp:\n  request_state_ttl: 2s\n', ['--testkit'], { dataDir: dir });
  const other = await startServe(['--testkit']);  // another data directory, another key
  try {
    const first = async (url, name, args = {}) =>
      (await modern(url, 'tools/call', { name, arguments: args })).json.result.requestState;
    const retry = (url, name, state, args = {}) => modern(url, 'tools/call', {
      name, arguments: args, requestState: state,
      inputResponses: { confirm: { action: 'accept', content: { ok: true } } },
    });
    const TOOL = 'test_input_required_result_request_state';
    const good = await first(srv.url, TOOL);
    const ok = await retry(srv.url, TOOL, good);
    assert.equal(ok.json.result?.content?.[0]?.text, 'state-ok: requestState validated', ok.text);

    const refused = async (what, r) => {
      assert.equal(r.status, 200, `${what}: ${r.text}`);
      assert.equal(r.json.error?.code, -32602, `${what} must be refused: ${r.text}`);
      assert.match(r.json.error.message, /requestState/);
    };
    // Tampered: one character changed, or something appended.
    const flip = good.slice(0, 20) + (good[20] === 'A' ? 'B' : 'A') + good.slice(21);
    await refused('tampered', await retry(srv.url, TOOL, flip));
    await refused('appended', await retry(srv.url, TOOL, good + '-TAMPERED'));
    // Forged from scratch.
    await refused('forged', await retry(srv.url, TOOL, 'bs1.' + Buffer.from('{"p":{"kind":"confirm"}}').toString('base64url')));
    await refused('plain json', await retry(srv.url, TOOL, '{"kind":"confirm"}'));
    // Replayed on another tool, or with other arguments.
    await refused('other tool', await retry(srv.url, 'test_input_required_result_tampered_state', good));
    await refused('other arguments', await retry(srv.url, TOOL, good, { extra: 1 }));
    // Sealed by another deployment's key.
    await refused('foreign key', await retry(srv.url, TOOL, await first(other.url, TOOL)));
    // Not a string at all.
    const typed = await modern(srv.url, 'tools/call', { name: TOOL, arguments: {}, requestState: { kind: 'confirm' } });
    assert.equal(typed.json.error.code, -32602);
    // Expired (request_state_ttl: 2s).
    const old = await first(srv.url, TOOL);
    await new Promise((r) => setTimeout(r, 2500));
    await refused('expired', await retry(srv.url, TOOL, old));
  } finally {
    assert.equal(await other.stop(), 0, other.stderr);
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('the requestState key lives in the data directory: a restart resumes a round trip', async () => {
  const dir = tempDir();
  let srv = await startServe(['--testkit'], { dataDir: dir });
  const TOOL = 'test_input_required_result_request_state';
  let state;
  try {
    state = (await modern(srv.url, 'tools/call', { name: TOOL, arguments: {} })).json.result.requestState;
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
  srv = await startServe(['--testkit'], { dataDir: dir });
  try {
    const r = await modern(srv.url, 'tools/call', {
      name: TOOL, arguments: {}, requestState: state,
      inputResponses: { confirm: { action: 'accept', content: { ok: true } } },
    });
    assert.equal(r.json.result?.resultType, 'complete', r.text);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('subscriptions/listen: acknowledged first, tagged, filtered', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const tools = listen(srv.url, { toolsListChanged: true, resourceSubscriptions: ['test://watched-resource', 'test://nope'] });
    const prompts = listen(srv.url, { promptsListChanged: true });
    await tools.until((e) => e.length >= 1);
    await prompts.until((e) => e.length >= 1);
    const ack = tools.events[0];
    assert.equal(ack.method, 'notifications/subscriptions/acknowledged');
    assert.equal(ack.params._meta['io.modelcontextprotocol/subscriptionId'], tools.id);
    assert.equal(ack.params.notifications.toolsListChanged, true);
    assert.deepEqual(ack.params.notifications.resourceSubscriptions, ['test://watched-resource'],
      'an unknown URI is not acknowledged');
    const t = await modern(srv.url, 'tools/call', { name: 'test_trigger_tool_change', arguments: {} });
    assert.equal(t.status, 200);
    await tools.until((e) => e.some((m) => m.method === 'notifications/tools/list_changed'));
    const n = tools.events.find((m) => m.method === 'notifications/tools/list_changed');
    assert.equal(n.params._meta['io.modelcontextprotocol/subscriptionId'], tools.id);
    // The prompts-only listen hears nothing of tools.
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!prompts.events.some((m) => m.method === 'notifications/tools/list_changed'), JSON.stringify(prompts.events));
    tools.close();
    prompts.close();
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('attack: a flood of subscriptions/listen hits the per-client bound, and closed ones free it', async () => {
  const srv = await startWithConfig('mcp:\n  max_subscriptions_per_client: 3\n', ['--testkit']);
  try {
    const open = [];
    for (let i = 0; i < 3; ++i) {
      const l = listen(srv.url, { toolsListChanged: true });
      await l.until((e) => e.length >= 1);
      assert.equal(l.events[0].method, 'notifications/subscriptions/acknowledged');
      open.push(l);
    }
    const extra = listen(srv.url, { toolsListChanged: true });
    await extra.until((e) => e.length >= 1);
    assert.equal(extra.events.status, 429);
    assert.equal(extra.events[0].error.code, -31000);
    assert.equal(extra.events[0].id, extra.id);
    // A client that goes away frees its place (the server notices the close).
    open.shift().close();
    const again = await eventually(async () => {
      const l = listen(srv.url, { toolsListChanged: true });
      await l.until((e) => e.length >= 1);
      if (l.events[0].method === 'notifications/subscriptions/acknowledged') return l;
      return null;
    });
    assert.ok(again, 'a place freed by a closed listen is reusable');
    again.close();
    open.forEach((l) => l.close());
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

// Closing the connection cancels a Modern request (spec streamable-http):
// the server watches the connection once per request, whether the answer
// would have been JSON or an SSE stream. Bytes instead of a close (a
// pipelined request) must not read as the client going away.
test('a Modern client that goes away cancels its call; a pipelined one does not', async () => {
  const srv = await startServe(['--testkit']);
  const cancelled = async () => (await modern(srv.url, 'tools/call', { name: 'cancelled_count', arguments: {} }))
    .json.result.structuredContent.cancelled;
  const call = (params, meta) => {
    const controller = new AbortController();
    const id = Date.now();
    const res = fetch(srv.url, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        'content-type': 'application/json', accept: 'application/json, text/event-stream',
        'mcp-protocol-version': V, 'mcp-method': 'tools/call', 'mcp-name': params.name,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { ...params, _meta: { ...META, ...meta } } }),
    });
    return { res, abort: () => controller.abort() };
  };
  try {
    const before = await cancelled();
    // A JSON answer under way (no progress asked): the client hangs up.
    const a = call({ name: 'sleep', arguments: { ms: 30000 } });
    await new Promise((r) => setTimeout(r, 300));
    a.abort();
    await a.res.catch(() => {});
    assert.ok(await eventually(async () => (await cancelled()) === before + 1),
      'the server did not cancel the call of a client that went away (JSON)');

    // An SSE answer under way (progress asked): the client reads the first
    // event, then hangs up.
    const b = call({ name: 'sleep', arguments: { ms: 30000 } }, { progressToken: 'p1' });
    const res = await b.res;
    assert.match(res.headers.get('content-type'), /text\/event-stream/);
    const reader = res.body.getReader();
    await reader.read();
    b.abort();
    assert.ok(await eventually(async () => (await cancelled()) === before + 2),
      'the server did not cancel the call of a client that went away (SSE)');

    // Two requests in one write: the second's bytes are not a hang-up, the
    // first sleeps to its end and both are answered, in order.
    const { port } = new URL(srv.url);
    const body = (id, ms) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call',
      params: { name: 'sleep', arguments: { ms }, _meta: META } });
    const request = (id, ms) => {
      const b = body(id, ms);
      return `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
        'Accept: application/json, text/event-stream\r\n' +
        `MCP-Protocol-Version: ${V}\r\nMcp-Method: tools/call\r\nMcp-Name: sleep\r\n` +
        `Content-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
    };
    const sock = net.connect(Number(port), '127.0.0.1');
    let got = '';
    sock.on('data', (d) => { got += d; });
    await new Promise((r) => sock.once('connect', r));
    sock.write(request(101, 400) + request(102, 10));
    await eventually(async () => (got.match(/slept \d+ ms/g) ?? []).length === 2);
    sock.destroy();
    assert.deepEqual(got.match(/slept \d+ ms/g), ['slept 400 ms', 'slept 10 ms'], got);
    assert.equal(await cancelled(), before + 2, 'a pipelined request cancelled the one before it');
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('Modern over stdio: per-request _meta next to a Legacy session, listen tagged, cancelled', async () => {
  const child = spawn(BIN, ['stdio', '--testkit', '--data-dir', tempDir()], { stdio: ['pipe', 'pipe', 'pipe'] });
  let buf = '';
  let stderr = '';
  const lines = [];
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  const send = (m) => child.stdin.write(JSON.stringify(m) + '\n');
  const wait = async (pred) => {
    const found = await eventually(() => lines.find(pred), { timeoutMs: 10000 });
    assert.ok(found, `not seen; got ${JSON.stringify(lines)}\n${stderr}`);
    return found;
  };
  try {
    send({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: META } });
    const d = await wait((m) => m.id === 1);
    assert.equal(d.result.resultType, 'complete');
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' }, _meta: META } });
    assert.equal((await wait((m) => m.id === 2)).result.content[0].text, 'x');
    send({ jsonrpc: '2.0', id: 3, method: 'initialize', params: { _meta: META } });
    assert.equal((await wait((m) => m.id === 3)).error.code, -32601);
    send({ jsonrpc: '2.0', id: 4, method: 'tools/list', params: { _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': '1999-01-01' } } });
    assert.equal((await wait((m) => m.id === 4)).error.code, -32022);
    // A listen on stdio: acknowledged, tagged, ended by notifications/cancelled.
    send({ jsonrpc: '2.0', id: 'L', method: 'subscriptions/listen', params: { _meta: META, notifications: { toolsListChanged: true } } });
    await wait((m) => m.method === 'notifications/subscriptions/acknowledged');
    send({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'test_trigger_tool_change', arguments: {}, _meta: META } });
    // (The process also announces the change untagged, as it always did for
    // a Legacy stdio session; the listen's copy carries its id.)
    const n = await wait((m) => m.method === 'notifications/tools/list_changed' &&
      m.params?._meta?.['io.modelcontextprotocol/subscriptionId'] !== undefined);
    assert.equal(n.params._meta['io.modelcontextprotocol/subscriptionId'], 'L');
    send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'L' } });
    // And Legacy in the same process, as before.
    send({ jsonrpc: '2.0', id: 6, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'l', version: '1' } } });
    assert.equal((await wait((m) => m.id === 6)).result.protocolVersion, '2025-11-25');
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(!lines.some((m) => m.id === 'L'), 'a cancelled listen gets no response');
  } finally {
    child.stdin.end();
    if (child.exitCode === null) await new Promise((r) => child.on('exit', r));
  }
  assert.equal(child.exitCode, 0, stderr);
});
