// The security engine end to end, against the real binary: PII policies on
// real tool calls (mask, reject, encrypt with tokens Python's `cryptography`
// decrypts), Fernet interoperability both ways, the audit log and
// `bastion audit verify` against edits, deletions, reordering and truncation,
// a `kill -9` under load, secrets kept out of files, logs, errors and results
// (also when base64-, hex- or URL-encoded), the seed's security tools and the
// CLI helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, lstatSync, openSync, readFileSync, readSync, readdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CreateMessageRequestSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { BIN, SOURCE_DIR, initialize, post, startServe, startWithConfig, tempDir, writeConfig } from './lib/bastion.mjs';

const PY = 'python3';
const fernetKey = (dataDir) =>
  readFileSync(path.join(dataDir, 'security', 'fernet.keys'), 'utf8').split('\n').find((l) => l && !l.startsWith('#'));
const python = (code, input = '') => execFileSync(PY, ['-c', code], { input }).toString();
const bastion = (args, input) => spawnSync(BIN, args, { input, encoding: 'utf8' });

async function connect(url) {
  const c = new Client({ name: 'security-test', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url)));
  return c;
}

test('Fernet tokens cross between bastion and Python cryptography both ways', () => {
  const data = tempDir();
  const mine = bastion(['encrypt', '--data-dir', data], '홍길동님 010-1234-5678');
  assert.equal(mine.status, 0, mine.stderr);
  const key = fernetKey(data);
  const theirs = python(
    'import sys\nfrom cryptography.fernet import Fernet\nk,t=sys.stdin.read().split()\nsys.stdout.write(Fernet(k.encode()).decrypt(t.encode()).decode())',
    `${key} ${mine.stdout.trim()}`);
  assert.equal(theirs, '홍길동님 010-1234-5678');
  const token = python(
    'import sys\nfrom cryptography.fernet import Fernet\nsys.stdout.write(Fernet(sys.stdin.read().strip().encode()).encrypt("from python".encode()).decode())',
    key);
  const back = bastion(['decrypt', '--data-dir', data], token);
  assert.equal(back.status, 0, back.stderr);
  assert.equal(back.stdout, 'from python');
  // A tampered token is refused with a reason, exit 1.
  const bad = bastion(['decrypt', '--data-dir', data], token.slice(0, -6) + 'AAAAAA');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /cannot decrypt/);
  // Rotation: the old token still decrypts; new ones use the new key, which Python reads too.
  const rot = bastion(['keys', 'rotate', '--data-dir', data]);
  assert.equal(rot.status, 0, rot.stderr);
  assert.equal(bastion(['decrypt', '--data-dir', data], token).stdout, 'from python');
  const fresh = bastion(['encrypt', '--data-dir', data], 'after rotation').stdout.trim();
  const keys = readFileSync(path.join(data, 'security', 'fernet.keys'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  assert.equal(keys.length, 2);
  assert.equal(python(
    'import sys\nfrom cryptography.fernet import Fernet, MultiFernet\nk1,k2,t=sys.stdin.read().split()\nsys.stdout.write(Fernet(k1.encode()).decrypt(t.encode()).decode())',
    `${keys[0]} ${keys[1]} ${fresh}`), 'after rotation');
});

test('PII policies on real tool calls: mask, reject (types only), encrypt', async () => {
  const s = await startWithConfig(`testkit: {enabled: true}
security:
  pii:
    default: mask
    types: {rrn: reject}
    tools:
      echo: {directions: {request: {action: encrypt}}}
`);
  try {
    const c = await connect(s.url);
    // echo's arguments are encrypted before the tool sees them: the client
    // gets a Fernet token that Python decrypts to the original value.
    const enc = await c.callTool({ name: 'echo', arguments: { text: 'mail kim.minsu@example.com now' } });
    const out = enc.content[0].text;
    assert.ok(!out.includes('kim.minsu@example.com'), out);
    const tok = /gAAAAA[A-Za-z0-9_=-]+/.exec(out)?.[0];
    assert.ok(tok, out);
    assert.equal(python(
      'import sys\nfrom cryptography.fernet import Fernet\nk,t=sys.stdin.read().split()\nsys.stdout.write(Fernet(k.encode()).decrypt(t.encode()).decode())',
      `${fernetKey(s.dataDir)} ${tok}`), 'kim.minsu@example.com');
    // Elsewhere the default applies: prompt arguments are masked by type
    // before the prompt is rendered.
    const p = await c.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'kim@example.com', arg2: '010-1234-5678' } });
    const rendered = JSON.stringify(p.messages);
    assert.ok(!rendered.includes('kim@example.com') && !rendered.includes('1234-5678'), rendered);
    assert.match(rendered, /\*\*\*@example\.com/);
    assert.match(rendered, /010-\*\*\*\*-5678/);
    // An RRN anywhere is rejected, naming the type and never the value.
    const rej = await c.callTool({ name: 'echo', arguments: { text: '주민번호 900101-1234568' } }).then(
      (x) => x, (e) => e);
    const msg = rej instanceof Error ? rej.message : JSON.stringify(rej);
    assert.match(msg, /rrn/);
    assert.ok(!msg.includes('900101'), msg);
    await c.close();
    // The audit log holds types, counts and decisions, not the values.
    const log = readFileSync(path.join(s.dataDir, 'audit', 'audit.log'), 'utf8');
    assert.ok(!log.includes('kim.minsu'), 'PII in the audit log');
    assert.ok(!log.includes('900101'), 'PII in the audit log');
    const calls = log.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event_type === 'tool_call');
    assert.ok(calls.some((e) => e.action_taken === 'encrypted' && e.pii.email === 1), JSON.stringify(calls));
    assert.ok(calls.some((e) => e.outcome === 'rejected' && e.pii.rrn === 1), JSON.stringify(calls));
    for (const e of calls)
      for (const k of ['timestamp' in e ? 'timestamp' : 'ts', 'tool_name', 'user_id', 'client_id', 'contains_pii', 'action_taken', 'parameter_count'])
        assert.ok(k in e, `${k} missing in ${JSON.stringify(e)}`);
  } finally {
    assert.equal(await s.stop(), 0, s.stderr);
  }
});

