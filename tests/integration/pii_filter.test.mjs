// The PII policy on every message in either direction, end to end: the real
// bastion binary, a real upstream (lib/pii_server.py, which puts personal
// data in keys, numbers, errors, notifications, sampling and elicitation
// requests and echoes what reached it) and the official SDK client, which
// answers those requests. Also: evasions (full-width, invisible, dash
// variants, phones as JSON numbers) in both directions, look-alikes that must
// pass unchanged (src/pii/scanner_evasion_test.cpp attacks the same strings
// on the scanner alone), and upstream stderr reaching Bastion's log masked
// and with its control characters escaped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { SOURCE_DIR, eventually, startWithConfig } from './lib/bastion.mjs';

const SERVER = `servers:
  crm:
    command: python3
    args: [${SOURCE_DIR}/tests/integration/lib/pii_server.py]
`;

// An SDK client that answers sampling and elicitation with personal data of
// its own, and records everything it receives.
async function connect(url) {
  const seen = { logs: [], progress: [], sampling: [], elicitation: [] };
  const c = new Client({ name: 'pii-test', version: '1' }, { capabilities: { sampling: {}, elicitation: {} } });
  c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => seen.logs.push(n.params));
  c.setRequestHandler(CreateMessageRequestSchema, (r) => {
    seen.sampling.push(r.params);
    return { model: 'm', role: 'assistant', content: { type: 'text', text: 'card 4111 1111 1111 1111, mail han@example.com' } };
  });
  c.setRequestHandler(ElicitRequestSchema, (r) => {
    seen.elicitation.push(r.params);
    return { action: 'accept', content: { phone: '010-9876-5432' } };
  });
  await c.connect(new StreamableHTTPClientTransport(new URL(url)));
  return { c, seen };
}

