// The sign-in pages in a real browser (Debian's chromium via playwright-core):
// login, consent, deny, remembered consent, the account page and its
// revocation, and every error page, each screenshotted and checked for what
// it shows. The tokens that come out are checked at the token endpoint.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startWithConfig, tempDir } from './lib/bastion.mjs';
import { addUser, callbackServer, launch, shot } from './lib/browser.mjs';
import { authorizeUrl, pkce, tokenRequest } from './lib/signin.mjs';

let server, browser, cb, dataDir;
const PASSWORDS = { alice: 'alice long password', bob: 'bob long password', carol: 'carol long password' };

before(async () => {
  dataDir = tempDir();
  for (const [u, p] of Object.entries(PASSWORDS)) addUser(`${dataDir}`, u, p);
  server = await startWithConfig(`auth:
  login:
    throttle: {per_user: 3, per_source: 1000, window: 600}
  access:
    users:
      alice: [mcp.access]
    groups:
      weather:
        members: [bob]
        scopes: ["mcp:server:weather"]
  clients:
    - id: demo-app
      client_name: Demo App
      redirect_uris: ['http://127.0.0.1/callback']
`, [], { dataDir });
  browser = await launch();
  cb = await callbackServer();
});
after(async () => {
  await browser?.close();
  await cb?.close();
  assert.equal(await server.stop(), 0, server.stderr);
});

function start(scope = 'mcp.access offline_access', extra = {}) {
  const p = pkce();
  const state = Math.random().toString(36).slice(2);
  const url = authorizeUrl(server.base, {
    response_type: 'code', client_id: 'demo-app', redirect_uri: cb.redirectUri,
    code_challenge: p.challenge, code_challenge_method: 'S256', state, scope,
    resource: `${server.base}/mcp`, ...extra,
  });
  return { url, state, verifier: p.verifier };
}

async function securityHeaders(response) {
  const h = await response.allHeaders();
  assert.match(h['content-security-policy'], /frame-ancestors 'none'/);
  assert.match(h['content-security-policy'], /default-src 'none'/);
  assert.doesNotMatch(h['content-security-policy'], /script-src/);
  assert.equal(h['x-frame-options'], 'DENY');
  assert.equal(h['cache-control'], 'no-store');
  return h;
}

async function login(page, user, password) {
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('login, consent and the code: a token for alice with what she allowed', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const f = start();
  const res = await page.goto(f.url);
  assert.equal(res.status(), 200);
  await securityHeaders(res);
  assert.equal(await page.title(), 'Sign in · Bastion');
  assert.equal(await page.locator('h1').innerText(), 'Sign in to Bastion');
  assert.match(await page.locator('main').innerText(), /Demo App wants to use Bastion/);
  await shot(page, 'login');

  await login(page, 'alice', 'wrong password!');
  assert.match(await page.getByRole('alert').innerText(), /Wrong user name or password/);
  assert.equal(await page.getByLabel('User name').inputValue(), 'alice');
  await shot(page, 'login-wrong-password');

  await login(page, 'alice', PASSWORDS.alice);
  await page.waitForURL(/\/signin\/consent\?id=/);
  await securityHeaders(await page.reload());
  assert.equal(await page.locator('h1').innerText(), 'Allow Demo App?');
  const main = await page.locator('main').innerText();
  assert.match(main, /Sends you back to\s+127\.0\.0\.1/);
  assert.match(main, /Configured by your administrator/);
  assert.match(main, /program on this computer/, 'the loopback warning');
  assert.match(main, /Every server and tool/);
  assert.match(main, /Stay signed in/);
  assert.match(await page.locator('footer').innerText(), /Signed in as alice/);
  await shot(page, 'consent');

  await page.getByLabel(/Remember my choice/).check();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(/\/callback\?/);
  const hit = cb.hits.at(-1);
  assert.equal(hit.state, f.state);
  assert.equal(hit.iss, server.base);
  assert.ok(hit.code);
  const t = await tokenRequest(server.base, {
    grant_type: 'authorization_code', code: hit.code, redirect_uri: cb.redirectUri,
    client_id: 'demo-app', code_verifier: f.verifier,
  });
  assert.equal(t.status, 200, JSON.stringify(t.json));
  const claims = JSON.parse(Buffer.from(t.json.access_token.split('.')[1], 'base64url'));
  assert.equal(claims.sub, 'alice');
  assert.match(t.json.scope, /mcp\.access/);
  assert.ok(t.json.refresh_token, 'offline_access gave a refresh token');

  // Remembered: the next sign-in of this client goes straight back.
  const g = start();
  await page.goto(g.url);
  await page.waitForURL(/\/callback\?/);
  assert.equal(cb.hits.at(-1).state, g.state);
  assert.ok(cb.hits.at(-1).code);

  // The account page lists it; revoking forgets it and kills the refresh token.
  const acc = await page.goto(`${server.base}/account`);
  await securityHeaders(acc);
  assert.match(await page.locator('main').innerText(), /Demo App[\s\S]*demo-app[\s\S]*127\.0\.0\.1/);
  await shot(page, 'account');
  await page.getByRole('button', { name: 'Revoke Demo App' }).click();
  await page.waitForURL(/\/account\?revoked=1/);
  assert.match(await page.locator('main').innerText(), /Access revoked[\s\S]*No application holds access/);
  await shot(page, 'account-revoked');
  const r = await tokenRequest(server.base, {
    grant_type: 'refresh_token', refresh_token: t.json.refresh_token, client_id: 'demo-app',
  });
  assert.equal(r.status, 400, JSON.stringify(r.json));
  assert.equal(r.json.error, 'invalid_grant');

  // And the consent page is back (still signed in: no login page).
  await page.goto(start().url);
  assert.equal(await page.locator('h1').innerText(), 'Allow Demo App?');
  await ctx.close();
});

