// Per-session upstream instances: each client session gets its own server
// process, capped by max_instances; ending the session (DELETE) ends its
// process. Shared servers keep one process for everyone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SOURCE_DIR, childrenOf, eventually, processAlive, startServe, tempDir, writeConfig } from './lib/bastion.mjs';

async function connect(url) {
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = new Client({ name: 'instances-test', version: '1' });
  await client.connect(transport);
  return { client, transport };
}

test('per-session instances are isolated, capped and reaped with their session', async () => {
  const dir = tempDir();
  const cfg = writeConfig(dir, `
servers:
  mine:
    command: python3
    args: [${SOURCE_DIR}/tests/sandbox/malicious_server.py]
    instances: per_session
    max_instances: 2
  shared:
    command: python3
    args: [${SOURCE_DIR}/examples/python/weather_server.py]
`);
  const srv = await startServe(['--config', cfg]);
  try {
    const a = await connect(srv.url);
    const b = await connect(srv.url);
    const c = await connect(srv.url);
    const pidOf = async (x) => {
      const r = await x.client.callTool({ name: 'mine__list_pids', arguments: {} });
      assert.ok(!r.isError, JSON.stringify(r));
      return r;
    };
    await pidOf(a);
    await pidOf(b);
    for (const x of [a, b, c]) await x.client.callTool({ name: 'shared__list_cities', arguments: {} });
    // Two per-session instances plus one shared server.
    assert.equal(childrenOf(srv.child.pid).length, 3);
    // A third session is over the cap for `mine`, but `shared` still serves it.
    await assert.rejects(c.client.callTool({ name: 'mine__list_pids', arguments: {} }), /maximum of 2/);

    const before = childrenOf(srv.child.pid);
    await a.transport.terminateSession();
    let after = before;
    for (let i = 0; i < 50 && after.length === before.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = childrenOf(srv.child.pid);
    }
    assert.equal(after.length, before.length - 1, 'the closed session kept its server process');
    const gone = before.filter((p) => !after.includes(p));
    for (const p of gone) assert.equal(processAlive(p), false);
    // The freed slot is available to the waiting session.
    await pidOf(c);
    for (const x of [a, b, c]) await x.client.close();
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('a server still listing its tools is waited for, never listed as empty', async () => {
  // Eager start: initialize answers at once, tools/list takes 2 s. A client
  // listing in between must get the tools, not an empty catalogue.
  const dir = tempDir();
  const cfg = writeConfig(dir, `
servers:
  slow:
    command: python3
    args: [${SOURCE_DIR}/tests/sandbox/malicious_server.py]
    env: {LIST_DELAY: "2"}
    start: eager
`);
  const srv = await startServe(['--config', cfg]);
  try {
    const { client } = await connect(srv.url);
    await eventually(() => /upstream slow: started pid/.test(srv.stderr));
    await new Promise((r) => setTimeout(r, 700));  // initialized, still listing
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('slow__whoami'), `tools/list while listing: ${names}`);
    assert.match(srv.stderr, /upstream slow: ready/);
    await client.close();
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});
