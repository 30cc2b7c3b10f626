// `bastion check-config` reads the whole file as `serve` does, the `auth`
// section included (before, only the server checked it, after binding its
// port): every mistake names FILE:LINE:COL and the key, and exits 1 without
// starting anything or writing to the data directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { BIN, tempDir, writeConfig } from './lib/bastion.mjs';

const HASH = '$argon2id$v=19$m=65536,t=2,p=1$wEWN2eUTlgpM/LQpqB6Dnw$aMbQjoQ7HDVu+BkT1yxBMrPSo4N4shaU19CwJj0Jaj0';

function check(dir, yaml) {
  const cfg = writeConfig(dir, `data_dir: ./data\n${yaml}`);
  return spawnSync(BIN, ['check-config', '--config', cfg], { encoding: 'utf8' });
}

test('check-config: a good auth section passes and nothing is written', () => {
  const dir = tempDir();
  const r = check(dir, `auth:
  token_lifetime: 600
  lockout: {free_failures: 3}
  trusted_proxies: [10.0.0.0/8]
  hash_threads: 2
  clients:
    - id: mcp-client
      secret_hash: '${HASH}'
      scopes: [mcp.access]
  login: {session_lifetime: 600}
  access: {users: {alice: [mcp.access]}}
`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /configuration ok/);
  assert.ok(!existsSync(path.join(dir, 'data')), 'check-config wrote to the data directory');
});

test('check-config: a typo or a bad value in auth is refused with FILE:LINE:COL and the key', () => {
  const dir = tempDir();
  // [configuration after `data_dir` (line 1), the message it must give]
  const cases = [
    ['auth:\n  token_lifetme: 600\n', `3:18: unknown key 'token_lifetme' .*\\(auth\\.token_lifetme\\)`],
    ['auth:\n  token_lifetime: soon\n', '3:19: must be an integer \\(auth\\.token_lifetime\\)'],
    ['auth:\n  lockout:\n    free_failures: 0\n', '4:20: must be between 1 and 1000000 \\(auth\\.lockout\\.free_failures\\)'],
    ['auth:\n  hash_queue: 100000\n', '3:15: must be between 1 and 4096 \\(auth\\.hash_queue\\)'],
    ['auth:\n  trusted_proxies: [proxy.example]\n', "3:3: 'proxy\\.example' is not an IP address .*\\(auth\\.trusted_proxies\\)"],
    ['auth:\n  clients:\n    - id: a\n      secret_hash: hunter2\n', '5:20: must be an \\$argon2id\\$ hash .*\\(auth\\.clients\\.0\\.secret_hash\\)'],
    ['auth:\n  registration: {mode: closed}\n', '3:24: must be one of: open, token, off \\(auth\\.registration\\.mode\\)'],
    ['auth:\n  login:\n    session_lifetme: 600\n', "4:22: unknown key 'session_lifetme' .*\\(auth\\.login\\.session_lifetme\\)"],
    ['auth:\n  access:\n    users: {alice: mcp.access}\n', '4:20: must be a list of strings \\(auth\\.access\\.users\\.alice\\)'],
  ];
  for (const [yaml, want] of cases) {
    const r = check(dir, yaml);
    assert.equal(r.status, 1, `${yaml}\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^bastion: configuration error: .*/bastion\\.yaml:${want}`, 'm'), yaml);
  }
});

// Runs bastion where bubblewrap does not work: in a mount namespace of its
// own with /usr/bin/bwrap replaced by `false` (the host keeps its bwrap).
function withoutBwrap(args) {
  const root = process.getuid() === 0;
  return spawnSync('unshare', [root ? '-m' : '-rm', 'sh', '-c',
    'mount --bind /usr/bin/false /usr/bin/bwrap && exec "$0" "$@"', BIN, ...args],
  { encoding: 'utf8', timeout: 20000 });
}

test('where bwrap does not work, a server that names no runtime is refused, never run unconfined; an explicit process runtime starts', (t) => {
  if (withoutBwrap(['--version']).status !== 0) return t.skip('cannot hide bwrap here (unshare -m)');
  const dir = tempDir();
  const server = 'servers:\n  s:\n    command: python3\n    args: [-c, "pass"]\n';
  const cfg = (yaml) => writeConfig(dir, `data_dir: ./data\n${yaml}`);
  for (const [name, yaml] of [['servers:', server], ['mcpServers:', 'mcpServers:\n  s: {command: python3}\n']]) {
    for (const cmd of ['check-config', 'serve']) {
      const r = withoutBwrap(cmd === 'serve' ? ['serve', '--config', cfg(yaml), '--listen', '127.0.0.1:0'] : [cmd, '--config', cfg(yaml)]);
      assert.equal(r.status, 1, `${name} ${cmd}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /bastion\.yaml:\d+:\d+: .*names no runtime.*bubblewrap.*`runtime:`.*gateway\.default_runtime/s, `${name} ${cmd}`);
    }
  }
  // Chosen knowingly: accepted.
  for (const yaml of [`gateway: {default_runtime: process}\n${server}`, `${server}    runtime: process\n`]) {
    const r = withoutBwrap(['check-config', '--config', cfg(yaml)]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /configuration ok/);
  }
});