test('audit verify finds edited, deleted, reordered and truncated records and says where', async () => {
  const s = await startWithConfig('testkit: {enabled: true}\naudit: {checkpoint_every: 5}\n');
  const c = await connect(s.url);
  for (let i = 0; i < 12; i++) await c.callTool({ name: 'echo', arguments: { text: `call ${i}` } });
  await c.close();
  assert.equal(await s.stop(), 0, s.stderr);
  const dir = path.join(s.dataDir, 'audit');
  const file = path.join(dir, 'audit.log');
  const orig = readFileSync(file, 'utf8');
  const ok = bastion(['audit', 'verify', dir]);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^ok: \d+ records/m);
  const lines = orig.trimEnd().split('\n');
  const cases = {
    'edit a byte': () => { const l = [...lines]; l[4] = l[4].replace('call', 'cals'); return l.join('\n') + '\n'; },
    'drop a line': () => lines.filter((_, i) => i !== 6).join('\n') + '\n',
    'swap two lines': () => { const l = [...lines]; [l[3], l[4]] = [l[4], l[3]]; return l.join('\n') + '\n'; },
    'truncate records': () => lines.slice(0, -2).join('\n') + '\n',
    'truncate inside a record': () => orig.slice(0, orig.length - 40),
  };
  for (const [name, make] of Object.entries(cases)) {
    writeFileSync(file, make());
    const r = bastion(['audit', 'verify', dir]);
    assert.equal(r.status, 1, `${name}: not detected\n${r.stdout}`);
    assert.match(r.stdout, /TAMPERED: .*audit\.log:\d+/, name);
  }
  writeFileSync(file, orig);
  assert.equal(bastion(['audit', 'verify', dir]).status, 0);
});

