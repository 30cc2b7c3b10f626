// Attacks on the token endpoint and the resource server (issue 11), each
// against a real `bastion serve`: brute force (lockout, 429 + Retry-After),
// client id enumeration (an unknown id costs one argon2id verification like a
// wrong secret), a wrong-secret flood that must not starve MCP calls (the
// hashing pool), SIGHUP removing a client or replacing its secret, a full
// audit disk (token issuance and 401/403 fail closed), failure aggregation in
// the audit log, and external issuers' tokens held to RFC 9068 (typ, claims,
// duplicate members, absurd times, a JWKS server that never answers).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { KeyObject, sign as cryptoSign } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as jose from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  authYaml, eventually, fetchToken, newClient, post, startWithConfig,
} from './lib/bastion.mjs';
import { fillFilesystem, mountTmpfs } from './lib/disk.mjs';

const basic = (id, secret) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function tokenRequest(base, id, secret, extra = {}) {
  const res = await fetch(`${base}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(id, secret) },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...extra }),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, json, text };
}

// An MCP initialize with these headers: the HTTP status is what matters.
const init = (url, _version, headers = {}) => post(url, {
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'attack', version: '1' } },
}, headers);

async function metric(base, name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

const auditRecords = (dir) => readdirSync(dir).filter((f) => /^audit(-\d{12})?\.log$/.test(f))
  .flatMap((f) => readFileSync(path.join(dir, f), 'utf8').trimEnd().split('\n').filter(Boolean))
  .map((l) => JSON.parse(l));

// Generous free failures, for tests that are not about the lockout (every
// request comes from 127.0.0.1).
const relaxed = '  lockout: {free_failures: 1000, source_free_failures: 1000, client_free_failures: 1000}\n';

test('30 wrong secrets then the right one: 429 with Retry-After and an RFC 6749 body; the lock ends', async () => {
  const c = newClient('brute-target');
  const s = await startWithConfig(authYaml([c]));
  try {
    const statuses = [];
    for (let i = 0; i < 30; i++) statuses.push((await tokenRequest(s.base, c.id, `guess-${i}`)).status);
    assert.ok(statuses.slice(0, 5).every((x) => x === 401), statuses.join(','));
    assert.ok(statuses.includes(429), `no lockout after 30 wrong secrets: ${statuses.join(',')}`);
    const right = await tokenRequest(s.base, c.id, c.secret);
    assert.equal(right.status, 429, `the right secret during the lock got ${right.status}: ${right.text}`);
    assert.equal(right.json.error, 'slow_down');
    assert.ok(Number(right.headers.get('retry-after')) >= 1, right.headers.get('retry-after'));
    assert.equal(right.json.access_token, undefined);
    assert.ok(await metric(s.base, 'bastion_auth_lockouts_total') >= 1);
    // Not a permanent lockout: once the wait is over the right secret works.
    const wait = Number(right.headers.get('retry-after'));
    await new Promise((r) => setTimeout(r, wait * 1000 + 100));
    const later = await tokenRequest(s.base, c.id, c.secret);
    assert.equal(later.status, 200, later.text);
  } finally {
    assert.equal(await s.stop(), 0, s.stderr);
  }
});

test('an unknown client id costs an argon2id verification like a wrong secret (no enumeration)', async () => {
  const c = newClient('enum-known');
  const s = await startWithConfig(`${authYaml([c])}${relaxed}`);
  try {
    const v0 = await metric(s.base, 'bastion_auth_secret_verifications_total');
    assert.equal(typeof v0, 'number');
    const wrong = await tokenRequest(s.base, c.id, 'not-the-secret');
    const v1 = await metric(s.base, 'bastion_auth_secret_verifications_total');
    const unknown = await tokenRequest(s.base, 'no-such-client', 'whatever');
    const v2 = await metric(s.base, 'bastion_auth_secret_verifications_total');
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    // Same answer, same cost.
    assert.deepEqual(unknown.json, wrong.json);
    assert.equal(v1 - v0, 1, 'a wrong secret costs one verification');
    assert.equal(v2 - v1, 1, 'an unknown id must cost one verification too');
  } finally {
    assert.equal(await s.stop(), 0, s.stderr);
  }
});

test('a flood of wrong secrets is bounded by the hashing pool and does not stop MCP calls', async () => {
  const c = newClient('flood-user');
  const s = await startWithConfig(`testkit: {enabled: true}\n${authYaml([c])}${relaxed}`);
  try {
    const { access_token } = await fetchToken(s.base, c);
    const mcp = new Client({ name: 'flood-test', version: '1' });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(s.url), {
      requestInit: { headers: { authorization: `Bearer ${access_token}` } },
    }));
    const flood = [];
    for (let i = 0; i < 60; i++) flood.push(tokenRequest(s.base, c.id, `flood-${i}`));
    const calls = [];
    for (let i = 0; i < 10; i++) calls.push(mcp.callTool({ name: 'echo', arguments: { text: `during ${i}` } }));
    const results = await Promise.all(calls);
    for (const r of results) assert.ok(!r.isError, JSON.stringify(r));
    const answers = await Promise.all(flood);
    const by = {};
    for (const a of answers) by[a.status] = (by[a.status] ?? 0) + 1;
    // At most two hashes per source at once: the rest are turned away at the
    // door (429 slow_down) instead of queueing 64 MiB argon2id runs.
    assert.ok(by[429] > 0, `no request was turned away: ${JSON.stringify(by)}`);
    assert.ok(!answers.some((a) => a.status === 200));
    const refused = answers.find((a) => a.status === 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    await mcp.close();
  } finally {
    assert.equal(await s.stop(), 0, s.stderr);
  }
});

test('SIGHUP: a removed client is refused at once and its tokens stop working; a new secret cuts off old tokens', async () => {
  const a = newClient('reload-a');
  const b = newClient('reload-b');
  const s = await startWithConfig(authYaml([a, b]));
  try {
    const ta = (await fetchToken(s.base, a)).access_token;
    const tb = (await fetchToken(s.base, b)).access_token;
    assert.equal((await init(s.url, undefined, { authorization: `Bearer ${ta}` })).status, 200);
    assert.equal((await init(s.url, undefined, { authorization: `Bearer ${tb}` })).status, 200);
    // a is removed; b gets a new secret (same id).
    const b2 = newClient('reload-b');
    assert.equal(b2.id, b.id);
    writeFileSync(s.configPath, authYaml([b2]));
    s.child.kill('SIGHUP');
    await eventually(() => /auth clients reloaded/.test(s.stderr));
    assert.match(s.stderr, /auth clients reloaded: added -, changed reload-b, removed reload-a/);
    const ra = await init(s.url, undefined, { authorization: `Bearer ${ta}` });
    assert.equal(ra.status, 401, `a removed client's token still works: ${ra.text}`);
    assert.equal((await tokenRequest(s.base, a.id, a.secret)).status, 401);
    const rb = await init(s.url, undefined, { authorization: `Bearer ${tb}` });
    assert.equal(rb.status, 401, `a token from before the new secret still works: ${rb.text}`);
    assert.equal((await tokenRequest(s.base, b.id, b.secret)).status, 401, 'the old secret still works');
    const fresh = (await fetchToken(s.base, b2)).access_token;
    assert.equal((await init(s.url, undefined, { authorization: `Bearer ${fresh}` })).status, 200);
  } finally {
    assert.equal(await s.stop(), 0, s.stderr);
  }
});

