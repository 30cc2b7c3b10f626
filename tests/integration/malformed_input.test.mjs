// Malformed and hostile input gets the spec's error and the process keeps
// serving: HTTP status codes of the Streamable HTTP transport, JSON-RPC error
// codes, size limits, and garbage on stdin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { BIN, MCP_HEADERS, initialize, post, startServe, tempDir } from './lib/bastion.mjs';

const PING = { jsonrpc: '2.0', id: 99, method: 'ping' };

test('Streamable HTTP rejects malformed requests and keeps serving', async (t) => {
  const srv = await startServe(['--testkit']);
  const url = srv.url;
  const { sid, version } = await initialize(url);
  assert.match(sid, /^[0-9a-f]{32}$/);
  const h = { 'mcp-session-id': sid, 'mcp-protocol-version': version };
  const alive = async () => {
    const r = await post(url, PING, h);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { jsonrpc: '2.0', id: 99, result: {} });
  };

  await t.test('truncated JSON is a parse error (400, -32700)', async () => {
    const r = await post(url, '{"jsonrpc":"2.0","id":1,"method":"pi', h);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32700);
    assert.equal(r.json.id, null);
    await alive();
  });
  await t.test('invalid UTF-8 and binary garbage are parse errors', async () => {
    const r = await post(url, new Uint8Array([0xff, 0xfe, 0x00, 0x7b, 0x80]), h);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32700);
    await alive();
  });
  await t.test('wrong types are invalid requests or invalid params', async () => {
    let r = await post(url, { jsonrpc: '2.0', id: 1, method: 42 }, h);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32600);
    r = await post(url, { jsonrpc: '1.0', id: 2, method: 'ping' }, h);
    assert.equal(r.json.error.code, -32600);
    r = await post(url, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: [1, 2] }, h);
    assert.equal(r.json.error.code, -32602);
    r = await post(url, { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 7 } }, h);
    assert.equal(r.status, 200);
    assert.equal(r.json.error.code, -32602);
    r = await post(url, { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'echo', arguments: 'x' } }, h);
    assert.equal(r.json.error.code, -32602);
    r = await post(url, { jsonrpc: '2.0', id: 6, method: 'no/such/method' }, h);
    assert.equal(r.json.error.code, -32601);
    r = await post(url, { jsonrpc: '2.0', id: 7, method: 'logging/setLevel', params: { level: 'loud' } }, h);
    assert.equal(r.json.error.code, -32602);
    r = await post(url, { jsonrpc: '2.0', id: 8, method: 'tools/list', params: { cursor: 'bogus' } }, h);
    assert.equal(r.json.error.code, -32602);
    r = await post(url, [PING], h);  // batches were removed after 2025-03-26
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32600);
    r = await post(url, 'null', h);
    assert.equal(r.status, 400);
    await alive();
  });
  await t.test('a 10 MB body is refused with 413', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x'.repeat(10 * 1024 * 1024) } } });
    let status;
    try {
      status = (await post(url, big, h)).status;
    } catch (e) {
      // The server may close the connection while the client still sends.
      status = 'reset';
    }
    assert.ok(status === 413 || status === 'reset', `status ${status}`);
    await alive();
  });
  await t.test('unknown or missing session', async () => {
    let r = await post(url, PING, { 'mcp-session-id': 'deadbeef' });
    assert.equal(r.status, 404);
    r = await post(url, PING, {});
    assert.equal(r.status, 400);
    const g = await fetch(url, { headers: { accept: 'text/event-stream', 'mcp-session-id': 'nope' } });
    assert.equal(g.status, 404);
    const d = await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': 'nope' } });
    assert.equal(d.status, 404);
  });
  await t.test('missing or wrong headers', async () => {
    let r = await post(url, PING, { ...h, accept: 'application/json' });
    assert.equal(r.status, 406);
    r = await post(url, PING, { ...h, 'content-type': 'text/plain' });
    assert.equal(r.status, 415);
    r = await post(url, PING, { ...h, 'mcp-protocol-version': '1999-01-01' });
    assert.equal(r.status, 400);
    const put = await fetch(url, { method: 'PUT', headers: MCP_HEADERS, body: '{}' });
    assert.equal(put.status, 405);
    assert.match(put.headers.get('allow'), /POST/);
    const g = await fetch(url, { headers: { accept: 'application/json', 'mcp-session-id': sid } });
    assert.equal(g.status, 406);
    r = await post(url, PING, { ...h, origin: 'http://evil.example' });
    assert.equal(r.status, 403);
    await alive();
  });
  await t.test('notifications and responses get 202', async () => {
    const r = await post(url, { jsonrpc: '2.0', method: 'notifications/roots/list_changed' }, h);
    assert.equal(r.status, 202);
    const r2 = await post(url, { jsonrpc: '2.0', id: 12345, result: {} }, h);
    assert.equal(r2.status, 202);
  });
  await t.test('garbage that is not HTTP closes only that connection', async () => {
    await new Promise((resolve) => {
      const s = net.connect(new URL(url).port, '127.0.0.1', () => s.end('\x16\x03\x01 not http at all\r\n\r\n'));
      s.on('data', () => {});
      s.on('close', resolve);
      s.on('error', resolve);
    });
    await alive();
  });
  await t.test('DELETE ends the session', async () => {
    const d = await fetch(url, { method: 'DELETE', headers: h });
    assert.equal(d.status, 200);
    const r = await post(url, PING, h);
    assert.equal(r.status, 404);
  });
  assert.equal(await srv.stop(), 0, srv.stderr);
});

function stdioSession() {
  const child = spawn(BIN, ['stdio', '--testkit', '--data-dir', tempDir()], { stdio: ['pipe', 'pipe', 'pipe'] });
  let buf = '';
  const waiters = [];
  const lines = [];
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
      while (waiters.length && lines.length) waiters.shift()(lines.shift());
    }
  });
  const next = () =>
    new Promise((resolve, reject) => {
      if (lines.length) return resolve(lines.shift());
      const t = setTimeout(() => reject(new Error('no reply from bastion stdio')), 5000);
      waiters.push((l) => {
        clearTimeout(t);
        resolve(l);
      });
    });
  return { child, next, send: (s) => child.stdin.write(s) };
}

test('stdio answers garbage with parse errors and keeps serving', async () => {
  const s = stdioSession();
  s.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }) + '\n');
  assert.equal((await s.next()).result.protocolVersion, '2025-06-18');
  s.send(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xff, 0x0a]));
  let r = await s.next();
  assert.equal(r.error.code, -32700);
  assert.equal(r.id, null);
  s.send('{"jsonrpc":"2.0","id":2,"method":"ping"\n');
  assert.equal((await s.next()).error.code, -32700);
  s.send('[]\n');
  assert.equal((await s.next()).error.code, -32600);
  s.send('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"ok"}}}\n');
  r = await s.next();
  assert.equal(r.id, 3);
  assert.equal(r.result.content[0].text, 'ok');
  // Nothing but JSON-RPC ever reaches stdout: every line parsed above.
  s.child.stdin.end();
  const code = await new Promise((res) => s.child.on('exit', res));
  assert.equal(code, 0);
});

test('stdio: a request followed by EOF still gets its answer', async () => {
  const s = stdioSession();
  s.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }) + '\n');
  s.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'sleep', arguments: { ms: 200 } } }) + '\n');
  s.child.stdin.end();
  assert.equal((await s.next()).id, 1);
  const r = await s.next();
  assert.equal(r.id, 2);
  assert.equal(r.result.content[0].text, 'slept 200 ms');
});
