// MCP 2026-07-28 `x-mcp-header` / `Mcp-Param-{Name}` against the real
// binary: `bastion serve --testkit` checks the custom headers of a Modern
// tools/call against its arguments (the testkit's `test_param_headers`
// annotates region, priority, verbose and target.zone). Each rule has its
// abuse beside it: a header that disagrees with the body, CR/LF and control
// characters, a header for an unannotated parameter, a duplicated header, an
// oversize value, Base64 sentinel abuse. Through the gateway, the same
// check guards what is relayed, and the arguments are mirrored into the
// headers of a Modern upstream, also when a hostile one declares annotations
// meant to make Bastion write an illegal header. Raw sockets send what fetch
// refuses to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { initialize, post, startServe, startWithConfig } from './lib/bastion.mjs';

const V = '2026-07-28';
const META = {
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientInfo': { name: 'it-param-headers', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};
const TOOL = 'test_param_headers';
let nextId = 1;

function body(name, args, id = nextId++) {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, _meta: META } };
}

// A Modern tools/call with the standard headers and `params` (header name ->
// value) on top.
async function call(url, args, params = {}, { name = TOOL } = {}) {
  const b = body(name, args);
  const r = await post(url, b, { 'mcp-protocol-version': V, 'mcp-method': 'tools/call', 'mcp-name': name, ...params });
  if (r.json === undefined && /^data:/m.test(r.text))
    r.json = r.text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6))).find((e) => e.id === b.id);
  return r;
}

// The same over a raw socket: `lines` are header lines written byte for byte
// (duplicates, CR/LF, control characters and non-UTF-8 bytes included).
function rawCall(url, args, lines) {
  return rawCallTo(url, TOOL, args, lines);
}

function rawCallTo(url, name, args, lines) {
  const u = new URL(url);
  const payload = Buffer.from(JSON.stringify(body(name, args)));
  const head = Buffer.concat([
    Buffer.from(`POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\n` +
      `Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: ${V}\r\n` +
      `Mcp-Method: tools/call\r\nMcp-Name: ${name}\r\nConnection: close\r\n` +
      `Content-Length: ${payload.length}\r\n`, 'latin1'),
    ...lines.map((l) => Buffer.concat([typeof l === 'string' ? Buffer.from(l, 'latin1') : l, Buffer.from('\r\n')])),
    Buffer.from('\r\n'),
  ]);
  return new Promise((resolve, reject) => {
    // Written without a FIN after it: a Modern request's endpoint takes the
    // client's closing its side as leaving, and cancels the call (the answer
    // would then race the cancellation). `Connection: close` ends it instead.
    const s = net.connect(Number(u.port), u.hostname, () => s.write(Buffer.concat([head, payload])));
    s.setTimeout(10000, () => s.destroy());
    const chunks = [];
    s.on('data', (d) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]);
      const m = /\r\n\r\n([\s\S]*)$/.exec(text);
      let json;
      try {
        json = JSON.parse(m[1]);
      } catch {
        json = undefined;
      }
      resolve({ status, text, json });
    });
  });
}

const b64 = (s) => `=?base64?${Buffer.from(s, 'utf8').toString('base64')}?=`;

function accepted(r, what) {
  assert.equal(r.status, 200, `${what}: ${r.text}`);
  assert.equal(r.json.error, undefined, `${what}: ${r.text}`);
  assert.equal(r.json.result.isError, undefined, `${what}: ${r.text}`);
}

function mismatch(r, what, because) {
  assert.equal(r.status, 400, `${what}: ${r.text}`);
  assert.equal(r.json?.error?.code, -32020, `${what}: ${r.text}`);
  if (because) assert.match(r.json.error.message, because, what);
}

