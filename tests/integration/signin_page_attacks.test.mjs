// Attacks on the sign-in pages: CSRF on login and consent (from a page of
// another site in a real browser, and forged at the HTTP level), login brute
// force, session fixation, clickjacking, and sessions that outlive their user.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { BIN, startWithConfig, tempDir } from './lib/bastion.mjs';
import { addUser, callbackServer, launch, shot } from './lib/browser.mjs';
import { authorizeUrl, pkce } from './lib/signin.mjs';

let server, browser, cb, dataDir, evil;
const PW = 'alice long password';

before(async () => {
  dataDir = tempDir();
  addUser(dataDir, 'alice', PW);
  addUser(dataDir, 'mallory', 'mallory long password');
  server = await startWithConfig(`auth:
  login:
    throttle: {per_user: 3, per_source: 1000, window: 600}
  access:
    default_scopes: [mcp.access]
  clients:
    - id: demo-app
      client_name: Demo App
      redirect_uris: ['http://127.0.0.1/callback']
`, [], { dataDir });
  browser = await launch();
  cb = await callbackServer();
  // The attacker's site: another origin and another site (localhost is not 127.0.0.1).
  evil = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(evil.page ?? '');
  });
  await new Promise((r) => evil.listen(0, '127.0.0.1', r));
});
after(async () => {
  await browser?.close();
  await cb?.close();
  await new Promise((r) => evil.close(r));
  assert.equal(await server.stop(), 0, server.stderr);
});

const evilUrl = () => `http://localhost:${evil.address().port}/`;
const cookieHeader = (res) => res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');

function startUrl() {
  return authorizeUrl(server.base, {
    response_type: 'code', client_id: 'demo-app', redirect_uri: cb.redirectUri,
    code_challenge: pkce().challenge, code_challenge_method: 'S256', state: 's', scope: 'mcp.access',
  });
}

// A login page fetched as a browser would: its cookie, id and tokens.
async function loginForm() {
  const res = await fetch(startUrl());
  const html = await res.text();
  const ids = [...html.matchAll(/name="id" value="([^"]*)"/g)].map((m) => m[1]);
  const csrf = [...html.matchAll(/name="csrf" value="([^"]*)"/g)].map((m) => m[1]);
  return { cookie: cookieHeader(res), id: ids[0], csrf: csrf[0] };
}

async function post(path, form, headers = {}) {
  return fetch(`${server.base}${path}`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });
}

async function signedIn() {
  const f = await loginForm();
  const res = await post('/signin/login', { id: f.id, csrf: f.csrf, username: 'alice', password: PW },
    { cookie: f.cookie, origin: server.base });
  assert.equal(res.status, 303);
  const session = cookieHeader(res);
  const consent = await fetch(res.headers.get('location'), { headers: { cookie: `${f.cookie}; ${session}` } });
  const html = await consent.text();
  const csrf = /name="csrf" value="([^"]*)"/.exec(html.slice(html.indexOf('action="' + server.base + '/signin/consent"')))[1];
  return { id: f.id, cookie: `${f.cookie}; ${session}`, session, csrf };
}

test('login CSRF: a forged post is refused without a token, with another browser\'s token, or from another origin', async () => {
  const a = await loginForm();
  const b = await loginForm();
  const creds = { username: 'alice', password: PW };
  const cases = [
    ['no token', { id: a.id, ...creds }, { cookie: a.cookie }],
    ['another browser\'s token', { id: a.id, csrf: b.csrf, ...creds }, { cookie: a.cookie }],
    ['no browser cookie', { id: a.id, csrf: a.csrf, ...creds }, {}],
    ['cross-site fetch metadata', { id: a.id, csrf: a.csrf, ...creds }, { cookie: a.cookie, 'sec-fetch-site': 'cross-site' }],
    ['another origin', { id: a.id, csrf: a.csrf, ...creds }, { cookie: a.cookie, origin: 'http://evil.example' }],
    ['token for another request', { id: b.id, csrf: a.csrf, ...creds }, { cookie: a.cookie }],
  ];
  for (const [what, form, headers] of cases) {
    const res = await post('/signin/login', form, headers);
    assert.equal(res.status, 403, what);
    assert.equal(res.headers.get('set-cookie'), null, `${what}: no session`);
  }
  // The same post with everything right signs in.
  const ok = await post('/signin/login', { id: a.id, csrf: a.csrf, ...creds }, { cookie: a.cookie, origin: server.base });
  assert.equal(ok.status, 303);
  assert.match(ok.headers.get('set-cookie'), /bastion_session=/);
});

test('consent CSRF: only the signed-in browser\'s own form can allow', async () => {
  const s = await signedIn();
  const other = await signedIn();
  const cases = [
    ['no token', { id: s.id, action: 'allow', scope: 'mcp.access' }, { cookie: s.cookie }],
    ['token of another session', { id: s.id, csrf: other.csrf, action: 'allow', scope: 'mcp.access' }, { cookie: s.cookie }],
    ['no session cookie', { id: s.id, csrf: s.csrf, action: 'allow', scope: 'mcp.access' }, {}],
    ['cross-site', { id: s.id, csrf: s.csrf, action: 'allow', scope: 'mcp.access' }, { cookie: s.cookie, 'sec-fetch-site': 'cross-site' }],
    ['another origin', { id: s.id, csrf: s.csrf, action: 'allow', scope: 'mcp.access' }, { cookie: s.cookie, origin: 'null' }],
  ];
  for (const [what, form, headers] of cases) {
    const res = await post('/signin/consent', form, headers);
    assert.equal(res.status, 403, what);
  }
  const ok = await post('/signin/consent', { id: s.id, csrf: s.csrf, action: 'allow', scope: 'mcp.access' }, { cookie: s.cookie });
  assert.ok([302, 303].includes(ok.status), String(ok.status));
  assert.match(ok.headers.get('location'), /^http:\/\/127\.0\.0\.1:\d+\/callback\?code=/);
});

