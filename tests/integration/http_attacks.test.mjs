// Attacks on the HTTP endpoint and the JSON-RPC framing (issue 11, "HTTP"):
// request smuggling shapes sent over raw sockets (fetch would normalize
// them), duplicate JSON keys over HTTP and stdio, and CORS grants on
// refusals. Every case here got through before the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { BIN, initialize, post, startServe, tempDir } from './lib/bastion.mjs';

const PING = { jsonrpc: '2.0', id: 99, method: 'ping' };

// Sends `bytes` on a fresh connection and collects everything the server
// writes until it closes the connection or `idleMs` pass without data.
function raw(port, bytes, { idleMs = 1500 } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    let closed = false;
    let timer;
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve({ text: out, closed });
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(done, idleMs);
    };
    s.on('connect', () => {
      s.write(bytes);
      arm();
    });
    s.on('data', (d) => {
      out += d;
      arm();
    });
    s.on('end', () => {
      closed = true;
      done();
    });
    s.on('error', (e) => (e.code === 'ECONNRESET' ? ((closed = true), done()) : reject(e)));
  });
}

// Status lines of every HTTP response in `text`, in order.
const statuses = (text) => [...text.matchAll(/^HTTP\/1\.[01] (\d{3})/gm)].map((m) => Number(m[1]));

test('duplicate JSON keys are a parse error on every entry point', async (t) => {
  const srv = await startServe(['--testkit']);
  const { sid, version } = await initialize(srv.url);
  const h = { 'mcp-session-id': sid, 'mcp-protocol-version': version };

  await t.test('HTTP: a repeated key at the top level', async () => {
    // Last-one-wins would run tools/call here; first-one-wins would ping.
    const r = await post(srv.url, '{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}', h);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32700);
    assert.match(r.json.error.message, /duplicate key "method"/);
  });
  await t.test('HTTP: a repeated key deep inside the arguments', async () => {
    const r = await post(srv.url, '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"safe","text":"evil"}}}', h);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32700);
  });
  await t.test('HTTP: the same key spelled with an escape', async () => {
    const r = await post(srv.url, '{"jsonrpc":"2.0","id":3,"method":"ping","\\u006dethod":"tools/list"}', h);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32700);
  });
  await t.test('HTTP: the endpoint keeps serving', async () => {
    const r = await post(srv.url, PING, h);
    assert.deepEqual(r.json, { jsonrpc: '2.0', id: 99, result: {} });
  });
  assert.equal(await srv.stop(), 0, srv.stderr);

  await t.test('stdio: a repeated key is a parse error and the session goes on', async () => {
    const child = spawn(BIN, ['stdio', '--testkit', '--data-dir', tempDir()], { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines = [];
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
    });
    child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }) + '\n');
    child.stdin.write('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a","text":"b"}}}\n');
    child.stdin.write('{"jsonrpc":"2.0","id":3,"method":"ping"}\n');
    child.stdin.end();
    const code = await new Promise((res) => child.on('exit', res));
    assert.equal(code, 0);
    assert.equal(lines.length, 3, JSON.stringify(lines));
    assert.equal(lines[1].error.code, -32700);
    assert.equal(lines[1].id, null);
    assert.deepEqual(lines[2], { jsonrpc: '2.0', id: 3, result: {} });
  });
});
