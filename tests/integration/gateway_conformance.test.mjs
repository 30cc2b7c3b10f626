// The conformance suite through the gateway: bastion relays every request,
// notification and server-to-client request to an upstream that implements
// the fixtures (bastion's own testkit, run as a stdio child under bubblewrap), and every check
// of the "all" suite must pass. Stopping bastion must leave no child behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, childrenOf, processAlive, startServe, tempDir, writeConfig } from './lib/bastion.mjs';
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
