// The audit log against an attacker, end to end: a real `bastion serve` writes
// the log, then each test does what someone with write access to the audit
// directory (but not the signing key) could do, and runs `bastion audit
// verify` as an operator would: it must exit 1 and say where. Also: no token
// in a 401 record, calls to unknown tools audited, a full audit disk (a real
// tmpfs) refusing calls and recovering, and retention that verify accepts
// while a hand deletion still fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  BIN, authYaml, eventually, fetchToken, initialize, newClient, post, startWithConfig, tempDir,
} from './lib/bastion.mjs';
import { fillFilesystem, mountTmpfs } from './lib/disk.mjs';

const bastion = (args) => spawnSync(BIN, args, { encoding: 'utf8' });
const readLines = (f) => readFileSync(f, 'utf8').trimEnd().split('\n');
const writeLines = (f, ls) => writeFileSync(f, ls.map((l) => `${l}\n`).join(''));
const leaf = (line) => createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(line)])).digest('hex');
const logFiles = (dir) => readdirSync(dir).filter((f) => /^audit(-\d{12})?\.log$/.test(f)).sort()
  .sort((a, b) => (a === 'audit.log') - (b === 'audit.log')).map((f) => path.join(dir, f));
const records = (dir) => logFiles(dir).flatMap((f) => readLines(f).map((l) => JSON.parse(l)));
const fingerprintIn = (stderr) => /fingerprint (SHA256:[A-Za-z0-9+/]{43})/.exec(stderr)?.[1];

async function connect(url) {
  const c = new Client({ name: 'audit-test', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url)));
  return c;
}

// A log written by a real serve: `calls` echo calls, then a clean stop (or
// kill -9 after the head had time to be signed).
async function writeLog(yaml, calls, { kill = false } = {}) {
  const s = await startWithConfig(`testkit: {enabled: true}\n${yaml}`);
  const c = await connect(s.url);
  for (let i = 0; i < calls; i++) await c.callTool({ name: 'echo', arguments: { text: `call ${i}` } });
  await c.close();
  if (kill) {
    await new Promise((r) => setTimeout(r, 600));
    s.child.kill('SIGKILL');
  }
  const code = await s.stop();
  if (!kill) assert.equal(code, 0, s.stderr);
  return { s, dir: path.join(s.dataDir, 'audit'), fp: fingerprintIn(s.stderr) };
}

