// Attacks on the HTTP endpoint and the JSON-RPC framing (issue 11, "HTTP"):
// request smuggling shapes sent over raw sockets (fetch would normalize
// them), duplicate JSON keys over HTTP and stdio, CORS grants on refusals,
// and DNS rebinding on every route. Every case here got through before the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { authYaml, BIN, initialize, newClient, post, startServe, startWithConfig, tempDir } from './lib/bastion.mjs';

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

// Status lines of every HTTP response in `text`, in order (a response may
// follow the previous body on the same line).
const statuses = (text) => [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));

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

const INIT = (id = 1, version = '2025-11-25') =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'attack', version: '1' } } });

// A complete POST /mcp with `body`, Content-Length set, and extra raw header lines.
function rawPost(port, body, extra = [], { host = `127.0.0.1:${port}` } = {}) {
  return [
    'POST /mcp HTTP/1.1',
    `Host: ${host}`,
    'Content-Type: application/json',
    'Accept: application/json, text/event-stream',
    ...extra,
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

test('request smuggling shapes are refused and close the connection', async (t) => {
  const srv = await startServe(['--testkit']);
  const port = Number(new URL(srv.url).port);
  const healthz = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;

  await t.test('a control: one well-formed request, then a pipelined one', async () => {
    const r = await raw(port, rawPost(port, INIT()) + healthz);
    assert.deepEqual(statuses(r.text), [200, 200]);
  });
  await t.test('two Host headers: 400', async () => {
    const r = await raw(port, rawPost(port, INIT(), ['Host: evil.example']));
    assert.deepEqual(statuses(r.text), [400]);
    assert.match(r.text, /more than one Host header/);
    assert.ok(r.closed);
    // On every route, not only /mcp.
    const h = await raw(port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: other\r\n\r\n`);
    assert.deepEqual(statuses(h.text), [400]);
  });
  await t.test('no Host header in HTTP/1.1: 400', async () => {
    const r = await raw(port, 'GET /healthz HTTP/1.1\r\n\r\n');
    assert.deepEqual(statuses(r.text), [400]);
  });
  await t.test('Transfer-Encoding: xchunked with Content-Length is not read by the length', async () => {
    const body = INIT();
    const r = await raw(port, [
      'POST /mcp HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Content-Type: application/json',
      'Accept: application/json, text/event-stream', 'Transfer-Encoding: xchunked',
      `Content-Length: ${body.length}`, '', body].join('\r\n'));
    assert.deepEqual(statuses(r.text), [400]);
    assert.match(r.text, /both Content-Length and Transfer-Encoding/);
    assert.ok(r.closed);
  });
  for (const te of ['xchunked', 'chunked, identity', 'identity', 'identity, chunked']) {
    await t.test(`Transfer-Encoding: ${te}: 501, and the bytes after the header are never a request`, async () => {
      const r = await raw(port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nTransfer-Encoding: ${te}\r\n\r\n${healthz}`);
      assert.deepEqual(statuses(r.text), [501]);
      assert.ok(r.closed);
    });
  }
  await t.test('Content-Length and Transfer-Encoding: chunked: 400', async () => {
    const r = await raw(port, `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${healthz}`);
    assert.deepEqual(statuses(r.text), [400]);
    assert.ok(r.closed);
  });
  await t.test('obsolete line folding: 400', async () => {
    const r = await raw(port, rawPost(port, INIT(), ['X-Folded: first', ' second']));
    assert.deepEqual(statuses(r.text), [400]);
    assert.match(r.text, /line folding/);
    assert.ok(r.closed);
    const host = await raw(port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\tevil.example\r\n\r\n`);
    assert.deepEqual(statuses(host.text), [400]);
  });
  await t.test('a chunked body is still read (the one encoding that is accepted)', async () => {
    const body = INIT();
    const r = await raw(port, [
      'POST /mcp HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Content-Type: application/json',
      'Accept: application/json, text/event-stream', 'Transfer-Encoding: chunked', '',
      `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`].join('\r\n') + healthz);
    assert.deepEqual(statuses(r.text), [200, 200]);
  });
  assert.equal(await srv.stop(), 0, srv.stderr);
});

// Like raw(), with `pieces` written one at a time, `gapMs` apart: a request
// the server receives in parts (its header, its body, a pipelined one).
function rawPieces(port, pieces, { gapMs = 30, idleMs = 1500 } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    let timer;
    const done = (closed) => {
      clearTimeout(timer);
      s.destroy();
      resolve({ text: out, closed });
    };
    s.on('connect', async () => {
      for (const p of pieces) {
        s.write(p);
        await new Promise((r) => setTimeout(r, gapMs));
      }
      timer = setTimeout(() => done(false), idleMs);
    });
    s.on('data', (d) => (out += d));
    s.on('end', () => done(true));
    s.on('error', reject);
  });
}

test('a request that arrives in parts is read whole, and what follows it is the next request', async (t) => {
  const srv = await startServe(['--testkit']);
  const port = Number(new URL(srv.url).port);
  const healthz = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
  const whole = rawPost(port, INIT());
  const cut = whole.indexOf('\r\n\r\n') + 4;
  const chunked = (body) => [
    'POST /mcp HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Content-Type: application/json',
    'Accept: application/json, text/event-stream', 'Transfer-Encoding: chunked', '',
    `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`].join('\r\n');

  await t.test('the header, then the body in two parts', async () => {
    const r = await rawPieces(port, [whole.slice(0, cut), whole.slice(cut, cut + 10), whole.slice(cut + 10) + healthz]);
    assert.deepEqual(statuses(r.text), [200, 200]);
    assert.match(r.text, /"protocolVersion"/);
  });
  await t.test('the header with part of the body, then the rest', async () => {
    const r = await rawPieces(port, [whole.slice(0, cut + 7), whole.slice(cut + 7), healthz]);
    assert.deepEqual(statuses(r.text), [200, 200]);
  });
  await t.test('a request and the start of the next, then the rest of it', async () => {
    const r = await rawPieces(port, [whole + healthz.slice(0, 9), healthz.slice(9)]);
    assert.deepEqual(statuses(r.text), [200, 200]);
  });
  await t.test('a chunked body cut inside a chunk and inside its size line', async () => {
    const c = chunked(INIT());
    const at = c.indexOf('\r\n\r\n') + 4;
    const r = await rawPieces(port, [c.slice(0, at + 1), c.slice(at + 1, at + 20), c.slice(at + 20) + healthz]);
    assert.deepEqual(statuses(r.text), [200, 200]);
  });
  await t.test('every byte on its own', async () => {
    const r = await rawPieces(port, [...(whole + healthz)], { gapMs: 0 });
    assert.deepEqual(statuses(r.text), [200, 200]);
  });
  await t.test('a body cut short by the peer is not answered', async () => {
    const r = await rawPieces(port, [whole.slice(0, cut + 5)], { idleMs: 300 });
    assert.deepEqual(statuses(r.text), []);
  });
  assert.equal(await srv.stop(), 0, srv.stderr);
});

test('refusals carry no CORS grant', async (t) => {
  const srv = await startServe(['--testkit']);
  const port = Number(new URL(srv.url).port);
  const { sid, version } = await initialize(srv.url);
  const h = { 'mcp-session-id': sid, 'mcp-protocol-version': version };

  await t.test('a foreign Origin gets 403 without Access-Control-Allow-Origin', async () => {
    const r = await post(srv.url, PING, { ...h, origin: 'http://evil.example' });
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    assert.equal(r.headers.get('access-control-expose-headers'), null);
    assert.equal(r.headers.get('vary'), 'Origin');
  });
  await t.test('a preflight from a foreign Origin is refused the same way', async () => {
    const r = await raw(port, `OPTIONS /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://evil.example\r\nAccess-Control-Request-Method: POST\r\n\r\n`);
    assert.deepEqual(statuses(r.text), [403]);
    assert.doesNotMatch(r.text, /access-control-allow/i);
  });
  await t.test('an allowed Origin on a refused Host gets no grant either', async () => {
    const r = await raw(port, rawPost(port, JSON.stringify(PING), [`Origin: http://localhost:${port}`], { host: 'evil.example' }));
    assert.deepEqual(statuses(r.text), [403]);
    assert.doesNotMatch(r.text, /access-control-allow-origin/i);
  });
  await t.test('an allowed Origin is granted on its answers', async () => {
    const r = await post(srv.url, PING, { ...h, origin: 'http://localhost:3000' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), 'http://localhost:3000');
  });
  assert.equal(await srv.stop(), 0, srv.stderr);
});

test('DNS rebinding: a foreign Host gets 403 on every route, not only /mcp', async (t) => {
  const c = newClient('rebinding');
  const routes = ['/metrics', '/healthz', '/readyz', '/.well-known/oauth-authorization-server',
    '/.well-known/oauth-protected-resource/mcp', '/.well-known/jwks.json',
    '/oauth2/authorize?response_type=code&client_id=x', '/no-such-route'];
  const get = (port, route, host) => raw(port, `GET ${route} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);

  await t.test('listening on loopback: a rebound name is refused, loopback names and addresses work', async () => {
    const srv = await startWithConfig(authYaml([c]));
    const port = Number(new URL(srv.url).port);
    try {
      for (const route of routes) {
        const r = await get(port, route, `evil.example:${port}`);
        assert.deepEqual(statuses(r.text), [403], `${route} answered a rebound Host: ${r.text.slice(0, 300)}`);
        assert.doesNotMatch(r.text, /bastion_|"issuer"|"keys"|"sessions"/, route);
      }
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
        const m = await get(port, '/metrics', host);
        assert.deepEqual(statuses(m.text), [200], host);
        assert.match(m.text, /bastion_/);
        const meta = await get(port, '/.well-known/oauth-authorization-server', host);
        assert.deepEqual(statuses(meta.text), [200], host);
      }
    } finally {
      assert.equal(await srv.stop(), 0, srv.stderr);
    }
  });
  await t.test('http.allowed_hosts: the listed names and any IP address (probes, scrapers), nothing else', async () => {
    const srv = await startWithConfig(`${authYaml([c])}http: {allowed_hosts: [public.example]}\n`);
    const port = Number(new URL(srv.url).port);
    try {
      for (const host of ['public.example', `public.example:${port}`, '10.1.2.3:8080'])
        assert.deepEqual(statuses((await get(port, '/readyz', host)).text), [200], host);
      for (const host of ['evil.example', `localhost:${port}`])
        assert.deepEqual(statuses((await get(port, '/readyz', host)).text), [403], host);
    } finally {
      assert.equal(await srv.stop(), 0, srv.stderr);
    }
  });
});

test('HTTP-level errors carry the request id; initialize is once, alone, per session', async (t) => {
  const srv = await startServe(['--testkit']);
  const { sid, version } = await initialize(srv.url);
  const h = { 'mcp-session-id': sid, 'mcp-protocol-version': version };

  await t.test('unknown session: 404 with the id', async () => {
    const r = await post(srv.url, PING, { 'mcp-session-id': 'f'.repeat(32) });
    assert.equal(r.status, 404);
    assert.equal(r.json.id, 99);
    assert.equal(r.json.error.code, -32001);  // as the reference SDK's server sends it
    assert.equal(r.json.error.message, 'Session not found');
  });
  await t.test('missing session header, bad Accept, bad protocol version: the id', async () => {
    let r = await post(srv.url, PING, {});
    assert.equal(r.status, 400);
    assert.equal(r.json.id, 99);
    r = await post(srv.url, PING, { ...h, accept: 'application/json' });
    assert.equal(r.status, 406);
    assert.equal(r.json.id, 99);
    r = await post(srv.url, { jsonrpc: '2.0', id: 'abc', method: 'ping' }, { ...h, 'mcp-protocol-version': '1999-01-01' });
    assert.equal(r.status, 400);
    assert.equal(r.json.id, 'abc');
  });
  await t.test('an unparsable body still answers id null', async () => {
    const r = await post(srv.url, '{"jsonrpc":"2.0","id":5', h);
    assert.equal(r.status, 400);
    assert.equal(r.json.id, null);
  });
  await t.test('a one-element batch [initialize] is refused and opens no session', async () => {
    const r = await post(srv.url, `[${INIT(3)}]`);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32600);
    assert.equal(r.headers.get('mcp-session-id'), null);
  });
  await t.test('initialize on a live session is refused', async () => {
    const r = await post(srv.url, INIT(4), { 'mcp-session-id': sid });
    assert.equal(r.status, 400);
    assert.equal(r.json.id, 4);
    assert.match(r.json.error.message, /already initialized/);
    assert.equal(r.headers.get('mcp-session-id'), null);
    assert.equal((await post(srv.url, PING, h)).status, 200);  // the session itself is unharmed
  });
  await t.test('a failed initialize leaves no session behind', async () => {
    const r = await post(srv.url, JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'initialize', params: { protocolVersion: 42 } }));
    assert.equal(r.json.error.code, -32602);
    assert.equal(r.headers.get('mcp-session-id'), null);
  });
  await t.test('batches still work on a session that negotiated 2025-03-26', async () => {
    const old = await initialize(srv.url, '2025-03-26');
    const r = await post(srv.url, [PING, { ...PING, id: 100 }], { 'mcp-session-id': old.sid, 'mcp-protocol-version': '2025-03-26' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.map((m) => m.id).sort(), [100, 99]);
    const refused = await post(srv.url, [PING], h);  // 2025-11-25 has none
    assert.equal(refused.status, 400);
  });
  assert.equal(await srv.stop(), 0, srv.stderr);

  await t.test('stdio: [initialize] and a second initialize are refused', async () => {
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
    child.stdin.write(`[${INIT(1, '2025-03-26')}]\n`);
    await new Promise((r) => setTimeout(r, 300));
    child.stdin.write(INIT(2, '2025-03-26') + '\n');
    await new Promise((r) => setTimeout(r, 300));
    child.stdin.write(INIT(3, '2025-06-18') + '\n');
    child.stdin.end();
    assert.equal(await new Promise((res) => child.on('exit', res)), 0);
    assert.equal(lines.length, 3, JSON.stringify(lines));
    assert.equal(lines[0].error.code, -32600);  // nothing negotiated yet: no batch
    assert.equal(lines[1].result.protocolVersion, '2025-03-26');
    assert.equal(lines[2].id, 3);
    assert.equal(lines[2].error.code, -32600);  // already initialized
  });
});