const failure = (p) => p.then((x) => ({ ok: x }), (e) => ({ error: e }));
const all = (x) => JSON.stringify(x);
const auditRecords = (dataDir) =>
  readFileSync(path.join(dataDir, 'audit', 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test('mask: keys, numbers, errors, notifications, sampling, elicitation and the answers are masked', async () => {
  const s = await startWithConfig(`${SERVER}security:\n  pii:\n    default: mask\n`);
  try {
    const { c, seen } = await connect(s.url);
    // Toward the server: keys, numbers, full-width values and _meta.
    const echo = await c.callTool({
      name: 'crm__echo',
      arguments: { '900101-1234568': 'key', n: 9001011234568, p: '０１０－１２３４－５６７８', card: 4111111111111111 },
      _meta: { trace: 'kim@example.com' },
    });
    const got = JSON.parse(echo.content[0].text);
    assert.deepEqual(got.arguments, { '900101-1******': 'key', n: '9001011******', p: '010-****-5678', card: '************1111' });
    assert.deepEqual(got.meta, { trace: '***@example.com' });
    // Toward the client: an RRN as a key, PII as numbers.
    const keys = await c.callTool({ name: 'crm__keys', arguments: {} });
    assert.deepEqual(keys.structuredContent, { '850315-2******': 'a customer', rows: [{ '***@example.com': 1 }] });
    const nums = await c.callTool({ name: 'crm__numbers', arguments: {} });
    assert.deepEqual(nums.structuredContent, { id: '9001011******', card: '************1111', count: 3 });
    // An upstream's error message and data.
    const err = await failure(c.callTool({ name: 'crm__fail', arguments: {} }));
    assert.ok(err.error, all(err));
    assert.match(err.error.message, /customer 900101-1\*\*\*\*\*\* not found/);
    assert.deepEqual(err.error.data, { contact: '***@example.com', '850315-2******': true });
    // Relayed log and progress notifications, sampling and elicitation
    // requests, and the client's answers on their way back.
    const progress = [];
    const relay = await c.callTool({ name: 'crm__relay', arguments: {} }, undefined, { onprogress: (p) => progress.push(p) });
    assert.equal(seen.logs.length, 1, all(seen.logs));
    assert.deepEqual(seen.logs[0].data, { note: 'call 010-****-5678', '***@example.com': 'key' });
    assert.equal(progress.length, 1);
    assert.equal(progress[0].message, 'looking up ***@example.com');
    assert.equal(seen.sampling[0].messages[0].content.text, 'summarise the file of ***@example.com');
    assert.equal(seen.elicitation[0].message, 'Confirm the phone of 김** 씨');
    const back = JSON.parse(relay.content[0].text);
    assert.equal(back.sampled.result.content.text, 'card **** **** **** 1111, mail ***@example.com');
    assert.deepEqual(back.elicited.result.content, { phone: '010-****-5432' });
    // Evasions in a real result.
    const ev = await c.callTool({ name: 'crm__evasions', arguments: {} });
    assert.equal(ev.content[0].text,
      'phone 010-****-5678, mail ***@example.com, rrn 900101-1******, card **** **** **** 1111, name 김** 씨');
    await c.close();
    // What crossed is in the audit log as types and counts, never values.
    const records = auditRecords(s.dataDir);
    const relayed = records.filter((r) => r.event_type === 'pii_relayed');
    assert.deepEqual(relayed.map((r) => `${r.method} ${r.direction}`).sort(), [
      'elicitation/create to_client', 'elicitation/create to_server', 'notifications/message to_client',
      'notifications/progress to_client', 'sampling/createMessage to_client', 'sampling/createMessage to_server']);
    // Needles long enough that the records' hex hashes and numbers never
    // hold one by chance (four digits did: '9876' in a hex hash); each
    // still catches its value masked ('900101-1******', '9001011******').
    const text = readFileSync(path.join(s.dataDir, 'audit', 'audit.log'), 'utf8');
    for (const v of ['900101-1', '9001011', 'kim@', '1234-5678', '4111 1111', '4111111111111111', 'han@', '9876-5432'])
      assert.ok(!text.includes(v), `${v} in the audit log`);
  } finally {
    assert.equal(await s.stop(), 0, s.stderr);
  }
});

test('reject: no path lets a rejected type through, in either direction', async () => {
  const s = await startWithConfig(`${SERVER}security:
  pii:
    default: allow
    types: {email: reject, rrn: reject}
    directions:
      request: {types: {phone: reject}}
`);
  try {
    const { c, seen } = await connect(s.url);
    const refused = async (call, type) => {
      const r = await failure(call);
      assert.ok(r.error, `not refused: ${all(r.ok)}`);
      assert.match(r.error.message, new RegExp(type));
      for (const v of ['900101', '850315', 'kim@', 'lee@'])
        assert.ok(!all({ m: r.error.message, d: r.error.data }).includes(v), r.error.message);
    };
    // An RRN as an argument key, as a number, an email in _meta: refused
    // before the server sees them.
    await refused(c.callTool({ name: 'crm__echo', arguments: { '900101-1234568': 'x' } }), 'rrn');
    await refused(c.callTool({ name: 'crm__echo', arguments: { n: 9001011234568 } }), 'rrn');
    await refused(c.callTool({ name: 'crm__echo', arguments: {}, _meta: { who: 'kim@example.com' } }), 'email');
    await refused(c.callTool({ name: 'crm__echo', arguments: { p: '０１０－１２３４－５６７８' } }), 'phone');
    // An RRN as a result key, as a number, in an error message.
    await refused(c.callTool({ name: 'crm__keys', arguments: {} }), 'rrn');
    await refused(c.callTool({ name: 'crm__numbers', arguments: {} }), 'rrn');
    await refused(c.callTool({ name: 'crm__fail', arguments: {} }), 'rrn');
    // Notifications with an email are withheld; the sampling request too (the
    // server gets the policy's error as its answer); the elicitation request
    // passes (names are allowed) but the client's answer holds a phone, which
    // may not go toward servers: the server gets the error instead.
    const relay = await c.callTool({ name: 'crm__relay', arguments: {} }, undefined, { onprogress: (p) => seen.progress.push(p) });
    assert.deepEqual(seen.logs, []);
    assert.deepEqual(seen.progress, []);
    assert.deepEqual(seen.sampling, []);
    assert.equal(seen.elicitation.length, 1);
    const back = JSON.parse(relay.content[0].text);
    assert.match(back.sampled.error.message, /PII policy rejected sampling\/createMessage: it contains email/);
    assert.match(back.elicited.error.message, /PII policy rejected the answer to elicitation\/create: it contains phone/);
    assert.ok(!relay.content[0].text.includes('9876'), relay.content[0].text);
    // Clean calls still work.
    const ok = await c.callTool({ name: 'crm__echo', arguments: { q: 'hello' } });
    assert.equal(JSON.parse(ok.content[0].text).arguments.q, 'hello');
    await c.close();
  } finally {
    assert.equal(await s.stop(), 0, s.stderr);
  }
  assert.match(s.stderr, /PII policy withheld notifications\/message \(session [^)]*server 'crm'\): it contains email/);
});

test("an upstream's stderr reaches the log masked, its control characters escaped", async () => {
  const s = await startWithConfig(SERVER);
  try {
    const { c } = await connect(s.url);
    await c.callTool({ name: 'crm__stderr', arguments: {} });
    await c.close();
    assert.ok(await eventually(() => s.stderr.includes('forged line')), s.stderr);
  } finally {
    assert.equal(await s.stop(), 0, s.stderr);
  }
  const lines = s.stderr.split('\n');
  assert.ok(lines.some((l) => l.includes('[crm] lookup rrn 900101-1****** for ***@example.com')), s.stderr);
  // CR and LF cannot start a line of their own; ESC, BEL and bidi are spelled out.
  assert.ok(lines.some((l) => /\[crm\] innocent\\r\[error\] bastion: forged line \\x1b\[31mred\\x1b\[0m \\u202eevil\\x07$/.test(l)), s.stderr);
  assert.ok(!lines.some((l) => l.startsWith('[error] bastion: forged')), s.stderr);
  for (const raw of ['\x1b', '\r', '\u202e', '\x07', '900101-1234568', 'kim@example.com'])
    assert.ok(!s.stderr.includes(raw), `${JSON.stringify(raw)} reached the log`);
});

// Spellings meant to slip a value past the scanner, each with what the
// policy `mask` makes of it: soft hyphens, bidi controls, the minus sign and
// the full-width hyphen inside phones and RRNs, and phones as JSON numbers
// (a mobile loses its leading 0 as a number, +82 its '+').
const EVASIONS = {
  shy_phone: ['010\u00AD-1234\u00AD-5678', '010-****-5678', 'phone'],
  shy_rrn: ['900101\u00AD-1234568', '900101-1******', 'rrn'],
  rlo_rrn: ['900101\u202E-1234568', '900101-1******', 'rrn'],
  lri_phone: ['010-\u20661234\u2069-5678', '010-****-5678', 'phone'],
  lri_card: ['4111 \u20661111\u2069 1111 1111', '**** **** **** 1111', 'credit_card'],
  minus_phone: ['010\u22121234\u22125678', '010-****-5678', 'phone'],
  minus_rrn: ['900101\u22121234568', '900101-1******', 'rrn'],
  fullwidth_hyphen_phone: ['010\uFF0D1234\uFF0D5678', '010-****-5678', 'phone'],
  fullwidth_hyphen_rrn: ['900101\uFF0D1234568', '900101-1******', 'rrn'],
  number_phone: [1012345678, '010****5678', 'phone'],
  number_intl_phone: [821012345678, '+821*****5678', 'phone'],
};
const pick = (i) => Object.fromEntries(Object.entries(EVASIONS).map(([k, v]) => [k, v[i]]));

test('mask: soft hyphens, bidi controls, minus signs, full-width hyphens and phones as numbers are masked both ways', async () => {
  // echo is masked toward the server; say only toward the client (its
  // arguments reach the server as sent, and come back as its result).
  const s = await startWithConfig(`${SERVER}security:
  pii:
    default: mask
    tools: {say: {directions: {request: allow}}}
`);
  try {
    const { c } = await connect(s.url);
    const echo = await c.callTool({ name: 'crm__echo', arguments: pick(0) });
    assert.deepEqual(JSON.parse(echo.content[0].text).arguments, pick(1));
    const say = await c.callTool({ name: 'crm__say', arguments: pick(0) });
    assert.deepEqual(say.structuredContent, pick(1));
    await c.close();
  } finally {
    assert.equal(await s.stop(), 0, s.stderr);
  }
});

test('reject: the same evasions are refused toward the server and toward the client, naming the type', async () => {
  const s = await startWithConfig(`${SERVER}security:
  pii:
    default: reject
    tools: {say: {directions: {request: allow}}}
`);
  try {
    const { c } = await connect(s.url);
    for (const [tool, direction] of [['crm__echo', 'request'], ['crm__say', 'response']])
      for (const [key, [value, , type]] of Object.entries(EVASIONS)) {
        const r = await failure(c.callTool({ name: tool, arguments: { [key]: value } }));
        assert.ok(r.error, `${tool} ${key}: not refused: ${all(r.ok)}`);
        assert.match(r.error.message, new RegExp(`rejected the ${direction}: it contains ${type} \\(1\\)`), `${tool} ${key}`);
        assert.deepEqual(r.error.data, { pii_types: [type], direction }, `${tool} ${key}`);
        for (const v of ['1234', '5678', '900101'])
          assert.ok(!all({ m: r.error.message, d: r.error.data }).includes(v), r.error.message);
      }
    await c.close();
  } finally {
    assert.equal(await s.stop(), 0, s.stderr);
  }
});

// Look-alikes the issue tracker named: they pass unchanged both ways, and
// even `reject` lets them through.
const LOOK_ALIKES = {
  version: 'upgraded to version 1.2.3.4 today',
  ssh_remote: 'git@github.com:org/repo.git',
  stew: '김치찌개님',
  complaint: '민원씨',
  luhn_in_hash: 'sha deadbeef4111111111111111cafe01',
  luhn_between_hash_parts: 'hash a94a8fe5 4111111111111111 ccb19ba6',
};

test('look-alikes (a version, an SSH remote, 김치찌개님, 민원씨, a Luhn run in a hash) pass unchanged', async () => {
  for (const policy of ['mask', 'reject']) {
    const s = await startWithConfig(`${SERVER}security:\n  pii:\n    default: ${policy}\n`);
    try {
      const { c } = await connect(s.url);
      const echo = await c.callTool({ name: 'crm__echo', arguments: LOOK_ALIKES });
      assert.deepEqual(JSON.parse(echo.content[0].text).arguments, LOOK_ALIKES, policy);
      const say = await c.callTool({ name: 'crm__say', arguments: LOOK_ALIKES });
      assert.deepEqual(say.structuredContent, LOOK_ALIKES, policy);
      await c.close();
    } finally {
      assert.equal(await s.stop(), 0, s.stderr);
    }
  }
});