test('failed authentications are aggregated in the audit log; no query string or token is recorded', async () => {
  const c = newClient('agg-client');
  const s = await startWithConfig(`${authYaml([c])}${relaxed}`);
  const marker = 'eyJhbGciOiJFUzI1NiJ9.c2VjcmV0LW1hcmtlcg.c2ln';
  for (let i = 0; i < 40; i++) {
    const r = await fetch(`${s.url}?access_token=${marker}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
        authorization: `Bearer ${marker}${i}` },
      body: '{}',
    });
    assert.equal(r.status, 401);
  }
  for (let i = 0; i < 12; i++) assert.equal((await tokenRequest(s.base, c.id, `wrong-${i}`)).status, 401);
  assert.equal(await s.stop(), 0, s.stderr);
  const recs = auditRecords(path.join(s.dataDir, 'audit'));
  const failures = recs.filter((r) => r.event_type === 'auth_failure');
  const denied = recs.filter((r) => r.event_type === 'token_denied');
  assert.ok(failures.length <= 2, `40 failures wrote ${failures.length} records`);
  assert.ok(denied.length <= 2, `12 failures wrote ${denied.length} records`);
  assert.equal(failures.reduce((n, r) => n + r.count, 0), 40);
  assert.equal(denied.reduce((n, r) => n + r.count, 0), 12);
  assert.ok(denied.every((r) => r.client_id === c.id && r.source === '127.0.0.1'), JSON.stringify(denied));
  for (const r of failures) if (r.path !== undefined) assert.equal(r.path, '/mcp');
  // The counts by error survive the audit sanitizer (an "invalid_token" key would not).
  const byError = (rs) => rs.flatMap((r) => r.aggregated ? r.errors : [{ error: r.error, count: 1 }])
    .reduce((m, e) => ({ ...m, [e.error]: (m[e.error] ?? 0) + e.count }), {});
  assert.deepEqual(byError(failures), { invalid_token: 40 }, JSON.stringify(failures));
  assert.deepEqual(byError(denied), { invalid_client: 12 }, JSON.stringify(denied));
  const all = JSON.stringify(recs);
  assert.ok(!all.includes('c2VjcmV0LW1hcmtlcg'), 'token material reached the audit log');
  assert.ok(!all.includes('access_token='), 'a query string reached the audit log');
});

test('a full audit disk (real tmpfs): no token is issued and 401s become 503; it recovers', async (t) => {
  const mnt = mountTmpfs('1m', 'bastion-authaudit-tmpfs-');
  if (mnt.skip) return t.skip(mnt.skip);
  const c = newClient('disk-full');
  let s;
  try {
    const adir = path.join(mnt, 'audit');
    s = await startWithConfig(`audit: {dir: ${adir}, reserve_size: 64KiB}\n${authYaml([c])}`);
    assert.equal((await tokenRequest(s.base, c.id, c.secret)).status, 200);
    const filler = path.join(mnt, 'filler');
    fillFilesystem(filler);
    // Issuance records use up the reserve; then tokens are refused.
    let refused;
    let issued = 0;
    for (let i = 0; i < 3000 && !refused; i++) {
      const r = await tokenRequest(s.base, c.id, c.secret);
      if (r.status === 200) issued++;
      else refused = r;
    }
    assert.ok(refused, `tokens still issued after ${issued} requests on a full disk`);
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.json.error, 'temporarily_unavailable');
    assert.equal(refused.json.access_token, undefined);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    // A refusal that cannot be recorded tells nothing about the credentials.
    assert.equal((await tokenRequest(s.base, c.id, 'wrong')).status, 503);
    const bad = await init(s.url, undefined, { authorization: 'Bearer not.a.token' });
    assert.equal(bad.status, 503, bad.text);
    rmSync(filler);
    const back = await eventually(async () => (await tokenRequest(s.base, c.id, c.secret)).status === 200);
    assert.ok(back);
    assert.equal((await init(s.url, undefined, { authorization: 'Bearer not.a.token' })).status, 401);
  } finally {
    if (s) assert.equal(await s.stop(), 0, s.stderr);
    execFileSync('umount', ['-l', mnt]);
  }
});

// --- external issuers ---------------------------------------------------------------

const AUD = 'urn:bastion:attack-test';
let idp;
let idpKeys;
let ext;

// jose 6 hands out WebCrypto keys; node:crypto signs with a KeyObject.
const signingKey = () => (idpKeys.privateKey instanceof KeyObject
  ? idpKeys.privateKey : KeyObject.from(idpKeys.privateKey));

function rawJws(headerJson, payloadJson, key) {
  const b64 = (s) => Buffer.from(s).toString('base64url');
  const input = `${b64(headerJson)}.${b64(payloadJson)}`;
  const sig = cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

function claims(iss, over = {}) {
  const now = Math.floor(Date.now() / 1000);
  const c = { iss, aud: AUD, sub: 'user-1', client_id: 'ext-client', iat: now, exp: now + 300,
    jti: `j-${Math.random()}`, scope: 'mcp.access', ...over };
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  return c;
}

async function extToken(iss, { typ = 'at+jwt', over = {} } = {}) {
  const header = { alg: 'ES256', kid: 'k1' };
  if (typ) header.typ = typ;
  return new jose.SignJWT(claims(iss, over)).setProtectedHeader(header).sign(idpKeys.privateKey);
}

async function status(token) {
  const r = await init(ext.url, undefined, { authorization: `Bearer ${token}` });
  if (process.env.AUTH_ATTACKS_DEBUG) console.error(r.status, r.headers.get('www-authenticate'));
  return r.status;
}

describe('external issuers', () => {
before(async () => {
  idpKeys = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(idpKeys.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  idp = createServer((req, res) => {
    if (req.url === '/hang') return;  // never answers
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise((r) => idp.listen(0, '127.0.0.1', r));
  const port = idp.address().port;
  ext = await startWithConfig(`auth:
  audience: ${AUD}
  external_issuers:
    - {issuer: 'https://strict.idp.test', jwks_url: 'http://127.0.0.1:${port}/jwks'}
    - {issuer: 'https://lax.idp.test', jwks_url: 'http://127.0.0.1:${port}/jwks', require_typ: false}
    - {issuer: 'https://hanging.idp.test', jwks_url: 'http://127.0.0.1:${port}/hang'}
  clients: []
`);
  // The key set is fetched in the background at start.
  await eventually(async () => (await status(await extToken('https://strict.idp.test'))) === 200,
    { timeoutMs: 15000 });
});

after(async () => {
  if (ext) assert.equal(await ext.stop(), 0, ext.stderr);
  idp?.closeAllConnections?.();
  idp?.close();
});

test('external issuer: a complete RFC 9068 token is accepted', async () => {
  assert.equal(await status(await extToken('https://strict.idp.test')), 200);
});

test('external issuer: typ JWT or no typ is refused (unless require_typ: false)', async () => {
  assert.equal(await status(await extToken('https://strict.idp.test', { typ: 'JWT' })), 401);
  assert.equal(await status(await extToken('https://strict.idp.test', { typ: null })), 401);
  assert.equal(await status(await extToken('https://lax.idp.test', { typ: 'JWT' })), 200);
  assert.equal(await status(await extToken('https://lax.idp.test', { typ: null })), 200);
});

test('external issuer: tokens without iat, jti or client_id are refused, even with require_typ: false', async () => {
  for (const iss of ['https://strict.idp.test', 'https://lax.idp.test'])
    for (const missing of ['iat', 'jti', 'client_id', 'sub'])
      assert.equal(await status(await extToken(iss, { over: { [missing]: undefined } })), 401,
        `${iss} without ${missing}`);
});

test('external issuer: duplicate members in the header or the payload are refused', async () => {
  const key = signingKey();
  const good = JSON.stringify(claims('https://strict.idp.test'));
  const header = '{"alg":"ES256","kid":"k1","typ":"at+jwt"}';
  // The same bytes signed correctly pass, so only the duplicates differ.
  assert.equal(await status(rawJws(header, good, key)), 200);
  const dupPayload = `${good.slice(0, -1)},"sub":"admin"}`;
  assert.equal(await status(rawJws(header, dupPayload, key)), 401);
  const dupHeader = '{"alg":"ES256","kid":"k1","typ":"at+jwt","typ":"JWT"}';
  assert.equal(await status(rawJws(dupHeader, good, key)), 401);
});

test('external issuer: absurd exp, iat and nbf values are refused, not wrapped around', async () => {
  const literals = ['1e300', '9223372036854775807', '18446744073709551615', '-9223372036854775808', '-1'];
  for (const claim of ['exp', 'iat', 'nbf']) {
    for (const v of literals) {
      const obj = claims('https://strict.idp.test');
      delete obj[claim];
      const text = `${JSON.stringify(obj).slice(0, -1)},"${claim}":${v}}`;
      const st = await status(rawJws('{"alg":"ES256","kid":"k1","typ":"at+jwt"}', text, signingKey()));
      assert.equal(st, 401, `${claim}=${v}`);
    }
  }
});

test('external issuer whose JWKS never answers: its tokens get 401 at once, others keep working', async () => {
  const t0 = Date.now();
  const hung = await new jose.SignJWT(claims('https://hanging.idp.test'))
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' }).sign(idpKeys.privateKey);
  const answers = await Promise.all([status(hung), status(hung), status(await extToken('https://strict.idp.test'))]);
  assert.deepEqual(answers, [401, 401, 200]);
  assert.ok(Date.now() - t0 < 4000, `answers took ${Date.now() - t0} ms: a request waited for the network`);
});
});
