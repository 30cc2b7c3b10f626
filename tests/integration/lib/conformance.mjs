// Runs the official conformance suite against a URL and checks its verdict.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { NODE22, NODE_MODULES, tempDir } from './bastion.mjs';

// `requirements` ('2026-07-28', '2025-11-25') runs the set a spec revision
// requires, with the 0.2.0-alpha.12 suite (npm alias conformance-next).
export async function runConformance(url, { suite = 'all', requirements, timeoutMs = 240000 } = {}) {
  const pkg = requirements ? 'conformance-next' : '@modelcontextprotocol/conformance';
  const cli = path.join(NODE_MODULES, pkg, 'dist/index.js');
  const cwd = tempDir('bastion-conformance-');  // results/ lands here
  const which = requirements ? ['--requirements', requirements] : ['--suite', suite];
  const child = spawn(NODE22, [cli, 'server', '--url', url, ...which], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`conformance timed out:\n${out}`));
    }, timeoutMs);
    child.on('exit', (c) => {
      clearTimeout(t);
      resolve(c);
    });
  });
  return { code, out };
}

export function assertAllPassed({ code, out }) {
  const total = /Total: (\d+) passed, (\d+) failed/.exec(out);
  assert.ok(total, `no summary in conformance output:\n${out}`);
  const failedScenarios = out.split('\n').filter((l) => l.startsWith('✗'));
  assert.deepEqual(failedScenarios, [], out);
  assert.equal(Number(total[2]), 0, out);
  // The "all" suite has more than 40 checks; far fewer means scenarios did not run.
  assert.ok(Number(total[1]) >= 40, `only ${total[1]} checks ran:\n${out}`);
  assert.equal(code, 0, out);
}

// The tasks extension's scenarios (SEP-2663; not scored, run for visibility
// under 2026-07-28). tasks-status-notifications is a placeholder the suite
// skips (0 checks); the other nine exercise Bastion's tasks.
export const TASKS_SCENARIOS = [
  'tasks-lifecycle', 'tasks-capability-negotiation', 'tasks-wire-fields', 'tasks-request-state-removal',
  'tasks-mrtr-input', 'tasks-request-headers', 'tasks-dispatch-and-envelope', 'tasks-status-notifications',
  'tasks-required-task-error', 'tasks-mrtr-composition',
];

// The verdict of a `--requirements` run: every scored scenario passed (the
// "Not scored" ones are listed apart by the suite), at least `minScored` of
// them ran, and each of `alsoPassing` (not scored, but passing today) still
// passes. Returns the summary figures.
export function assertRequirementsPassed({ out }, { minScored, alsoPassing = [], minPassed = {} }) {
  const summary = out.slice(out.indexOf('=== SUMMARY ==='));
  assert.ok(summary.length > 0, `no summary in conformance output:\n${out}`);
  const notScored = new Set([...summary.matchAll(/^ {2}[✓✗] (\S+) \(/gm)].map((m) => m[1]));
  const rows = [...summary.matchAll(/^([✓✗]) (\S+): (\d+) passed, (\d+) failed/gm)].map((m) => ({
    ok: m[1] === '✓', name: m[2], passed: Number(m[3]), failed: Number(m[4]),
  }));
  const scored = rows.filter((r) => !notScored.has(r.name));
  assert.deepEqual(scored.filter((r) => !r.ok).map((r) => r.name), [], out);
  assert.ok(scored.length >= minScored, `only ${scored.length} scored scenarios ran:\n${out}`);
  for (const name of alsoPassing)
    assert.ok(rows.find((r) => r.name === name)?.ok, `${name} no longer passes:\n${out}`);
  // A scenario whose checks all report "not testable" passes with none run.
  for (const [name, min] of Object.entries(minPassed)) {
    const passed = rows.find((r) => r.name === name)?.passed ?? 0;
    assert.ok(passed >= min, `${name}: ${passed} checks passed, expected at least ${min}:\n${out}`);
  }
  return {
    scenarios: scored.length,
    checks: scored.reduce((n, r) => n + r.passed, 0),
    notScoredPassing: rows.filter((r) => notScored.has(r.name) && r.ok).map((r) => r.name),
  };
}
