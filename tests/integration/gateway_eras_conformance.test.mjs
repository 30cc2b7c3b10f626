// The 0.2.0-alpha.12 conformance suite through the gateway, relaying
// Bastion's own testkit as the upstream, for every pairing of eras (client
// era = the requirement set; upstream era forced with `era: legacy` or
// `era: modern`: the testkit is dual-era, and `era: auto` would speak to it in each client's own era) over stdio and
// Streamable HTTP. Figures and the reason for each known failure are in
// docs/conformance.md; a scored scenario failing that is not listed there
// fails this test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { BIN, startServe, startWithConfig, tempDir } from './lib/bastion.mjs';
import { TASKS_SCENARIOS, runConformance } from './lib/conformance.mjs';

// Cross-era translation limits, per pairing (see docs/conformance.md).
const LEGACY_CLIENT_MODERN_UPSTREAM = [];
// Fixed, and so must pass in every pairing (a regression fails the test even
// if a list above named it).
const MUST_PASS = [
  'tools-call-sampling', 'tools-call-elicitation', 'elicitation-sep1034-defaults',
  'elicitation-sep1330-enums', 'resources-subscribe', 'resources-unsubscribe',
];
const KNOWN = {
  'stdio legacy 2025-11-25': [],
  'stdio modern 2026-07-28': [],
  'http legacy 2025-11-25': [],
  'http modern 2026-07-28': [],
  'stdio modern 2025-11-25': LEGACY_CLIENT_MODERN_UPSTREAM,
  'http modern 2025-11-25': LEGACY_CLIENT_MODERN_UPSTREAM,
  // The Legacy wire has no input request keys (docs/conformance.md).
  'http legacy 2026-07-28': ['input-required-result-basic-elicitation'],
  'stdio legacy 2026-07-28': ['input-required-result-basic-elicitation'],
};
// A Legacy upstream has no tasks: the gateway offers the testkit's task
// fixtures to Modern clients as tasks of its own (`tasks:`,
// gateway/legacy_tasks.hpp); Legacy clients are not affected.
const LEGACY_TASKS =
  '    tasks: {slow_compute: optional, failing_job: required, protocol_error_job: required, confirm_delete: required, multi_input: required}\n';
// Modern -> Legacy, the tasks-* that cannot pass (docs/conformance.md).
const LEGACY_TASKS_KNOWN = ['tasks-mrtr-composition'];
const MIN_SCORED = { '2025-11-25': 30, '2026-07-28': 37 };
// Not scored, but passing through the gateway today (with at least this
// many checks passed: "not testable" would pass with none): a regression
// fails the test.
const ALSO_PASSING = {
  '2026-07-28': { 'http-custom-header-server-validation': 10 },
  '2025-11-25': {},
};

// Every scenario's verdict, scored or not: name -> passed.
function verdicts(out) {
  const summary = out.slice(out.indexOf('=== SUMMARY ==='));
  return new Map([...summary.matchAll(/^([✓✗]) (\S+): (\d+) passed, (\d+) failed/gm)].map((m) => [m[2], m[1] === '✓']));
}

function scoredFailures(out) {
  const summary = out.slice(out.indexOf('=== SUMMARY ==='));
  assert.ok(summary.length > 0, `no summary in conformance output:\n${out}`);
  const notScored = new Set([...summary.matchAll(/^ {2}[✓✗] (\S+) \(/gm)].map((m) => m[1]));
  const all = [...summary.matchAll(/^([✓✗]) (\S+): (\d+) passed, (\d+) failed/gm)]
    .map((m) => ({ ok: m[1] === '✓', name: m[2], passed: Number(m[3]) }));
  const rows = all.filter((r) => !notScored.has(r.name));
  return {
    scored: rows.length,
    names: rows.map((r) => r.name),
    failing: rows.filter((r) => !r.ok).map((r) => r.name),
    all,
  };
}

for (const [pairing, known] of Object.entries(KNOWN)) {
  test(`conformance through the gateway: ${pairing}`, async () => {
    const [transport, era, requirements] = pairing.split(' ');
    let upstream;
    let server;
    if (transport === 'stdio') {
      const d = tempDir('bastion-up-');
      chmodSync(d, 0o777);  // the upstream runs as its own uid when Bastion is root
      server = `    command: ${BIN}\n    args: [stdio, --testkit, --log-level, warn, --data-dir, ${d}]\n    runtime: process\n    era: ${era}\n`;
    } else {
      upstream = await startServe(['--testkit']);
      server = `    url: ${upstream.url}\n    era: ${era}\n`;
    }
    if (era === 'legacy') server += LEGACY_TASKS;
    const srv = await startWithConfig(`servers:\n  upstream:\n    prefix: ""\n${server}`);
    try {
      const { out } = await runConformance(srv.url, { requirements });
      const { scored, names, failing, all } = scoredFailures(out);
      assert.ok(scored >= MIN_SCORED[requirements], `only ${scored} scored scenarios ran:\n${out}`);
      for (const name of MUST_PASS.filter((n) => names.includes(n)))
        assert.ok(!failing.includes(name), `${name} fails again:\n${out}`);
      if (requirements === '2025-11-25')
        for (const name of MUST_PASS) assert.ok(names.includes(name), `${name} did not run:\n${out}`);
      for (const [name, min] of Object.entries(ALSO_PASSING[requirements])) {
        const row = all.find((r) => r.name === name);
        assert.ok(row?.ok && row.passed >= min, `${name} no longer passes through the gateway:\n${out}`);
      }
      // The tasks extension (not scored) is relayed between Modern peers: an
      // upstream's tasks reach the client under the gateway's own ids. In
      // front of a Legacy upstream the tasks are the gateway's own.
      if (requirements === '2026-07-28') {
        const v = verdicts(out);
        const expected = era === 'modern' ? TASKS_SCENARIOS : TASKS_SCENARIOS.filter((n) => !LEGACY_TASKS_KNOWN.includes(n));
        for (const name of expected) assert.ok(v.get(name), `${name} does not pass through the gateway:\n${out}`);
      }
      // A known failure that starts passing is welcome (then shorten the list);
      // any other failure is a regression.
      assert.deepEqual(failing.filter((f) => !known.includes(f)), [], out);
    } finally {
      assert.equal(await srv.stop(), 0, srv.stderr);
      if (upstream) await upstream.stop();
    }
  });
}
