// The official MCP conformance suite (@modelcontextprotocol/conformance
// 0.1.16, under Node 22) against `bastion serve --testkit`: every check of
// every scenario of the "all" suite must pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServe } from './lib/bastion.mjs';
import { assertAllPassed, runConformance } from './lib/conformance.mjs';

test('conformance suite passes every check against bastion serve --testkit', async () => {
  const srv = await startServe(['--testkit']);
  try {
    assertAllPassed(await runConformance(srv.url));
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});