test('deny: the client gets access_denied with state and iss, and no code', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const f = start('mcp:server:weather mcp:server:github');
  await page.goto(f.url);
  await login(page, 'bob', PASSWORDS.bob);
  await page.waitForURL(/\/signin\/consent\?id=/);
  const main = await page.locator('main').innerText();
  assert.match(main, /Server weather/);
  assert.match(main, /Not available to you[\s\S]*Server github/);
  await shot(page, 'consent-partial');
  await page.getByRole('button', { name: 'Deny' }).click();
  await page.waitForURL(/\/callback\?/);
  const hit = cb.hits.at(-1);
  assert.equal(hit.error, 'access_denied');
  assert.equal(hit.state, f.state);
  assert.equal(hit.iss, server.base);
  assert.equal(hit.code, undefined);
  await ctx.close();
});

test('a user with no access sees why, and can return to the application', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const f = start('mcp.access');
  await page.goto(f.url);
  await login(page, 'carol', PASSWORDS.carol);
  await page.waitForSelector('h1:text("No access for your account")');
  assert.match(await page.locator('main').innerText(), /carol\) holds none of the access/);
  await shot(page, 'error-no-access');
  await page.getByRole('button', { name: 'Return to the application' }).click();
  await page.waitForURL(/\/callback\?/);
  assert.equal(cb.hits.at(-1).error, 'access_denied');
  assert.equal(cb.hits.at(-1).state, f.state);
  await ctx.close();
});

test('cancel on the login page: access_denied', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const f = start();
  await page.goto(f.url);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.waitForURL(/\/callback\?/);
  assert.equal(cb.hits.at(-1).error, 'access_denied');
  assert.equal(cb.hits.at(-1).state, f.state);
  await ctx.close();
});

test('every error page says what went wrong, in the same look and with the same headers', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const cases = [
    { name: 'error-expired', url: `${server.base}/signin/consent?id=nonexistent`, status: 400, h1: 'This sign-in has expired' },
    { name: 'error-expired-login', url: `${server.base}/signin/login?id=nonexistent`, status: 400, h1: 'This sign-in has expired' },
    { name: 'error-not-found', url: `${server.base}/signin/nothing-here`, status: 404, h1: 'Page not found' },
    { name: 'error-unknown-client', url: authorizeUrl(server.base, { response_type: 'code', client_id: 'nobody', redirect_uri: cb.redirectUri, code_challenge: pkce().challenge, code_challenge_method: 'S256' }), status: 400, text: /client/i, own: false },
    { name: 'error-bad-redirect', url: authorizeUrl(server.base, { response_type: 'code', client_id: 'demo-app', redirect_uri: 'https://evil.example/callback', code_challenge: pkce().challenge, code_challenge_method: 'S256' }), status: 400, text: /redirect/i, own: false },
  ];
  for (const c of cases) {
    const res = await page.goto(c.url);
    assert.equal(res.status(), c.status, c.name);
    const h = await res.allHeaders();
    assert.match(h['content-security-policy'], /frame-ancestors 'none'/, c.name);
    if (c.h1) assert.equal(await page.locator('h1').innerText(), c.h1, c.name);
    if (c.text) assert.match(await page.locator('body').innerText(), c.text, c.name);
    if (c.own !== false) assert.equal(await page.getByRole('alert').count(), 1, c.name);
    await shot(page, c.name);
  }

  // A login form that went stale (its browser cookie is gone): 403, not a sign-in.
  const f = start();
  await page.goto(f.url);
  await ctx.clearCookies();
  await login(page, 'alice', PASSWORDS.alice);
  assert.equal(await page.locator('h1').innerText(), 'This form has expired');
  await shot(page, 'error-csrf');

  // Too many failures: the form says so and stops checking passwords.
  await page.goto(start().url);
  for (let i = 0; i < 3; ++i) await login(page, 'bob', `wrong password ${i}`);
  await login(page, 'bob', PASSWORDS.bob);
  assert.match(await page.getByRole('alert').innerText(), /Too many failed sign-in attempts/);
  await shot(page, 'error-throttled');
  await ctx.close();
});

test('the signed-in and signed-out pages', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${server.base}/signin/done`);
  assert.equal(await page.locator('h1').innerText(), 'Not signed in');
  await page.goto(`${server.base}/account`);
  await page.waitForURL(/\/signin\/login$/);
  await login(page, 'alice', PASSWORDS.alice);
  await page.waitForURL(/\/account$/);
  await page.goto(`${server.base}/signin/done`);
  assert.equal(await page.locator('h1').innerText(), 'You are signed in');
  assert.match(await page.locator('main').innerText(), /Signed in as alice/);
  await shot(page, 'signed-in');
  await page.getByRole('button', { name: 'Sign out' }).click();
  assert.equal(await page.locator('h1').innerText(), 'You are signed out');
  await shot(page, 'signed-out');
  await page.goto(`${server.base}/account`);
  await page.waitForURL(/\/signin\/login$/);
  await ctx.close();
});
