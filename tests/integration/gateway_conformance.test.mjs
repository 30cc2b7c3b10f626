// The conformance suite through the gateway: bastion relays every request,
// notification and server-to-client request to an upstream that implements
// the fixtures (bastion's own testkit, run as a stdio child under bubblewrap), and every check
// of the "all" suite must pass. Stopping bastion must leave no child behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import {
  BIN, NODE_MODULES, childrenOf, freePort, processAlive, startServe, tempDir, waitForPort, writeConfig,
} from './lib/bastion.mjs';
import { assertAllPassed, runConformance } from './lib/conformance.mjs';

test('conformance suite passes every check through the gateway', async () => {
  const dir = tempDir();
  const cfg = writeConfig(dir, `
servers:
  testkit:
    command: ${BIN}
    args: [stdio, --testkit, --log-level, warn]
    prefix: ""
    runtime: bwrap
`);
  const srv = await startServe(['--config', cfg]);
  let children = [];
  try {
    assertAllPassed(await runConformance(srv.url));
    children = childrenOf(srv.child.pid);
    assert.ok(children.length >= 1, 'the upstream should be running as a child of bastion');
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
  for (const c of children) assert.equal(processAlive(c), false, `child ${c} outlived bastion`);
});

test('conformance suite passes through the gateway to a Streamable HTTP upstream', async () => {
  const upstream = await startServe(['--testkit']);
  const dir = tempDir();
  const cfg = writeConfig(dir, `
servers:
  remote:
    url: ${upstream.url}
    prefix: ""
`);
  const srv = await startServe(['--config', cfg]);
  try {
    assertAllPassed(await runConformance(srv.url));
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
    await upstream.stop();
  }
});

test('conformance suite passes through the gateway to a legacy HTTP+SSE upstream (supergateway)', async () => {
  const port = await freePort();
  const sg = spawn('node', [
    path.join(NODE_MODULES, 'supergateway/dist/index.js'),
    '--stdio', `${BIN} stdio --testkit --log-level off`, '--port', String(port), '--logLevel', 'none',
  ], { stdio: 'ignore' });
  try {
    await waitForPort(port);
    const dir = tempDir();
    const cfg = writeConfig(dir, `
servers:
  legacy:
    url: http://127.0.0.1:${port}/sse
    transport: sse
    prefix: ""
`);
    const srv = await startServe(['--config', cfg]);
    try {
      assertAllPassed(await runConformance(srv.url));
    } finally {
      assert.equal(await srv.stop(), 0, srv.stderr);
    }
  } finally {
    sg.kill('SIGTERM');
  }
});

test('conformance suite passes through the stdio bridge (bastion connect)', async () => {
  // conformance → bastion serve (gateway) → stdio → `bastion connect` (sandboxed,
  // network granted) → Streamable HTTP → bastion serve --testkit.
  const upstream = await startServe(['--testkit']);
  const dir = tempDir();
  const cfg = writeConfig(dir, `
servers:
  bridged:
    command: ${BIN}
    args: [connect, --url, "${upstream.url}"]
    prefix: ""
    network: true
`);
  const srv = await startServe(['--config', cfg]);
  try {
    assertAllPassed(await runConformance(srv.url));
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
    await upstream.stop();
  }
});
