// The conformance suite through the gateway: bastion relays every request,
// notification and server-to-client request to an upstream that implements
// the fixtures (bastion's own testkit), and every check of the "all" suite
// must pass — whatever the upstream transport: a stdio child under
// bubblewrap, Streamable HTTP, legacy HTTP+SSE (supergateway in front), or
// the `bastion connect` stdio bridge. Stopping bastion leaves no child.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import {
  BIN, NODE_MODULES, childrenOf, freePort, processAlive, startServe, tempDir, waitForPort, writeConfig,
} from './lib/bastion.mjs';
import { assertAllPassed, runConformance } from './lib/conformance.mjs';

// Runs the suite against a gateway whose only server is `server` (YAML body
// of one entry, exposed without a prefix); returns the gateway's children
// seen while it ran.
async function throughGateway(server) {
  const cfg = writeConfig(tempDir(), `servers:\n  upstream:\n    prefix: ""\n${server}`);
  const srv = await startServe(['--config', cfg]);
  let children;
  try {
    assertAllPassed(await runConformance(srv.url));
    children = childrenOf(srv.child.pid);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
  return children;
}

test('through the gateway to a stdio upstream under bwrap', async () => {
  const children = await throughGateway(`    command: ${BIN}\n    args: [stdio, --testkit, --log-level, warn, --data-dir, /tmp/bastion-data]\n    runtime: bwrap\n`);
  assert.ok(children.length >= 1, 'the upstream should be running as a child of bastion');
  for (const c of children) assert.equal(processAlive(c), false, `child ${c} outlived bastion`);
});

test('through the gateway to a Streamable HTTP upstream', async () => {
  const upstream = await startServe(['--testkit']);
  try {
    await throughGateway(`    url: ${upstream.url}\n`);
  } finally {
    await upstream.stop();
  }
});

test('through the gateway to a legacy HTTP+SSE upstream (supergateway)', async () => {
  const port = await freePort();
  const sg = spawn('node', [
    path.join(NODE_MODULES, 'supergateway/dist/index.js'),
    '--stdio', `${BIN} stdio --testkit --log-level off --data-dir ${tempDir()}`, '--port', String(port), '--logLevel', 'none',
  ], { stdio: 'ignore' });
  try {
    await waitForPort(port);
    await throughGateway(`    url: http://127.0.0.1:${port}/sse\n    transport: sse\n`);
  } finally {
    sg.kill('SIGTERM');
  }
});

test('through the stdio bridge (bastion connect)', async () => {
  // conformance → gateway → stdio → `bastion connect` (sandboxed, network
  // granted) → Streamable HTTP → bastion serve --testkit.
  const upstream = await startServe(['--testkit']);
  try {
    await throughGateway(`    command: ${BIN}\n    args: [connect, --url, "${upstream.url}"]\n    network: true\n`);
  } finally {
    await upstream.stop();
  }
});