function tampered(r, where, name) {
  assert.equal(r.status, 1, `${name}: not detected\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /^TAMPERED: /m, name);
  if (where) assert.match(r.stdout, where, name);
}

// `audit verify DIR` as an operator runs it: without a pinned key and, once
// the fingerprint is known, with it; both must find the tampering.
function attacked(dir, fp, where, name, extra = []) {
  tampered(bastion(['audit', 'verify', dir, ...extra]), where, `${name} (key not pinned)`);
  if (fp) tampered(bastion(['audit', 'verify', dir, '--key', fp, ...extra]), where, `${name} (--key)`);
}
const intact = (dir, fp, extra = []) => {
  const r = bastion(['audit', 'verify', dir, ...extra, ...(fp ? ['--key', fp] : [])]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return r;
};

test('the key fingerprint is logged at first start and printed by doctor; a pinned verify refuses a log written with another key', async () => {
  const { s, dir, fp } = await writeLog('', 5);
  assert.ok(fp, `no fingerprint logged at first start:\n${s.stderr}`);
  const doctor = bastion(['doctor', '--data-dir', s.dataDir]);
  assert.match(doctor.stdout, new RegExp(`audit key: fingerprint ${fp.replace(/[+/]/g, '\\$&')}`), doctor.stdout);
  const pinned = bastion(['audit', 'verify', dir, '--key', fp]);
  assert.equal(pinned.status, 0, pinned.stdout + pinned.stderr);
  assert.match(pinned.stdout, /^ok: .*\(pinned\)$/m);
  const unpinned = bastion(['audit', 'verify', dir]);
  assert.equal(unpinned.status, 0, unpinned.stdout + unpinned.stderr);
  assert.match(unpinned.stdout, /NOT pinned/);
  assert.match(unpinned.stderr, /warning: the key was not pinned/);
  // Keep a copy of audit.pub elsewhere, as an operator would.
  const pub = path.join(tempDir(), 'audit.pub');
  copyFileSync(path.join(dir, 'audit.pub'), pub);

  // The forger runs their own bastion and puts its whole audit directory
  // (consistent, signed with their key, with their audit.pub) in place.
  const forged = await writeLog('', 5);
  for (const f of readdirSync(dir)) rmSync(path.join(dir, f));
  for (const f of readdirSync(forged.dir)) copyFileSync(path.join(forged.dir, f), path.join(dir, f));
  tampered(bastion(['audit', 'verify', dir, '--key', fp]), /not the pinned key/, '--key');
  tampered(bastion(['audit', 'verify', dir, '--pubkey', pub]), /not the pinned key/, '--pubkey');
  // The configuration can pin it too.
  const cfg = path.join(tempDir(), 'pin.yaml');
  writeFileSync(cfg, `data_dir: ${s.dataDir}\naudit: {key_fingerprint: "${fp}"}\n`);
  tampered(bastion(['audit', 'verify', '--config', cfg]), /not the pinned key/, 'audit.key_fingerprint');
  // Not pinned it is consistent: exit 0, but the warning says what that proves.
  const tofu = bastion(['audit', 'verify', dir]);
  assert.equal(tofu.status, 0);
  assert.match(tofu.stderr, new RegExp(`not pinned.*${forged.fp.replace(/[+/]/g, '\\$&')}`));
  assert.equal(bastion(['audit', 'verify', dir, '--key', 'SHA256:nope']).status, 2);
});

test('verify is strict about the beginning: deleting the oldest file or the first records fails and says where', async () => {
  const { dir, fp } = await writeLog('audit: {max_file_size: 4KiB, checkpoint_every: 20}\n', 40);
  const files = logFiles(dir);
  assert.ok(files.length >= 3, `rotated: ${files}`);
  intact(dir, fp);
  const oldest = readFileSync(files[0]);
  rmSync(files[0]);
  attacked(dir, fp, new RegExp(`${path.basename(files[1])}:1 .*must reach back to its genesis`), 'oldest file deleted');
  // An operator who archived it names the checkpoint the rest begins with.
  const first = Number(/audit-(\d{12})\.log/.exec(files[1])[1]);
  intact(dir, fp, ['--from-checkpoint', String(first)]);
  attacked(dir, fp, null, 'not a checkpoint', ['--from-checkpoint', String(first + 1)]);
  writeFileSync(files[0], oldest);
  for (const cut of [1, 2, 3]) {
    writeLines(files[0], readLines(files[0]).slice(cut));
    attacked(dir, fp, new RegExp(`${path.basename(files[0])}:1 `), `first ${cut} record(s) removed`);
    writeFileSync(files[0], oldest);
  }
  intact(dir, fp);
});

test('records cut from the end fail verify whatever is done to audit.log.head, and bastion refuses to extend such a log', async () => {
  for (const kill of [false, true]) {
    const { s, dir, fp } = await writeLog('', 12, { kill });
    const file = path.join(dir, 'audit.log');
    const headFile = path.join(dir, 'audit.log.head');
    const orig = readLines(file);
    const head = readFileSync(headFile);
    const ok = intact(dir, fp);
    const cut = orig.slice(0, -3);
    const last = JSON.parse(cut.at(-1));
    let h = {};
    try {
      h = JSON.parse(head.toString());
    } catch {
      // (an earlier version's unsigned head)
    }
    const cases = {
      'head kept': head,
      'head deleted': null,
      'head garbled': Buffer.from(head.toString().replace('"seq":', '"seq" ')),
      'head rewritten unsigned (earlier format)': `${String(last.seq).padStart(20, '0')} ${leaf(cut.at(-1))}\n`,
      'head fields moved to the new end': JSON.stringify({ ...h, seq: last.seq, hash: leaf(cut.at(-1)) }).padEnd(511) + '\n',
    };
    for (const [name, content] of Object.entries(cases)) {
      writeLines(file, cut);
      if (content === null) rmSync(headFile);
      else writeFileSync(headFile, content);
      attacked(dir, fp, null, `${kill ? 'kill -9' : 'clean stop'}: ${name}`);
    }
    // Restarted on the cut log (head kept), bastion refuses rather than
    // writing a new head over the evidence.
    writeLines(file, cut);
    writeFileSync(headFile, head);
    const again = spawnSync(BIN, ['serve', '--testkit', '--listen', '127.0.0.1:0', '--data-dir', s.dataDir], { encoding: 'utf8', timeout: 20000 });
    assert.equal(again.status, 1, again.stderr);
    assert.match(again.stderr, /cut from the end.*bastion audit verify/s);
    writeLines(file, orig);
    intact(dir, fp);
    assert.match(ok.stdout, kill ? /writer running\); 0 unsigned/ : /writer stopped cleanly\); 0 unsigned/);
  }
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const echo = (c, text) => c.callTool({ name: 'echo', arguments: { text } });

test('an older signed head put back on a log cut after a later checkpoint fails verify, and bastion refuses to extend it', async () => {
  const s = await startWithConfig('testkit: {enabled: true}\naudit: {checkpoint_every: 3}\n');
  const c = await connect(s.url);
  for (let i = 0; i < 3; i++) await echo(c, `early ${i}`);
  // Someone copies audit.log.head while Bastion runs...
  const dir = path.join(s.dataDir, 'audit');
  const headFile = path.join(dir, 'audit.log.head');
  const oldHead = readFileSync(headFile);
  const oldSeq = JSON.parse(oldHead.toString()).seq;
  await echo(c, 'after the copy');
  // ... the log goes on well past the head's window (200 ms + 500 ms) ...
  await sleep(1500);
  for (let i = 0; i < 6; i++) await echo(c, `later ${i}`);
  await c.close();
  assert.equal(await s.stop(), 0, s.stderr);
  const fp = fingerprintIn(s.stderr);
  intact(dir, fp);
  // ... and later they cut it after a later checkpoint and put the old head back.
  const file = path.join(dir, 'audit.log');
  const ls = readLines(file);
  const cutAt = ls.findLastIndex((l) => l.includes('"reason":"periodic"'));
  assert.ok(JSON.parse(ls[cutAt]).seq > oldSeq + 3, `checkpoint ${cutAt} is not past the old head ${oldSeq}`);
  writeLines(file, ls.slice(0, cutAt + 1));
  writeFileSync(headFile, oldHead);
  attacked(dir, fp, /older than the log it ends/, 'old head, log cut after a later checkpoint');
  // A restart would sign a new head over the cut: refused.
  const again = spawnSync(BIN, ['serve', '--testkit', '--listen', '127.0.0.1:0', '--data-dir', s.dataDir], { encoding: 'utf8', timeout: 20000 });
  assert.equal(again.status, 1, again.stderr);
  assert.match(again.stderr, /older than the log it ends.*bastion audit verify/s);
  attacked(dir, fp, /older than the log it ends/, 'old head, after the refused restart');
});

test('a kill -9 in the middle of calls, right after a 1.5 s stall, still verifies', async () => {
  const s = await startWithConfig('testkit: {enabled: true}\naudit: {checkpoint_every: 3}\n');
  const c = await connect(s.url);
  for (let i = 0; i < 5; i++) await echo(c, `before ${i}`);
  // Stopped (as a paused container or a stalled machine would be), then
  // calls arrive as it resumes and it is killed among them.
  s.child.kill('SIGSTOP');
  await sleep(1500);
  s.child.kill('SIGCONT');
  const calls = Array.from({ length: 20 }, (_, i) => echo(c, `after ${i}`).catch(() => {}));
  await Promise.race([calls[3], sleep(2000)]);
  s.child.kill('SIGKILL');
  await Promise.allSettled(calls);
  await s.stop();
  const dir = path.join(s.dataDir, 'audit');
  const r = intact(dir, fingerprintIn(s.stderr));
  assert.match(r.stdout, /^ok: /m);
});

test('an edit after the last checkpoint (chain re-linked) is caught by the signed head', async () => {
  const { dir, fp } = await writeLog('audit: {checkpoint_every: 100000}\n', 10, { kill: true });
  const file = path.join(dir, 'audit.log');
  const ls = readLines(file);
  const at = ls.findIndex((l) => l.includes('"tool_call"'));
  assert.ok(at > 0 && !ls.slice(at).some((l) => l.includes('"audit_checkpoint"')), 'no checkpoint after the edit');
  ls[at] = ls[at].replace('"outcome":"ok"', '"outcome":"rejected"');
  for (let i = at + 1; i < ls.length; i++) ls[i] = ls[i].replace(/"prev":"[0-9a-f]{64}"/, `"prev":"${leaf(ls[i - 1])}"`);
  writeLines(file, ls);
  // With an unsigned head for the new end, as an earlier version wrote it...
  const headFile = path.join(dir, 'audit.log.head');
  const head = readFileSync(headFile);
  writeFileSync(headFile, `${String(JSON.parse(ls.at(-1)).seq).padStart(20, '0')} ${leaf(ls.at(-1))}\n`);
  attacked(dir, fp, /unsigned/, 'edit after the last checkpoint, head rewritten');
  // ...or with the signed head left as it was.
  writeFileSync(headFile, head);
  attacked(dir, fp, /signed head/, 'edit after the last checkpoint');
});

test('a 401 record holds no query string, header or token; a read hidden by scopes is audited as denied', async () => {
  const cred = newClient('audit-401');
  const narrow = newClient('audit-narrow', ['mcp:tool:testkit/echo']);
  const s = await startWithConfig(`testkit: {enabled: true}\n${authYaml([cred, narrow])}`);
  try {
    // A resource the caller's scopes hide looks unknown to it, and is audited as denied.
    const { access_token: small } = await fetchToken(s.base, narrow);
    const auth = { authorization: `Bearer ${small}` };
    const { sid, version } = await initialize(s.url, '2025-11-25', auth);
    const hidden = await post(s.url, { jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'test://static-text' } },
      { ...auth, 'mcp-session-id': sid, 'mcp-protocol-version': version });
    assert.equal(hidden.json?.error?.code, -32002, hidden.text);
    const { access_token: token } = await fetchToken(s.base, cred);
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
    // Tokens in the query string (RFC 6750 §2.3, which Bastion does not accept).
    const q = await post(`${s.url}?access_token=${token}&other=1`, init);
    assert.equal(q.status, 401);
    const frag = await post(`${s.url}?x=${encodeURIComponent(`Bearer ${token}`)}`, init, { authorization: 'Bearer not.a.valid-token-at-all' });
    assert.equal(frag.status, 401);
  } finally {
    assert.equal(await s.stop(), 0, s.stderr);
  }
  const dir = path.join(s.dataDir, 'audit');
  const text = logFiles(dir).map((f) => readFileSync(f, 'utf8')).join('');
  assert.ok(!text.includes('eyJ'), 'a JWT is in the audit log');
  assert.ok(!text.includes('access_token'), 'a query string is in the audit log');
  assert.ok(!text.includes('not.a.valid-token'), 'a bearer credential is in the audit log');
  const failures = records(dir).filter((r) => r.event_type === 'auth_failure');
  assert.ok(failures.length >= 2);
  // Each failure's first record says where; the interval's count that follows does not.
  for (const r of failures.filter((f) => !f.aggregated)) assert.equal(r.path, '/mcp', JSON.stringify(r));
  const denied = records(dir).filter((r) => r.event_type === 'resource_read');
  assert.deepEqual(denied.map((r) => [r.tool_name, r.outcome, r.client_id]), [['test://static-text', 'denied', narrow.id]]);
});

test('calls to unknown tools, resources and prompts are audited', async () => {
  const s = await startWithConfig('testkit: {enabled: true}\n');
  const { sid, version } = await initialize(s.url);
  const h = { 'mcp-session-id': sid, 'mcp-protocol-version': version };
  const tool = await post(s.url, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'no_such_tool', arguments: {} } }, h);
  assert.ok(tool.json.error, tool.text);
  const res = await post(s.url, { jsonrpc: '2.0', id: 3, method: 'resources/read', params: { uri: 'file:///nope?token=abc' } }, h);
  assert.equal(res.json.error.code, -32002);
  const prompt = await post(s.url, { jsonrpc: '2.0', id: 4, method: 'prompts/get', params: { name: 'no_such_prompt' } }, h);
  assert.ok(prompt.json.error);
  assert.equal(await s.stop(), 0, s.stderr);
  const rs = records(path.join(s.dataDir, 'audit'));
  const unknown = rs.filter((r) => r.outcome === 'unknown');
  assert.deepEqual(unknown.map((r) => [r.event_type, r.tool_name]), [
    ['tool_call', 'no_such_tool'], ['resource_read', 'file:///nope'], ['prompt_get', 'no_such_prompt']]);
  assert.equal(unknown[0].session_id, sid);
  assert.equal(unknown[0].request_id, '2');
});

test('a full audit disk (real tmpfs) refuses calls with a clear error and a metric, and recovers when space returns', async (t) => {
  const mnt = mountTmpfs('1m', 'bastion-audit-tmpfs-');
  if (mnt.skip) return t.skip(mnt.skip);
  try {
    const adir = path.join(mnt, 'audit');
    const s = await startWithConfig(`testkit: {enabled: true}\naudit: {dir: ${adir}, reserve_size: 64KiB}\n`);
    const fp = fingerprintIn(s.stderr);
    const c = await connect(s.url);
    // Fill the filesystem.
    const filler = path.join(mnt, 'filler');
    fillFilesystem(filler);
    let refused;
    let ok = 0;
    for (let i = 0; i < 3000 && !refused; i++) {
      try {
        await c.callTool({ name: 'echo', arguments: { text: `n${i}` } });
        ok++;
      } catch (e) {
        refused = e;
      }
    }
    assert.ok(refused, `no call was refused after ${ok} calls on a full disk`);
    assert.equal(refused.code, -32013, String(refused));
    assert.match(refused.message, /audit log unavailable/i);
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    assert.match(metrics, /^bastion_audit_available 0$/m);
    assert.match(metrics, /^bastion_audit_refused_calls_total [1-9]/m);
    // Space comes back: calls are accepted again without a restart.
    rmSync(filler);
    const back = await eventually(async () => {
      try {
        return await c.callTool({ name: 'echo', arguments: { text: 'after' } });
      } catch {
        return null;
      }
    });
    assert.ok(back && !back.isError, 'calls were not accepted again after space returned');
    assert.match(await (await fetch(`${s.base}/metrics`)).text(), /^bastion_audit_available 1$/m);
    await c.close();
    assert.equal(await s.stop(), 0, s.stderr);
    const v = bastion(['audit', 'verify', adir, '--key', fp]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    const outage = records(adir).filter((r) => r.event_type === 'audit_unavailable');
    assert.equal(outage.length, 1);
    assert.ok(outage[0].refused_calls >= 1, JSON.stringify(outage[0]));
    // Every call that was answered is in the log.
    assert.equal(records(adir).filter((r) => r.event_type === 'tool_call' && r.outcome === 'ok').length, ok + 1);
  } finally {
    execFileSync('umount', ['-l', mnt]);
  }
});

test('retention removes old files by its limits and records it; verify passes on what remains, a hand deletion still fails', async () => {
  const { s, dir, fp } = await writeLog('audit: {max_file_size: 4KiB, max_total_size: 16KiB}\n', 80);
  const files = logFiles(dir);
  assert.ok(!existsSync(path.join(dir, 'audit-000000000001.log')), 'the oldest file was kept');
  const total = files.reduce((n, f) => n + readFileSync(f).length, 0);
  assert.ok(total <= 20 * 1024, `${total} bytes kept`);
  const removed = records(dir).filter((r) => r.event_type === 'audit_retention');
  assert.ok(removed.length >= 1);
  assert.equal(removed.at(-1).reason, 'max_total_size');
  const v = intact(dir, fp);
  assert.match(v.stdout, /note: the log begins at seq \d+: .*retention/);
  // Retention settings are checked by doctor too.
  assert.match(bastion(['doctor', '--data-dir', s.dataDir]).stdout, /audit retention: rotated files removed beyond/);
  rmSync(files[0]);
  attacked(dir, fp, /must reach back to seq \d+ \(retention/, 'hand deletion after retention');
});