test('the testkit lists an annotated tool, and calls whose headers agree with the body run', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const list = await post(srv.url, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: META } },
      { 'mcp-protocol-version': V, 'mcp-method': 'tools/list' });
    const tool = list.json.result.tools.find((t) => t.name === TOOL);
    assert.equal(tool.inputSchema.properties.region['x-mcp-header'], 'Region');
    assert.equal(tool.inputSchema.properties.target.properties.zone['x-mcp-header'], 'Zone');

    const cases = [
      ['plain string', { region: 'us-west1' }, { 'Mcp-Param-Region': 'us-west1' }],
      ['lowercase header name', { region: 'us-west1' }, { 'mcp-param-region': 'us-west1' }],
      ['non-ASCII in Base64', { region: 'Hello, 世界' }, { 'Mcp-Param-Region': b64('Hello, 世界') }],
      ['blanks kept in Base64', { region: ' padded ' }, { 'Mcp-Param-Region': b64(' padded ') }],
      ['newline in Base64', { region: 'line1\nline2' }, { 'Mcp-Param-Region': b64('line1\nline2') }],
      ['sentinel-shaped value in Base64', { region: '=?base64?literal?=' }, { 'Mcp-Param-Region': b64('=?base64?literal?=') }],
      ['literal without the prefix', { region: 'SGVsbG8=' }, { 'Mcp-Param-Region': 'SGVsbG8=' }],
      ['literal without the suffix', { region: '=?base64?SGVsbG8=' }, { 'Mcp-Param-Region': '=?base64?SGVsbG8=' }],
      ['integer, compared numerically', { region: 'r', priority: 42 }, { 'Mcp-Param-Region': 'r', 'Mcp-Param-Priority': '42.0' }],
      ['boolean', { region: 'r', verbose: false }, { 'Mcp-Param-Region': 'r', 'Mcp-Param-Verbose': 'false' }],
      ['nested property', { region: 'r', target: { zone: 'b' } }, { 'Mcp-Param-Region': 'r', 'Mcp-Param-Zone': 'b' }],
      // The tool's own validation refuses null for a boolean (a tool error,
      // not a header error).
      ['null argument, no header', { region: 'r', verbose: null }, { 'Mcp-Param-Region': 'r' }, 'tool error'],
      ['unannotated argument, no header', { region: 'r', query: 'SELECT 1' }, { 'Mcp-Param-Region': 'r' }],
    ];
    for (const [what, args, headers, toolError] of cases) {
      const r = await call(srv.url, args, headers);
      if (toolError) {
        assert.equal(r.status, 200, `${what}: ${r.text}`);
        assert.equal(r.json.result.isError, true, `${what}: ${r.text}`);
        continue;
      }
      accepted(r, what);
      assert.deepEqual(r.json.result.structuredContent, args, `${what}: the tool saw the body's arguments`);
    }
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('attack: custom headers that disagree with the arguments are refused with HeaderMismatch', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const cases = [
      ['mismatch', { region: 'us-west1' }, { 'Mcp-Param-Region': 'eu-west1' }, /does not match arguments\.region/],
      ['missing header, value in body', { region: 'us-west1' }, {}, /Mcp-Param-Region header is required/],
      ['missing nested header', { region: 'r', target: { zone: 'z' } }, { 'Mcp-Param-Region': 'r' }, /Mcp-Param-Zone/],
      ['header for an absent argument', { region: 'r' }, { 'Mcp-Param-Region': 'r', 'Mcp-Param-Priority': '1' }, /without a value/],
      ['header for a null argument', { region: 'r', verbose: null }, { 'Mcp-Param-Region': 'r', 'Mcp-Param-Verbose': 'true' }, /without a value/],
      ['header for an unannotated parameter', { region: 'r', query: 'q' }, { 'Mcp-Param-Region': 'r', 'Mcp-Param-Query': 'q' }, /names no x-mcp-header parameter/],
      ['header on a tool without annotations', {}, { 'Mcp-Param-Region': 'r' }, /names no/, 'echo'],
      ['integer mismatch', { region: 'r', priority: 42 }, { 'Mcp-Param-Region': 'r', 'Mcp-Param-Priority': '43' }, /Priority/],
      ['integer in hex', { region: 'r', priority: 42 }, { 'Mcp-Param-Region': 'r', 'Mcp-Param-Priority': '0x2A' }, /Priority/],
      ['boolean spelled 1', { region: 'r', verbose: true }, { 'Mcp-Param-Region': 'r', 'Mcp-Param-Verbose': '1' }, /Verbose/],
      ['Base64 without padding', { region: 'Hello' }, { 'Mcp-Param-Region': '=?base64?SGVsbG8?=' }, /not valid Base64/],
      ['Base64 outside the alphabet', { region: 'Hello' }, { 'Mcp-Param-Region': '=?base64?SGVs!!!bG8=?=' }, /not valid Base64/],
      ['Base64 of bytes that are not UTF-8', { region: '\u00ff' }, { 'Mcp-Param-Region': '=?base64?/w==?=' }, /does not match/],
      ['Base64 hiding another value', { region: 'us-west1' }, { 'Mcp-Param-Region': b64('eu-west1') }, /does not match/],
      ['sentinel-shaped value sent plain', { region: '=?base64?SGk=?=' }, { 'Mcp-Param-Region': '=?base64?SGk=?=' }, /does not match/],
      ['upper-case sentinel is not one', { region: 'Hello' }, { 'Mcp-Param-Region': '=?BASE64?SGVsbG8=?=' }, /does not match/],
      ['blanks only Base64 may keep', { region: ' r ' }, { 'Mcp-Param-Region': ' r ' }, /does not match/],
    ];
    for (const [what, args, headers, because, name] of cases)
      mismatch(await call(srv.url, args, headers, { name }), what, because);

    // What fetch will not send.
    const raw = [
      ['duplicated header, same value', { region: 'r' }, ['Mcp-Param-Region: r', 'Mcp-Param-Region: r'], /more than once/],
      ['duplicated header, names in other cases', { region: 'r' }, ['Mcp-Param-Region: r', 'mcp-param-REGION: x'], /more than once/],
      ['raw UTF-8 in the value', { region: 'é' }, [Buffer.concat([Buffer.from('Mcp-Param-Region: '), Buffer.from('é', 'utf8')])], /invalid characters/],
      ['a byte that is not UTF-8', { region: 'a' }, [Buffer.from([...Buffer.from('Mcp-Param-Region: a'), 0xff])], /invalid characters/],
      // CR LF ends the header line: what follows is another header, and the
      // value left is not the body's.
      ['CR LF injection', { region: 'a\r\nX-Injected: 1' }, ['Mcp-Param-Region: a\r\nX-Injected: 1'], /does not match/],
    ];
    for (const [what, args, lines, because] of raw) mismatch(await rawCall(srv.url, args, lines), what, because);

    // Control characters are refused by the HTTP parser itself (or by the
    // check): never a 200, never a crash.
    for (const ctl of [0x00, 0x01, 0x0b, 0x1f, 0x7f]) {
      const r = await rawCall(srv.url, { region: `a${String.fromCharCode(ctl)}b` },
        [Buffer.from([...Buffer.from('Mcp-Param-Region: a'), ctl, ...Buffer.from('b')])]);
      assert.equal(r.status, 400, `control 0x${ctl.toString(16)}: ${r.text}`);
      // Beast's parser: "Malformed HTTP request" (-32600); else the check.
      assert.ok([-32600, -32020].includes(r.json?.error?.code), r.text);
    }
    const bareLf = await rawCall(srv.url, { region: 'a\nb' }, ['Mcp-Param-Region: a\nb']);
    assert.equal(bareLf.status, 400, bareLf.text);

    // Oversize: a long value that matches is served; past the header limit
    // it is 431, before anything reads the body.
    const long = 'x'.repeat(8000);
    accepted(await call(srv.url, { region: long }, { 'Mcp-Param-Region': long }), 'long matching value');
    const huge = 'x'.repeat(32 * 1024);
    const r = await call(srv.url, { region: huge }, { 'Mcp-Param-Region': huge });
    assert.equal(r.status, 431, r.text);

    // Still serving.
    accepted(await call(srv.url, { region: 'ok' }, { 'Mcp-Param-Region': 'ok' }), 'after the attacks');
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('Legacy sessions have no custom-header rule: Mcp-Param-* headers are not checked', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const { sid } = await initialize(srv.url);
    const h = { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
    const r = await post(srv.url, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: TOOL, arguments: { region: 'r' } } },
      { ...h, 'Mcp-Param-Region': 'something else' });
    assert.equal(r.status, 200, r.text);
    const json = r.json ?? JSON.parse(r.text.split('\n').find((l) => l.startsWith('data: ')).slice(6));
    assert.deepEqual(json.result.structuredContent, { region: 'r' });
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

// A hand-made Modern (2026-07-28 only) Streamable HTTP upstream: it
// declares annotated tools (one whose annotation would inject a header) and
// answers every call with the Mcp-Param-* headers it received, raw.
function modernUpstream() {
  const seen = { calls: [] };
  const annotated = (type, header) => ({ type, 'x-mcp-header': header });
  const tools = [
    {
      name: 'mirror',
      inputSchema: {
        type: 'object',
        properties: {
          region: annotated('string', 'Region'), priority: annotated('integer', 'Priority'),
          verbose: annotated('boolean', 'Verbose'),
          target: { type: 'object', properties: { zone: annotated('string', 'Zone') } },
          query: { type: 'string' },
        },
      },
    },
    { name: 'inject', inputSchema: { type: 'object', properties: { a: annotated('string', 'A\r\nX-Injected: 1') } } },
    { name: 'colon', inputSchema: { type: 'object', properties: { a: annotated('string', 'A:B') } } },
    { name: 'unicode', inputSchema: { type: 'object', properties: { a: annotated('string', 'Régión') } } },
  ];
  const server = http.createServer(async (req, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    const msg = JSON.parse(text || '{}');
    const reply = (result) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { resultType: 'complete', ...result } }));
    };
    if (req.method !== 'POST' || msg.id === undefined) {
      res.writeHead(req.method === 'POST' ? 202 : 405);
      return res.end();
    }
    if (msg.method === 'server/discover')
      return reply({ supportedVersions: [V], capabilities: { tools: {} }, _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'modern-up', version: '1' } } });
    if (msg.method === 'tools/list') return reply({ tools });
    if (msg.method !== 'tools/call') {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'no' } }));
    }
    const params = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      if (/^mcp-param-/i.test(req.rawHeaders[i])) params.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    seen.calls.push({ name: msg.params.name, params, raw: req.rawHeaders, injected: req.headers['x-injected'] });
    return reply({ content: [{ type: 'text', text: 'ok' }], structuredContent: { params } });
  });
  return {
    seen,
    async listen() {
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${server.address().port}/mcp`;
    },
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

test('gateway: a Modern client\'s headers are checked, and annotated arguments are mirrored to a Modern upstream', async () => {
  const up = modernUpstream();
  const upUrl = await up.listen();
  const srv = await startWithConfig(`servers:\n  up:\n    prefix: ""\n    url: ${upUrl}\n    era: modern\n`);
  try {
    const list = await post(srv.url, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: META } },
      { 'mcp-protocol-version': V, 'mcp-method': 'tools/list' });
    // Annotations that would make Bastion write an illegal header name are
    // never offered (so never called).
    assert.deepEqual(list.json.result.tools.map((t) => t.name), ['mirror'], list.text);
    for (const name of ['inject', 'colon', 'unicode']) {
      const r = await call(srv.url, { a: 'x' }, {}, { name });
      assert.ok(r.json.error, `${name}: ${r.text}`);
    }

    const args = { region: 'Hello, 世界', priority: 42, verbose: true, target: { zone: 'z' }, query: 'q' };
    const ok = await call(srv.url, args, {
      'Mcp-Param-Region': b64('Hello, 世界'), 'Mcp-Param-Priority': '42', 'Mcp-Param-Verbose': 'true', 'Mcp-Param-Zone': 'z',
    }, { name: 'mirror' });
    assert.equal(ok.status, 200, ok.text);
    const got = Object.fromEntries(up.seen.calls.at(-1).params);
    assert.deepEqual(got, {
      'Mcp-Param-Region': b64('Hello, 世界'), 'Mcp-Param-Priority': '42', 'Mcp-Param-Verbose': 'true', 'Mcp-Param-Zone': 'z',
    });

    // A value that would inject a header goes in Base64; the upstream sees
    // no extra header.
    const evil = 'a\r\nX-Injected: 1';
    const inj = await call(srv.url, { region: evil }, { 'Mcp-Param-Region': b64(evil) }, { name: 'mirror' });
    assert.equal(inj.status, 200, inj.text);
    assert.deepEqual(up.seen.calls.at(-1).params, [['Mcp-Param-Region', b64(evil)]]);
    assert.equal(up.seen.calls.at(-1).injected, undefined);

    // Refused before relaying: the upstream sees none of these calls.
    const before = up.seen.calls.length;
    mismatch(await call(srv.url, { region: 'us-west1' }, { 'Mcp-Param-Region': 'eu-west1' }, { name: 'mirror' }), 'mismatch');
    mismatch(await call(srv.url, { region: 'us-west1' }, {}, { name: 'mirror' }), 'missing');
    mismatch(await call(srv.url, { region: 'r', query: 'q' }, { 'Mcp-Param-Region': 'r', 'Mcp-Param-Query': 'q' }, { name: 'mirror' }), 'unannotated');
    mismatch(await call(srv.url, { region: 'Hello' }, { 'Mcp-Param-Region': '=?base64?SGVsbG8?=' }, { name: 'mirror' }), 'bad base64');
    mismatch(await rawCallTo(srv.url, 'mirror', { region: 'r' }, ['Mcp-Param-Region: r', 'Mcp-Param-Region: r']), 'duplicated');
    // Too long to mirror (the upstream would refuse the header): an error,
    // not a truncated or unbounded header.
    const long = 'x'.repeat(5000);
    const tooLong = await call(srv.url, { region: long }, { 'Mcp-Param-Region': long }, { name: 'mirror' });
    assert.equal(tooLong.json.error?.code, -32602, tooLong.text);
    assert.match(tooLong.json.error.message, /too long to mirror into Mcp-Param-Region/);
    assert.equal(up.seen.calls.length, before, 'no refused call reached the upstream');

    // A Legacy client sends no custom headers; Bastion mirrors for it, and
    // refuses what has no header form before sending.
    const { sid } = await initialize(srv.url);
    const h = { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
    const legacyCall = async (args, id) => {
      const r = await post(srv.url, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'mirror', arguments: args } }, h);
      return r.json ?? JSON.parse(r.text.split('\n').find((l) => l.startsWith('data: ')).slice(6));
    };
    const l1 = await legacyCall({ region: ' padded ', priority: 7 }, 10);
    assert.ok(l1.result, JSON.stringify(l1));
    assert.deepEqual(up.seen.calls.at(-1).params, [['Mcp-Param-Region', b64(' padded ')], ['Mcp-Param-Priority', '7']]);
    const n = up.seen.calls.length;
    const l2 = await legacyCall({ region: { not: 'a string' } }, 11);
    assert.equal(l2.error?.code, -32602, JSON.stringify(l2));
    assert.match(l2.error.message, /no header form/);
    assert.equal(up.seen.calls.length, n);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
    up.close();
  }
});
