// The documentation cannot rot: the full example in docs/configuration.md is
// accepted by `bastion check-config`, every top-level key the README and the
// demo use exists there, and the README's curl tour works against the demo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { BIN, SOURCE_DIR, startServe, tempDir, writeConfig } from './lib/bastion.mjs';

const read = (p) => readFileSync(path.join(SOURCE_DIR, p), 'utf8');

test('docs/configuration.md: the full example passes check-config', () => {
  const doc = read('docs/configuration.md');
  const m = /```yaml\n# full example\n([\s\S]*?)```/.exec(doc);
  assert.ok(m, 'no full example block');
  const dir = tempDir();
  const cfg = writeConfig(dir, m[1]);
  const r = spawnSync(BIN, ['check-config', '--config', cfg], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // A check creates nothing: no data directory, keys or audit log.
  assert.ok(!existsSync(path.join(dir, 'data')), 'check-config wrote to the data directory');
  // And a typo in it is caught, with its line.
  const bad = writeConfig(dir, m[1].replace('  max_body: 4MiB', '  max_bdy: 4MiB'), 'bad.yaml');
  const r2 = spawnSync(BIN, ['check-config', '--config', bad], { encoding: 'utf8' });
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /bad\.yaml:\d+:\d+: unknown key 'max_bdy'/);
});

// The module table and the dependency line of docs/architecture.md against
// the tree: every module under src/ has its row and its place in the line,
// every module a CMakeLists.txt links (or a source file includes) stands to
// its left, and nothing below app/ includes app/.
test('docs/architecture.md: module table and dependency line match src/ and CMake', () => {
  const doc = read('docs/architecture.md');
  const src = path.join(SOURCE_DIR, 'src');
  const modules = readdirSync(src, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const rows = [...doc.matchAll(/^\| `(\w+)\/` \|/gm)].map((m) => m[1]).sort();
  assert.deepEqual(rows, modules, 'one row per module in the table');
  const line = /^Dependencies point one way[^\n]*\n([\s\S]*?)\. Nothing includes `app\/`\./m.exec(doc);
  assert.ok(line, 'no dependency line');
  const rank = new Map();
  line[1].split('→').forEach((group, i) => group.trim().split('/').forEach((m) => {
    assert.ok(!rank.has(m), `${m} twice in the dependency line`);
    rank.set(m, i);
  }));
  assert.deepEqual([...rank.keys()].sort(), modules, 'every module in the dependency line');
  for (const m of modules) {
    const files = readdirSync(path.join(src, m));
    const cmake = readFileSync(path.join(src, m, 'CMakeLists.txt'), 'utf8').split('TEST_DEPS')[0];
    const linked = [...cmake.matchAll(/\bbastion_(\w+)/g)].map((x) => x[1]).filter((d) => rank.has(d) && d !== m);
    for (const d of linked) assert.ok(rank.get(d) < rank.get(m), `${m} links ${d}, which is not to its left`);
    for (const f of files.filter((f) => /\.(cpp|hpp)$/.test(f) && !f.endsWith('_test.cpp'))) {
      const text = readFileSync(path.join(src, m, f), 'utf8');
      for (const [, d] of text.matchAll(/^#include "(\w+)\//gm)) {
        if (d === m || !rank.has(d)) continue;
        assert.ok(rank.get(d) < rank.get(m), `src/${m}/${f} includes ${d}/, which is not to its left`);
        if (d === 'app') assert.equal(m, 'cli', `src/${m}/${f} includes app/`);
      }
    }
  }
});

test('examples/demo.yaml passes check-config', () => {
  const r = spawnSync(BIN, ['check-config', '--config', path.join(SOURCE_DIR, 'examples/demo.yaml')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test("the README's curl tour works against the demo configuration", async () => {
  const readme = read('README.md');
  const block = /## A first tool call[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'no curl tour in the README');
  const srv = await startServe(['--config', path.join(SOURCE_DIR, 'examples/demo.yaml')]);
  try {
    const port = new URL(srv.url).port;
    const script = block[1].replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`);
    const out = execFileSync('bash', ['-euo', 'pipefail', '-c', script], { encoding: 'utf8' });
    assert.match(out, /"protocolVersion":"2025-11-25"/);
    // The weather server's result is relayed as it wrote it (zero-copy relay:
    // Python's json.dumps puts a space after each colon).
    assert.match(out, /"city": ?"Seoul"/);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('every CLI command named in the README answers --help', () => {
  const readme = read('README.md');
  const cmds = new Set([...readme.matchAll(/^bastion ([a-z-]+)/gm)].map((m) => m[1]));
  assert.ok(cmds.size >= 3);
  for (const c of cmds) {
    if (c === '--version') continue;
    const r = spawnSync(BIN, [c, '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `bastion ${c} --help: ${r.stderr}`);
  }
  assert.match(execFileSync(BIN, ['--version'], { encoding: 'utf8' }), /^bastion \d+\.\d+\.\d+/);
});

test("the README's 'Security in five commands' run as written", async () => {
  const readme = read('README.md');
  const block = /## Security in five commands[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'no security block in the README');
  const lines = block[1].trim().split('\n').map((l) => l.replace(/\s+#.*$/, ''));
  assert.equal(lines.length, 5);
  const data = tempDir();
  const env = { ...process.env, BASTION_DATA_DIR: data, OPENAI_API_KEY: 'sk-test-0123456789', PATH: `${path.dirname(BIN)}:${process.env.PATH}` };
  const sh = (cmd, input) => execFileSync('bash', ['-euo', 'pipefail', '-c', cmd], { env, input, encoding: 'utf8' });
  // 1. client add: prints the secret and the config entry.
  const added = sh(lines[0]);
  const secret = /client_secret: (\S+)/.exec(added)[1];
  const entry = added.slice(added.indexOf('    - id:'));
  // 2. secret set, 3. pii scan.
  assert.match(sh(lines[1]), /secret openai stored/);
  const masked = sh(lines[2]);
  assert.ok(!masked.includes('1234-5678') && masked.includes('010-'), masked);
  // 4. token against a server configured with the printed entry.
  const cfg = writeConfig(tempDir(), `auth:\n  clients:\n${entry.replace(/^    /gm, '    ')}`);
  const srv = await startServe(['--config', cfg], { dataDir: data });
  try {
    const token = sh(lines[3].replaceAll('http://127.0.0.1:8080', srv.base), secret);
    assert.equal(token.trim().split('.').length, 3, token);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
  // 5. audit verify (the data directory from BASTION_DATA_DIR).
  assert.match(sh(lines[4]), /^ok: \d+ records/m);
});