test('a page of another site cannot make a signed-in browser consent (real browser)', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(startUrl());
  await page.getByLabel('User name').fill('alice');
  await page.getByLabel('Password').fill(PW);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/signin\/consent\?id=/);
  const id = new URL(page.url()).searchParams.get('id');
  const csrf = await page.locator('#consent input[name=csrf]').getAttribute('value');
  const before = cb.hits.length;
  // Even knowing the id and the token, the attacker's auto-submitted form
  // arrives cross-site: no SameSite=Lax cookie, Sec-Fetch-Site cross-site.
  evil.page = `<!doctype html><form id=f method=post action="${server.base}/signin/consent">
    <input name=id value="${id}"><input name=csrf value="${csrf}"><input name=action value=allow>
    <input name=scope value=mcp.access></form><script>document.getElementById('f').submit()</script>`;
  const attacker = await ctx.newPage();
  await attacker.goto(evilUrl());
  await attacker.waitForURL(`${server.base}/signin/consent`);
  assert.equal(await attacker.locator('h1').innerText(), 'This form has expired');
  await shot(attacker, 'attack-csrf-consent');
  assert.equal(cb.hits.length, before, 'no code reached the client');
  await ctx.close();
});

test('clickjacking: no page of the sign-in can be framed', async () => {
  for (const p of ['/signin/login', '/signin/done', '/account', '/signin/consent?id=x']) {
    const res = await fetch(`${server.base}${p}`, { redirect: 'manual' });
    assert.match(res.headers.get('content-security-policy'), /frame-ancestors 'none'/, p);
    assert.equal(res.headers.get('x-frame-options'), 'DENY', p);
  }
  const res = await fetch(startUrl());
  assert.match(res.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  // And a real browser refuses to render the login page in a frame of another site.
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  evil.page = `<!doctype html><h1>Win a prize</h1><iframe id=f src="${startUrl()}" width=600 height=600></iframe>`;
  await page.goto(evilUrl());
  await page.waitForTimeout(1000);
  const frame = page.frames().find((f) => f !== page.mainFrame());
  const inner = frame ? await frame.content().catch(() => '') : '';
  assert.doesNotMatch(inner, /Sign in to Bastion/);
  await shot(page, 'attack-clickjacking');
  await ctx.close();
});

test('brute force: after 3 failures the name is locked, even for the right password', async () => {
  addUser(dataDir, 'bruce', 'bruce long password');
  for (let i = 0; i < 3; ++i) {
    const f = await loginForm();
    const res = await post('/signin/login', { id: f.id, csrf: f.csrf, username: 'bruce', password: `guess ${i}` }, { cookie: f.cookie });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Wrong user name or password/);
  }
  const f = await loginForm();
  const res = await post('/signin/login', { id: f.id, csrf: f.csrf, username: 'bruce', password: 'bruce long password' }, { cookie: f.cookie });
  assert.equal(res.status, 429);
  assert.match(await res.text(), /Too many failed sign-in attempts/);
  assert.equal(res.headers.get('set-cookie'), null);
  // Unknown names answer exactly like known ones.
  const g = await loginForm();
  const unk = await post('/signin/login', { id: g.id, csrf: g.csrf, username: 'nosuchuser', password: 'whatever pw' }, { cookie: g.cookie });
  assert.equal(unk.status, 200);
  assert.match(await unk.text(), /Wrong user name or password/);
});

test('session fixation: a planted session id is never adopted; login always makes a new one', async () => {
  // Mallory signs in and plants her own valid session cookie in Alice's browser.
  const m = await loginForm();
  const mres = await post('/signin/login', { id: m.id, csrf: m.csrf, username: 'mallory', password: 'mallory long password' }, { cookie: m.cookie });
  const planted = cookieHeader(mres);
  const a = await loginForm();
  const res = await post('/signin/login', { id: a.id, csrf: a.csrf, username: 'alice', password: PW }, { cookie: `${a.cookie}; ${planted}` });
  assert.equal(res.status, 303);
  const fresh = cookieHeader(res);
  assert.notEqual(fresh, planted);
  // The planted session ended with the login; an invented id is nobody.
  const old = await fetch(`${server.base}/signin/done`, { headers: { cookie: planted } });
  assert.match(await old.text(), /Not signed in/);
  const invented = await fetch(`${server.base}/signin/done`, { headers: { cookie: 'bastion_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
  assert.match(await invented.text(), /Not signed in/);
  const mine = await fetch(`${server.base}/signin/done`, { headers: { cookie: fresh } });
  assert.match(await mine.text(), /Signed in as <strong>alice<\/strong>/);
  // Cookies: HttpOnly, SameSite=Lax, never readable by script.
  assert.match(res.headers.get('set-cookie'), /HttpOnly; SameSite=Lax/);
});

test('a password change or removal ends the user\'s sessions at once', async () => {
  addUser(dataDir, 'dora', 'dora long password');
  const f = await loginForm();
  const res = await post('/signin/login', { id: f.id, csrf: f.csrf, username: 'dora', password: 'dora long password' }, { cookie: f.cookie });
  const session = cookieHeader(res);
  const check = async () => (await (await fetch(`${server.base}/signin/done`, { headers: { cookie: session } })).text());
  assert.match(await check(), /Signed in as <strong>dora/);
  const r = spawnSync(BIN, ['user', 'passwd', 'dora', '--data-dir', dataDir], { input: 'a new long password\n' });
  assert.equal(r.status, 0);
  assert.match(await check(), /Not signed in/);
});
