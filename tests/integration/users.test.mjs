// `bastion user add|rm|passwd|list`: the local users of the sign-in pages,
// stored in the data directory. The real binary, passwords on stdin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { BIN, tempDir, writeConfig } from './lib/bastion.mjs';

function bastion(args, input = '') {
  const r = spawnSync(BIN, args, { input, encoding: 'utf8', timeout: 30000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('add, list, passwd and rm a user; nothing on disk reveals the password', () => {
  const dir = tempDir();
  const d = ['--data-dir', dir];
  let r = bastion(['user', 'add', 'alice', ...d], 'correct horse battery\n');
  assert.equal(r.code, 0, r.err);
  r = bastion(['user', 'add', 'alice', ...d], 'another password\n');
  assert.equal(r.code, 1);
  assert.match(r.err, /user alice exists/);
  r = bastion(['user', 'add', 'bob@example.com', ...d], 'bobs long password\n');
  assert.equal(r.code, 0, r.err);

  r = bastion(['user', 'list', '--json', ...d]);
  assert.equal(r.code, 0, r.err);
  const list = JSON.parse(r.out);
  assert.deepEqual(list.map((u) => u.name), ['alice', 'bob@example.com']);
  assert.ok(!r.out.includes('argon2'), 'list shows no hash');

  assert.equal(statSync(path.join(dir, 'auth')).mode & 0o777, 0o700, 'the server refuses a readable auth directory');
  const users = path.join(dir, 'auth', 'users');
  assert.equal(statSync(users).mode & 0o777, 0o700);
  for (const f of readdirSync(users).filter((f) => f.endsWith('.json'))) {
    assert.equal(statSync(path.join(users, f)).mode & 0o777, 0o600);
    const text = readFileSync(path.join(users, f), 'utf8');
    assert.ok(!text.includes('correct horse'), 'the password is not stored');
    assert.match(text, /\$argon2id\$/);
  }

  const before = JSON.parse(bastion(['user', 'list', '--json', ...d]).out)[0].password_changed;
  r = bastion(['user', 'passwd', 'alice', ...d], 'a brand new password\n');
  assert.equal(r.code, 0, r.err);
  const after = JSON.parse(bastion(['user', 'list', '--json', ...d]).out)[0].password_changed;
  assert.ok(after > before, `${after} > ${before}`);

  r = bastion(['user', 'rm', 'alice', ...d]);
  assert.equal(r.code, 0, r.err);
  r = bastion(['user', 'rm', 'alice', ...d]);
  assert.equal(r.code, 1);
  assert.match(r.err, /no user alice/);
  r = bastion(['user', 'passwd', 'alice', ...d], 'whatever password\n');
  assert.equal(r.code, 1);
  assert.deepEqual(JSON.parse(bastion(['user', 'list', '--json', ...d]).out).map((u) => u.name), ['bob@example.com']);
});

test('bad names, short passwords and a missing password are refused with a reason', () => {
  const dir = tempDir();
  const d = ['--data-dir', dir];
  for (const bad of ['corp|alice', '../x', 'a b', '<script>', 'x'.repeat(65)]) {
    const r = bastion(['user', 'add', bad, ...d], 'long enough password\n');
    assert.equal(r.code, 2, bad);
    assert.match(r.err, /user name/, bad);
  }
  let r = bastion(['user', 'add', 'carol', ...d], 'short\n');
  assert.notEqual(r.code, 0);
  assert.match(r.err, /at least 8/);
  r = bastion(['user', 'add', 'carol', ...d], '');
  assert.equal(r.code, 2);
  assert.match(r.err, /no password on stdin/);
  assert.deepEqual(JSON.parse(bastion(['user', 'list', '--json', ...d]).out), []);
});

test('the users live under auth.data_dir when the configuration sets one', () => {
  const dir = tempDir();
  const authDir = path.join(dir, 'elsewhere');
  const config = writeConfig(dir, `data_dir: ${path.join(dir, 'data')}\nauth:\n  data_dir: ${authDir}\n`);
  const r = bastion(['user', 'add', 'dave', '--config', config], 'daves long password\n');
  assert.equal(r.code, 0, r.err);
  assert.ok(readdirSync(path.join(authDir, 'users')).some((f) => f.endsWith('.json')));
  assert.deepEqual(JSON.parse(bastion(['user', 'list', '--json', '--config', config]).out).map((u) => u.name), ['dave']);
});
