// Operations endpoints: /healthz, /readyz and Prometheus /metrics reflect
// real traffic and upstream state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SOURCE_DIR, authYaml, fetchToken, initialize, newClient, post, startServe, startWithConfig, tempDir, writeConfig } from './lib/bastion.mjs';

test('health, readiness and metrics', async () => {
  const dir = tempDir();
  const cfg = writeConfig(dir, `
testkit: {enabled: true}
servers:
  weather:
    command: python3
    args: [${SOURCE_DIR}/examples/python/weather_server.py]
`);
  const srv = await startServe(['--config', cfg]);
  try {
    assert.deepEqual(await (await fetch(`${srv.base}/healthz`)).json(), { status: 'ok' });
    const { sid, version } = await initialize(srv.url);
    const h = { 'mcp-session-id': sid, 'mcp-protocol-version': version };
    const ready = await (await fetch(`${srv.base}/readyz`)).json();
    assert.equal(ready.status, 'ready');
    assert.equal(ready.sessions, 1);
    await post(srv.url, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' } } }, h);
    await post(srv.url, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'weather__list_cities', arguments: {} } }, h);
    await post(srv.url, { jsonrpc: '2.0', id: 4, method: 'no/such' }, h);
    const res = await fetch(`${srv.base}/metrics`);
    assert.match(res.headers.get('content-type'), /text\/plain/);
    const m = await res.text();
    assert.match(m, /^bastion_mcp_requests_total\{method="tools\/call",outcome="ok"\} 2$/m);
    assert.match(m, /^bastion_mcp_requests_total\{method="other",outcome="error"\} 1$/m);
    assert.match(m, /^bastion_mcp_request_duration_seconds_count\{method="tools\/call"\} 2$/m);
    assert.match(m, /^bastion_sessions 1$/m);
    assert.match(m, /^bastion_upstream_up\{server="weather",state="ready"\} 1$/m);
    assert.match(m, /^bastion_upstream_restarts\{server="weather"\} 0$/m);
    assert.match(m, /^bastion_http_responses_total\{code="200"\} \d+$/m);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('log.format json: every stderr line is one JSON object, even for awkward text', async () => {
  const dir = tempDir();
  const cfg = writeConfig(dir, 'log: {format: json}\ntestkit: {enabled: true}\n');
  const srv = await startServe(['--config', cfg], { dataDir: `${dir}/data "quoted"\\dir` });
  assert.equal(await srv.stop(), 0, srv.stderr);
  const lines = srv.stderr.trim().split('\n');
  assert.ok(lines.length >= 3, srv.stderr);
  for (const l of lines) {
    const o = JSON.parse(l);
    for (const k of ['ts', 'level', 'logger', 'msg']) assert.ok(k in o, l);
  }
  assert.ok(lines.some((l) => JSON.parse(l).msg.includes('"quoted"\\dir')), srv.stderr);
});

test('metrics count PII findings by type and action, and auth events', async () => {
  const c = newClient('metrics-client');
  const srv = await startWithConfig(`${authYaml([c])}testkit: {enabled: true}
security:
  pii: {default: mask, types: {rrn: reject}}
`);
  try {
    await assert.rejects(fetchToken(srv.base, { id: c.id, secret: 'wrong' }), /invalid_client/);
    assert.equal((await post(srv.url, { jsonrpc: '2.0', id: 1, method: 'ping' })).status, 401);
    const { access_token: token } = await fetchToken(srv.base, c);
    const auth = { authorization: `Bearer ${token}` };
    const { sid, version } = await initialize(srv.url, '2025-11-25', auth);
    const h = { ...auth, 'mcp-session-id': sid, 'mcp-protocol-version': version };
    const call = (id, text) => post(srv.url, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text } } }, h);
    await call(2, 'mail kim@example.com or lee@example.org');
    await call(3, '주민번호 900101-1234568');
    const m = await (await fetch(`${srv.base}/metrics`)).text();
    // Two emails masked in the request; the echo then carries none back.
    assert.match(m, /^bastion_pii_findings_total\{type="email",action="mask",direction="request"\} 2$/m);
    assert.doesNotMatch(m, /direction="response"/);
    assert.match(m, /^bastion_pii_findings_total\{type="rrn",action="reject",direction="request"\} 1$/m);
    assert.match(m, /^bastion_auth_events_total\{event="token_issued"\} 1$/m);
    assert.match(m, /^bastion_auth_events_total\{event="token_denied"\} 1$/m);
    assert.match(m, /^bastion_auth_events_total\{event="auth_failure"\} [1-9]\d*$/m);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('a log line per request, with its session and request ids as fields', async () => {
  const dir = tempDir();
  const cfg = writeConfig(dir, 'log: {format: json, level: debug}\ntestkit: {enabled: true}\n');
  const srv = await startServe(['--config', cfg]);
  let sid;
  try {
    ({ sid } = await initialize(srv.url));
    const h = { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
    await post(srv.url, { jsonrpc: '2.0', id: 'call-7', method: 'tools/call', params: { name: 'echo', arguments: { text: 'kim@example.com' } } }, h);
    await post(srv.url, { jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'no_such_tool', arguments: {} } }, h);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
  const lines = srv.stderr.trim().split('\n').map((l) => JSON.parse(l));
  const done = lines.find((l) => l.request_id === 'call-7');
  assert.ok(done, srv.stderr);
  assert.equal(done.msg, 'request done');
  assert.equal(done.level, 'debug');
  assert.equal(done.session_id, sid);
  assert.equal(done.method, 'tools/call');
  assert.equal(typeof done.duration_ms, 'number');
  const failed = lines.find((l) => l.request_id === 8);
  assert.equal(failed.msg, 'request failed');
  assert.equal(failed.level, 'info');
  assert.equal(failed.error_code, -32602);
  // Arguments never reach the log.
  assert.ok(!srv.stderr.includes('kim@example.com'), srv.stderr);
});
