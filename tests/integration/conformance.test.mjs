// The official MCP conformance suite against `bastion serve --testkit`:
// every check of every scenario of 0.1.16's "all" suite, and every scored
// scenario of 0.2.0-alpha.12's `--requirements 2026-07-28` (Modern) and
// `--requirements 2025-11-25` (Legacy) on the same endpoint. Figures and
// the checks that cannot pass are in docs/conformance.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServe } from './lib/bastion.mjs';
import { TASKS_SCENARIOS, assertAllPassed, assertRequirementsPassed, runConformance } from './lib/conformance.mjs';

test('conformance suite passes every check against bastion serve --testkit', async () => {
  const srv = await startServe(['--testkit']);
  try {
    assertAllPassed(await runConformance(srv.url));
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('conformance 0.2.0-alpha.12: --requirements 2026-07-28 (Modern, stateless)', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const figures = assertRequirementsPassed(await runConformance(srv.url, { requirements: '2026-07-28' }), {
      minScored: 37,
      alsoPassing: ['http-header-validation', 'json-schema-2020-12', 'http-custom-header-server-validation',
        ...TASKS_SCENARIOS],
      // Not "not testable": the testkit's test_param_headers is exercised.
      minPassed: { 'http-custom-header-server-validation': 10 },
    });
    console.log('2026-07-28:', JSON.stringify(figures));
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('conformance 0.2.0-alpha.12: --requirements 2025-11-25 (Legacy, sessions)', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const figures = assertRequirementsPassed(await runConformance(srv.url, { requirements: '2025-11-25' }), {
      minScored: 30,
      alsoPassing: ['server-session-lifecycle', 'json-schema-2020-12', 'server-sse-polling'],
    });
    console.log('2025-11-25:', JSON.stringify(figures));
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});
