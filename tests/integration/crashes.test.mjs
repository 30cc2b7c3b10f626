// Crashes found by sanitizers and a hostile upstream (issue 17): an upstream
// that exits while Bastion still writes to it must not take the gateway down
// (SIGPIPE), relayed server-to-client requests die with their upstream, and
// SIGTERM with running upstreams shuts down cleanly (exit 0, the audit log's
// shutdown checkpoint written, `audit verify` passing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { BIN, SOURCE_DIR, eventually, startWithConfig } from './lib/bastion.mjs';

const CONFIG = `
servers:
  bad:
    command: python3
    args: [${SOURCE_DIR}/tests/sandbox/malicious_server.py]
  good:
    command: python3
    args: [${SOURCE_DIR}/examples/python/weather_server.py]
`;

async function connect(url, capabilities = {}) {
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = new Client({ name: 'crash-test', version: '1' }, { capabilities });
  await client.connect(transport);
  return client;
}

function assertAlive(srv) {
  assert.ok(srv.child.exitCode === null && srv.child.signalCode === null,
    `bastion died (${srv.child.exitCode ?? srv.child.signalCode}):\n${srv.stderr}`);
}

async function stillServes(srv) {
  assertAlive(srv);
  const health = await fetch(`${srv.base}/healthz`);
  assert.equal(health.status, 200);
  const c = await connect(srv.url);
  const r = await c.callTool({ name: 'good__get_weather', arguments: { city: 'Seoul' } });
  assert.ok(!r.isError, JSON.stringify(r));
  await c.close();
}

function lastAuditRecord(dataDir) {
  const dir = path.join(dataDir, 'audit');
  const files = readdirSync(dir).filter((f) => /^audit\.log(\.\d+)?$/.test(f)).sort();
  const lines = readFileSync(path.join(dir, files.at(-1)), 'utf8').trim().split('\n');
  return JSON.parse(lines.at(-1));
}

test('an answer to a relayed request after its upstream exited does not kill bastion', async () => {
  const srv = await startWithConfig(CONFIG);
  try {
    // Session A gets bad's sampling request and holds its answer back.
    const a = await connect(srv.url, { sampling: {} });
    let release;
    const held = new Promise((r) => (release = r));
    let asked;
    const gotRequest = new Promise((r) => (asked = r));
    let aborted = false;
    a.setRequestHandler(CreateMessageRequestSchema, async (_req, extra) => {
      extra.signal.addEventListener('abort', () => (aborted = true));
      asked();
      await held;
      return { role: 'assistant', content: { type: 'text', text: 'late' }, model: 'm' };
    });
    const call = a.callTool({ name: 'bad__sample', arguments: { text: 'hello' } });
    call.catch(() => {});
    await gotRequest;
    // Session B makes the same server exit while A's request is relayed.
    const b = await connect(srv.url);
    await assert.rejects(b.callTool({ name: 'bad__exit', arguments: { code: 3 } }), /unavailable|exited|closed/i);
    // A's call fails with a JSON-RPC error once the server is gone...
    await assert.rejects(call, /unavailable|exited|closed|cancel/i);
    // ...its relayed request is withdrawn (notifications/cancelled)...
    assert.ok(await eventually(() => aborted), 'the relayed request was not cancelled');
    // ...and A's late answer goes nowhere instead of into a dead pipe.
    release();
    await new Promise((r) => setTimeout(r, 300));
    assertAlive(srv);
    await stillServes(srv);
    // The server comes back for the next call.
    const again = await eventually(async () => {
      try {
        return await b.callTool({ name: 'bad__whoami', arguments: {} });
      } catch {
        return null;
      }
    });
    assert.ok(again && !again.isError, 'bad did not restart');
    await a.close();
    await b.close();
  } finally {
    const code = await srv.stop();
    assert.equal(code, 0, srv.stderr);
  }
});

test('an upstream exiting with many calls in flight fails them and nothing else', async () => {
  const srv = await startWithConfig(CONFIG);
  try {
    const c = await connect(srv.url);
    assert.match(JSON.stringify(await c.callTool({ name: 'bad__exit_later', arguments: { seconds: 0.3 } })), /EXITING/);
    // The first blocks the server; the rest queue in its stdin. Bastion keeps
    // writing new ones while the process exits under it.
    const calls = [];
    for (let i = 0; i < 40; i++) {
      calls.push(c.callTool({ name: i === 0 ? 'bad__hang' : 'bad__slow', arguments: { seconds: 0.01 } }).then(
        (r) => ({ ok: true, r }),
        (e) => ({ ok: false, e: String(e) }),
      ));
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 100));
    }
    const results = await Promise.all(calls);
    assert.ok(results.filter((x) => !x.ok).length >= 1, 'no call saw the exit');
    for (const x of results) if (!x.ok) assert.match(x.e, /unavailable|exited|closed/i);
    assertAlive(srv);
    await stillServes(srv);
    await c.close();
  } finally {
    const code = await srv.stop();
    assert.equal(code, 0, srv.stderr);
  }
});

test('SIGTERM with running upstreams exits 0 with the shutdown checkpoint written', async () => {
  const srv = await startWithConfig(CONFIG);
  const c = await connect(srv.url, { sampling: {} });
  // Both servers running, one call pending on a relayed request.
  c.setRequestHandler(CreateMessageRequestSchema, () => new Promise(() => {}));
  const pending = c.callTool({ name: 'bad__sample', arguments: {} });
  pending.catch(() => {});
  await c.callTool({ name: 'good__get_weather', arguments: { city: 'Seoul' } });
  await new Promise((r) => setTimeout(r, 200));
  const code = await srv.stop('SIGTERM');
  await c.close();
  assert.equal(code, 0, srv.stderr);
  assert.match(srv.stderr, /bastion stopped/);
  assert.doesNotMatch(srv.stderr, /AddressSanitizer|runtime error:|LeakSanitizer/);
  const last = lastAuditRecord(srv.dataDir);
  assert.equal(last.reason, 'shutdown', JSON.stringify(last));
  execFileSync(BIN, ['audit', 'verify', path.join(srv.dataDir, 'audit')]);
});