test('kill -9 under load: every acknowledged call is in the log and the log verifies', async () => {
  const s = await startWithConfig('testkit: {enabled: true}\naudit: {sync: interval, checkpoint_every: 50}\n');
  const acked = [];
  let stop = false;
  const worker = async () => {
    const { sid } = await initialize(s.url);
    for (let id = 10; !stop; id++) {
      try {
        const r = await post(s.url, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text: `n${id}` } } },
          { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' });
        if (r.status === 200 && r.json?.result) acked.push(`${sid}/${id}`);
      } catch {
        return;  // the server is gone
      }
    }
  };
  const workers = Array.from({ length: 8 }, worker);
  while (acked.length < 400) await new Promise((r) => setTimeout(r, 20));
  s.child.kill('SIGKILL');
  stop = true;
  await Promise.allSettled(workers);
  const dir = path.join(s.dataDir, 'audit');
  const logged = new Set(readFileSync(path.join(dir, 'audit.log'), 'utf8').trimEnd().split('\n')
    .map((l) => JSON.parse(l)).filter((e) => e.event_type === 'tool_call').map((e) => `${e.session_id}/${e.request_id}`));
  const missing = acked.filter((a) => !logged.has(a));
  assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged calls are not in the log`);
  const v = bastion(['audit', 'verify', dir]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  // Restarting on the same log resumes the chain and says the last stop was unclean.
  const again = await startWithConfig('testkit: {enabled: true}\n', [], { dataDir: s.dataDir });
  assert.equal(await again.stop(), 0);
  const tail = readFileSync(path.join(dir, 'audit.log'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.ok(tail.some((e) => e.event_type === 'audit_start' && e.clean_shutdown === false));
  assert.equal(bastion(['audit', 'verify', dir]).status, 0);
});

test('two stdio instances and a serve on one data directory extend one audit chain', async () => {
  // What a laptop sees: Claude and Cursor each spawn `bastion stdio` while a
  // `bastion serve` runs, all on the default data directory.
  const yaml = 'testkit: {enabled: true}\naudit: {checkpoint_every: 7, max_file_size: 8KiB}\n';
  const cfg = writeConfig(tempDir('bastion-cfg-'), yaml);
  const s = await startWithConfig(yaml);
  const stdio = async () => {
    const c = new Client({ name: 'shared-audit-test', version: '1' });
    await c.connect(new StdioClientTransport({
      command: BIN, args: ['stdio', '--config', cfg, '--data-dir', s.dataDir], stderr: 'pipe' }));
    return c;
  };
  const clients = [await stdio(), await stdio(), await connect(s.url)];
  let n = 0;
  await Promise.all(clients.map(async (c, k) => {
    for (let i = 0; i < 40; i++) {
      const r = await c.callTool({ name: 'echo', arguments: { text: `c${k}-${i}` } });
      assert.equal(r.isError ?? false, false, JSON.stringify(r));
      n++;
    }
  }));
  for (const c of clients) await c.close();
  assert.equal(await s.stop(), 0, s.stderr);
  const dir = path.join(s.dataDir, 'audit');
  const v = bastion(['audit', 'verify', dir]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  const files = readdirSync(dir).filter((f) => /^audit.*\.log$/.test(f)).sort();
  assert.ok(files.length > 2, `the writers rotated for each other: ${files}`);
  const records = files.flatMap((f) => readFileSync(path.join(dir, f), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l)));
  assert.equal(records.filter((e) => e.event_type === 'tool_call').length, n);
  assert.equal(records.filter((e) => e.event_type === 'audit_start' && e.other_writers === true).length, 2);
});

test('secrets: encrypted at rest, injected into one server, scrubbed from logs, errors and results', async () => {
  const data = tempDir();
  const value = 'sk-live-7f3a9c1e5b2d4f60';
  const set = bastion(['secret', 'set', 'evil-key', '--data-dir', data], value + '\n');
  assert.equal(set.status, 0, set.stderr);
  assert.match(set.stdout, /stored, encrypted with Fernet key fk_/);
  assert.ok(!readFileSync(path.join(data, 'security', 'secrets.json'), 'utf8').includes(value));
  assert.equal(bastion(['secret', 'list', '--data-dir', data]).stdout, 'evil-key\n');
  const evil = `    command: ${PY}\n    args: [${SOURCE_DIR}/tests/sandbox/malicious_server.py]\n    runtime: bwrap\n`;
  const s = await startWithConfig(`servers:
  evil:
${evil}    secrets: {API_KEY: evil-key}
  other:
${evil}`, [], { dataDir: data });
  try {
    const c = await connect(s.url);
    const got = await c.callTool({ name: 'evil__leak_secret', arguments: { var: 'API_KEY' } });
    assert.equal(got.content[0].text, 'my key is ***');
    const err = await c.callTool({ name: 'evil__leak_secret', arguments: { var: 'API_KEY', fail: true } }).then((x) => x, (e) => e);
    const text = err instanceof Error ? err.message : JSON.stringify(err);
    assert.match(text, /upstream rejected key \*\*\*/);
    // The key in a log notification, a progress message and a sampling
    // request the upstream sends while the call runs: scrubbed on the way.
    const relayed = [];
    const sc = new Client({ name: 'security-test', version: '1' }, { capabilities: { sampling: {} } });
    sc.setNotificationHandler(LoggingMessageNotificationSchema, (n) => relayed.push(JSON.stringify(n.params)));
    sc.setRequestHandler(CreateMessageRequestSchema, (r) => {
      relayed.push(JSON.stringify(r.params));
      return { model: 'none', role: 'assistant', content: { type: 'text', text: 'ok' } };
    });
    await sc.connect(new StreamableHTTPClientTransport(new URL(s.url)));
    const viaRelay = await sc.callTool({ name: 'evil__leak_secret', arguments: { var: 'API_KEY', relay: true } }, undefined,
      { onprogress: (p) => relayed.push(JSON.stringify(p)) });
    assert.equal(viaRelay.content[0].text, 'my key is ***');
    await sc.close();
    assert.equal(relayed.length, 3, relayed.join('\n'));
    assert.match(relayed.join('\n'), /using key \*\*\*[^]*key \*\*\*[^]*my key is \*\*\*/);
    assert.ok(!relayed.join('').includes(value), 'the secret reached the client');
    // Only the server that names the secret gets it.
    const env = await c.callTool({ name: 'other__whoami', arguments: {} });
    assert.ok(!('API_KEY' in env.structuredContent.env));
    await c.close();
  } finally {
    assert.equal(await s.stop(), 0);
  }
  assert.match(s.stderr, /debug: using key \*\*\*/);
  assert.ok(!s.stderr.includes(value), 'the secret reached the log');
  const audit = readFileSync(path.join(data, 'audit', 'audit.log'), 'utf8');
  assert.ok(!audit.includes(value));
  assert.match(audit, /"event_type":"secret_used","secret":"evil-key"/);
  for (const m of ['notifications/message', 'notifications/progress', 'sampling/createMessage'])
    assert.match(audit, new RegExp(`"event_type":"secret_redacted","method":"${m}"`));
  assert.match(s.stderr, /a secret was redacted from sampling\/createMessage sent to session/);
  // A server whose secret is missing does not start, and says how to fix it.
  const m = await startWithConfig(`servers:\n  evil:\n${evil}    secrets: {API_KEY: nope}\n`);
  const c2 = await connect(m.url);
  const r = await c2.callTool({ name: 'evil__whoami', arguments: {} }).then((x) => x, (e) => e);
  await c2.close();
  await m.stop();
  assert.match(`${r instanceof Error ? r.message : JSON.stringify(r)}\n${m.stderr}`, /bastion secret set nope/);
});

// What tests/sandbox/malicious_server.py's leak_secret prints with `encode`:
// the key in base64 at each byte alignment, base64url, hex and percent forms.
function encodedForms(value) {
  const b = Buffer.from(value);
  const b64 = (x) => Buffer.from(x).toString('base64');
  const url = encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return {
    b64: b64(b),
    b64url: b.toString('base64url'),
    basic: `Basic ${b64(`user:${value}`)}`,
    blob: b64(`x${value}!tail`),
    hex: b.toString('hex'),
    HEX: b.toString('hex').toUpperCase(),
    url,
    urllower: url.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    form: url.replace(/%20/g, '+'),
  };
}

test('secrets: scrubbed also in their base64, hex and URL-encoded forms from results, errors, relayed messages and the log', async () => {
  const data = tempDir();
  // A space, reserved characters and bytes whose base64 holds '+' and '/'
  // at every alignment, so each encoding differs from the value and base64url
  // from base64.
  const value = 'sk live/7f3a+9c1e?5b2d&4f60~>';
  const forms = encodedForms(value);
  for (const f of ['b64', 'basic', 'blob']) assert.match(forms[f], /[+/]/, f);
  assert.equal(bastion(['secret', 'set', 'enc-key', '--data-dir', data], value + '\n').status, 0);
  const s = await startWithConfig(`servers:
  evil:
    command: ${PY}
    args: [${SOURCE_DIR}/tests/sandbox/malicious_server.py]
    runtime: bwrap
    secrets: {API_KEY: enc-key}
`, [], { dataDir: data });
  // Each labelled form the upstream printed, as it arrived: no encoded form
  // (nor the value) left whole, and exactly this left of them: the base64
  // characters that also encode neighbouring bytes ('user:', 'x', '!tail',
  // the last bits and the padding) stay.
  const scrubbed = (where, text) => {
    for (const [label, form] of Object.entries(forms))
      assert.ok(!text.includes(form), `${label} form reached ${where}: ${text}`);
    assert.ok(!text.includes(value), `the value reached ${where}`);
    assert.ok(text.includes('b64=***4= b64url=***4 basic=Basic dXNlcjp***g== blob=eH***IXRhaWw= ' +
      'hex=*** HEX=*** url=*** urllower=*** form=***'), `${where}: ${text}`);
  };
  try {
    const c = await connect(s.url);
    const got = await c.callTool({ name: 'evil__leak_secret', arguments: { var: 'API_KEY', encode: true } });
    scrubbed('the result', got.content[0].text);
    const err = await c.callTool({ name: 'evil__leak_secret', arguments: { var: 'API_KEY', encode: true, fail: true } }).then((x) => x, (e) => e);
    assert.ok(err instanceof Error, JSON.stringify(err));
    scrubbed('the error', err.message);
    await c.close();
    const relayed = [];
    const sc = new Client({ name: 'security-test', version: '1' }, { capabilities: { sampling: {} } });
    sc.setNotificationHandler(LoggingMessageNotificationSchema, (n) => relayed.push(n.params.data));
    sc.setRequestHandler(CreateMessageRequestSchema, (r) => {
      relayed.push(r.params.messages[0].content.text);
      return { model: 'none', role: 'assistant', content: { type: 'text', text: 'ok' } };
    });
    await sc.connect(new StreamableHTTPClientTransport(new URL(s.url)));
    await sc.callTool({ name: 'evil__leak_secret', arguments: { var: 'API_KEY', encode: true, relay: true } }, undefined,
      { onprogress: (p) => relayed.push(p.message) });
    await sc.close();
    assert.equal(relayed.length, 3, relayed.join('\n'));
    for (const r of relayed) scrubbed('a relayed message', r);
  } finally {
    assert.equal(await s.stop(), 0, s.stderr);
  }
  const logged = s.stderr.split('\n').filter((l) => l.includes('debug: using key'));
  assert.equal(logged.length, 3, s.stderr);
  for (const l of logged) scrubbed('the log', l);
  // Each redaction is noted: in the record of each of the three calls, and as
  // an event for each relayed message.
  const audit = readFileSync(path.join(data, 'audit', 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const calls = audit.filter((e) => e.event_type === 'tool_call');
  assert.deepEqual(calls.map((e) => e.secrets_redacted), [1, 1, 1], JSON.stringify(calls));
  assert.deepEqual(audit.filter((e) => e.event_type === 'secret_redacted').map((e) => e.method).sort(),
    ['notifications/message', 'notifications/progress', 'sampling/createMessage']);
});

test("the seed's security tools work on the live log and keys", async () => {
  const s = await startWithConfig('builtin_tools: {security: true}\n');
  try {
    const c = await connect(s.url);
    const det = await c.callTool({ name: 'test_pii_detection', arguments: { text: '김철수님 전화 010-9876-5432, 카드 4111 1111 1111 1111' } });
    const types = det.structuredContent.findings.map((f) => f.type).sort();
    assert.ok(types.includes('phone') && types.includes('korean_name') && types.includes('credit_card'), JSON.stringify(types));
    assert.ok(!JSON.stringify(det).includes('9876-5432'), 'raw PII in the report');
    const enc = await c.callTool({ name: 'test_encryption', arguments: { text: 'secret note' } });
    assert.equal(enc.structuredContent.round_trip_ok, true);
    const dec = await c.callTool({ name: 'test_encryption', arguments: { token: enc.structuredContent.fernet_token } });
    assert.equal(dec.structuredContent.plaintext, 'secret note');
    const breach = await c.callTool({ name: 'simulate_data_breach_detection', arguments: { records: 20 } });
    assert.ok(breach.structuredContent.total_findings >= 100 || JSON.stringify(breach).includes('rrn'));
    for (let i = 0; i < 5; i++) await c.callTool({ name: 'test_pii_detection', arguments: { text: `x${i}@example.com` } });
    const page1 = await c.callTool({ name: 'get_security_audit_log', arguments: { event_type: 'tool_call', limit: 3 } });
    assert.equal(page1.structuredContent.records.length, 3);
    assert.ok(page1.structuredContent.nextCursor);
    const page2 = await c.callTool({ name: 'get_security_audit_log', arguments: { event_type: 'tool_call', limit: 3, cursor: page1.structuredContent.nextCursor } });
    assert.ok(page2.structuredContent.records[0].seq < page1.structuredContent.records[2].seq);
    const bad = await c.callTool({ name: 'get_security_audit_log', arguments: { cursor: 'nope' } }).then((x) => x, (e) => e);
    assert.match(bad instanceof Error ? bad.message : JSON.stringify(bad), /cursor/);
    const rep = await c.callTool({ name: 'generate_security_report', arguments: {} });
    const R = rep.structuredContent;
    assert.ok(R.events_by_type.tool_call >= 9, JSON.stringify(R));
    assert.ok(R.top_tools.some((t) => t.tool === 'test_pii_detection' && t.count >= 6));
    assert.equal(R.audit_integrity.verified, true);
    await c.close();
  } finally {
    assert.equal(await s.stop(), 0);
  }
});

test('bastion pii scan reports, masks and rejects', () => {
  const text = '연락처 010-1234-5678, 메일 lee@example.com, 날씨가 좋네요';
  const r = bastion(['pii', 'scan', '--json'], text);
  assert.equal(r.status, 3, r.stderr);
  const types = JSON.parse(r.stdout).map((f) => f.type).sort();
  assert.deepEqual(types, ['email', 'phone']);
  const m = bastion(['pii', 'scan', '--policy', 'mask'], text);
  assert.equal(m.status, 0);
  assert.ok(!m.stdout.includes('1234-5678') && m.stdout.includes('날씨가 좋네요'), m.stdout);
  const j = bastion(['pii', 'scan', '--policy', 'reject'], text);
  assert.equal(j.status, 3);
  assert.match(j.stderr, /email/);
  assert.ok(!j.stderr.includes('lee@'));
  assert.equal(bastion(['pii', 'scan'], 'nothing to see').status, 0);
  // Input longer than one read, with a NUL byte: all of it is read, masked
  // and written back (a C string would stop at the NUL).
  const big = `${'x'.repeat(600000)}\0 010-9876-5432 end`;
  const b = bastion(['pii', 'scan', '--policy', 'mask'], big);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stdout.length, big.length);
  assert.ok(b.stdout.endsWith('\0 010-****-5432 end'), JSON.stringify(b.stdout.slice(-30)));
  const lines = bastion(['pii', 'scan'], big);
  assert.equal(lines.status, 3, lines.stderr);
  assert.deepEqual(lines.stdout.trim().split('\n').map((l) => JSON.parse(l).type), ['phone']);
  // Standard input a regular file (read at its size, not by growing) and
  // more findings than one 64 KiB output chunk holds: every finding, whole
  // and in order, in both output forms.
  const file = path.join(tempDir('pii-scan'), 'records.txt');
  const records = Array.from({ length: 4000 }, (_, i) => `record ${i}: 010-${1000 + i}-5678;`).join('\n');
  writeFileSync(file, records);
  for (const json of [false, true]) {
    const found = scanFile(file, json);
    assert.equal(found.length, 4000);
    found.forEach((x, i) => {
      assert.equal(x.type, 'phone');
      assert.equal(records.slice(x.begin, x.end), `010-${1000 + i}-5678`);
    });
  }
  // A regular file is mapped from where standard input stands, not from its
  // start (a caller that read part of it first): 5,000 bytes in, an offset
  // that is no page boundary, the findings are those of the rest, counted
  // from there. The same bytes through a pipe give the same lines.
  const fd = openSync(file, 'r');
  readSync(fd, Buffer.alloc(5000), 0, 5000, null);
  const rest = spawnSync(BIN, ['pii', 'scan'], { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 26 });
  closeSync(fd);
  assert.equal(rest.status, 3, rest.stderr);
  const tail = records.slice(5000);
  const got = rest.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(got.length, tail.match(/010-\d{4}-5678/g).length);
  for (const x of got) assert.match(tail.slice(x.begin, x.end), /^010-\d{4}-5678$/);
  assert.equal(bastion(['pii', 'scan'], tail).stdout, rest.stdout);
});

// `bastion pii scan` with a regular file as standard input, in one output
// form or the other (lines or one JSON array): its findings, parsed. Exit 3
// (findings) is expected.
function scanFile(file, json) {
  const fd = openSync(file, 'r');
  const r = spawnSync(BIN, ['pii', 'scan', ...(json ? ['--json'] : [])], { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 27 });
  closeSync(fd);
  assert.equal(r.status, 3, r.stderr);
  return json ? JSON.parse(r.stdout) : r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
}

// 400,000 addresses (7.6 MB): a report of many of the scan's batches and of
// many of the writer's 256 KiB chunks (pii/report.hpp).
let manyAddresses;
const addressesFile = () => {
  if (!manyAddresses) {
    manyAddresses = { file: path.join(tempDir('pii-scan-many'), 'mails.txt'), n: 400000 };
    writeFileSync(manyAddresses.file, Array.from({ length: manyAddresses.n }, (_, i) => `a${i}@example.com`).join('\n'));
  }
  return manyAddresses;
};

test('bastion pii scan writes a report of many batches whole and in order', () => {
  const { file, n } = addressesFile();
  const text = readFileSync(file, 'utf8');
  for (const json of [false, true]) {
    const found = scanFile(file, json);
    assert.equal(found.length, n);
    const misplaced = found.findIndex((f, i) => f.type !== 'email' || text.slice(f.begin, f.end) !== `a${i}@example.com`);
    assert.equal(misplaced, -1, misplaced >= 0 ? JSON.stringify(found[misplaced]) : '');
  }
});

test('bastion pii scan whose reader closes early stops writing and exits as it would have', async () => {
  // Far more report than a pipe holds: the reader takes the first chunk and
  // closes its end, so the writes fail with EPIPE (SIGPIPE is ignored). The
  // command neither hangs (a scan waiting for room a stopped writer never
  // makes) nor dies by a signal nor prints an error: exit 3, as when every
  // line is read.
  const { file } = addressesFile();
  for (const json of [false, true]) {
    const fd = openSync(file, 'r');
    const child = spawn(BIN, ['pii', 'scan', ...(json ? ['--json'] : [])], { stdio: [fd, 'pipe', 'pipe'] });
    closeSync(fd);
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    let first = '';
    child.stdout.once('data', (d) => {
      first = d.toString();
      child.stdout.destroy();
    });
    // A hang is the failure looked for: a generous minute, then it is killed.
    const hung = setTimeout(() => child.kill('SIGKILL'), 60000);
    const [code, signal] = await once(child, 'close');
    clearTimeout(hung);
    assert.deepEqual({ code, signal, stderr }, { code: 3, signal: null, stderr: '' });
    assert.match(first, json ? /^\[\{"type":"email","begin":0,"end":14,/ : /^\{"type":"email","begin":0,"end":14,/);
  }
});

test('bastion pii scan reports every finding past the gateway cap; a policy keeps the cap', () => {
  // 100,050 addresses: more than the 100,000 findings the gateway examines
  // in one string. A report on a local input lists all of them, in order,
  // and no `overflow` line; with a policy the scan stops where the
  // gateway's does and refuses what it did not examine.
  const n = 100050;
  const text = Array.from({ length: n }, (_, i) => `a${i}@example.com`).join('\n');
  // Every line comes, in order, in both forms.
  for (const json of [false, true]) {
    const r = spawnSync(BIN, ['pii', 'scan', ...(json ? ['--json'] : [])], { input: text, encoding: 'utf8', maxBuffer: 1 << 26 });
    assert.equal(r.status, 3, r.stderr);
    const found = json ? JSON.parse(r.stdout) : r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.equal(found.length, n);
    assert.deepEqual(found.filter((f) => f.type !== 'email'), []);
    const misplaced = found.findIndex((f, i) => text.slice(f.begin, f.end) !== `a${i}@example.com`);
    assert.equal(misplaced, -1, misplaced >= 0 ? JSON.stringify(found[misplaced]) : '');
  }
  const m = bastion(['pii', 'scan', '--policy', 'mask'], text);
  assert.equal(m.status, 3);
  assert.match(m.stderr, /overflow/);
  assert.equal(m.stdout, '');
});

// Every path under `root` (itself included) that group or others may use.
function openToOthers(root) {
  const open = [];
  const walk = (p) => {
    const st = lstatSync(p);
    if (st.mode & 0o077) open.push(`${(st.mode & 0o777).toString(8)} ${path.relative(root, p) || '.'}`);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(path.join(p, e));
  };
  walk(root);
  return open.sort();
}

test('every command that makes the data directory makes it, its missing parents and what it puts there private, even under umask 0', async () => {
  // Run under umask 0: a directory left to the umask comes out 0777 (serve
  // and stdio made the data directory's missing parents, and its mcp/, so).
  const umask0 = ['sh', '-c', 'umask 000; exec "$0" "$@"', BIN];
  const run = (args, input = '') => {
    const r = spawnSync(umask0[0], [...umask0.slice(1), ...args], { input, encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  };
  const commands = {
    'secret set': (d) => run(['secret', 'set', 'TOKEN', '--data-dir', d], 'value-0123456789'),
    encrypt: (d) => run(['encrypt', '--data-dir', d], 'hello'),
    'keys rotate': (d) => run(['keys', 'rotate', '--data-dir', d]),
    'user add': (d) => run(['user', 'add', 'alice', '--data-dir', d], 'correct horse battery staple\n'),
    stdio: (d) => run(['stdio', '--data-dir', d]),  // stdin closed: starts, then ends
    serve: async (d) => {
      const srv = await startServe([], { dataDir: d, command: umask0 });
      assert.equal(await srv.stop(), 0, srv.stderr);
    },
  };
  for (const [name, make] of Object.entries(commands)) {
    const top = tempDir();
    await make(path.join(top, 'a', 'b', 'data'));
    assert.deepEqual(openToOthers(path.join(top, 'a')), [], `${name}: open to group or others`);
    assert.ok(readdirSync(path.join(top, 'a', 'b', 'data')).length > 0, `${name} wrote nothing`);
  }
});
