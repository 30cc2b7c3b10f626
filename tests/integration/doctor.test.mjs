// `bastion doctor` reports what is wrong and how to fix it, and exits 1 then.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { BIN, tempDir, writeConfig } from './lib/bastion.mjs';

test('doctor passes a sound setup and names each problem in a broken one', () => {
  const dir = tempDir();
  const data = path.join(dir, 'data');
  mkdirSync(data, { mode: 0o700 });
  const good = writeConfig(dir, `listen: 127.0.0.1:0\nservers:\n  w:\n    command: python3\n    args: [x.py]\n`);
  let r = spawnSync(BIN, ['doctor', '--config', good, '--data-dir', data], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\[ok {2}\] bubblewrap/);
  assert.match(r.stdout, /\[ok {2}\] server w: python3 under bwrap/);
  assert.match(r.stdout, /all checks passed/);

  chmodSync(data, 0o755);
  const bad = writeConfig(dir, `listen: 127.0.0.1:0\nservers:\n  w:\n    command: no-such-mcp-server\n    paths: {read_only: [/nonexistent/dir]}\n`, 'bad.yaml');
  r = spawnSync(BIN, ['doctor', '--config', bad, '--data-dir', data], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /\[FAIL\] data directory: .* chmod 700/);
  assert.match(r.stdout, /\[FAIL\] server w: command 'no-such-mcp-server' not found/);
  assert.match(r.stdout, /\[FAIL\] server w: granted path \/nonexistent\/dir does not exist/);

  const broken = writeConfig(dir, `listen: nowhere\n`, 'broken.yaml');
  r = spawnSync(BIN, ['doctor', '--config', broken], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /\[FAIL\] configuration: .*broken\.yaml:1:\d+/);
});
