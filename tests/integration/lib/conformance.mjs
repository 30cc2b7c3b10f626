// Runs the official conformance suite against a URL and checks its verdict.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { NODE22, NODE_MODULES, tempDir } from './bastion.mjs';

export async function runConformance(url, { suite = 'all', timeoutMs = 240000 } = {}) {
  const cli = path.join(NODE_MODULES, '@modelcontextprotocol/conformance/dist/index.js');
  const cwd = tempDir('bastion-conformance-');  // results/ lands here
  const child = spawn(NODE22, [cli, 'server', '--url', url, '--suite', suite], {
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
