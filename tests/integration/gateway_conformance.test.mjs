// The conformance suite through the gateway: bastion relays every request,
// notification and server-to-client request to an upstream that implements
// the fixtures (bastion's own testkit, run as a stdio child), and every check
// of the "all" suite must pass. Stopping bastion must leave no child behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { BIN, startServe, tempDir, writeConfig } from './lib/bastion.mjs';
import { assertAllPassed, runConformance } from './conformance.test.mjs';

export function childrenOf(pid) {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)]).toString().trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

export function processAlive(pid) {
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch {
    return false;
  }
}

test('conformance suite passes every check through the gateway', async () => {
  const dir = tempDir();
  const cfg = writeConfig(dir, `
servers:
  testkit:
    command: ${BIN}
    args: [stdio, --testkit, --log-level, warn]
    prefix: ""
    runtime: process
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
