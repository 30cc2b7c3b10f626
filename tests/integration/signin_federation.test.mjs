// Federated login against a real OpenID provider: oidc-provider (npm) on
// 127.0.0.1 with its development login pages, driven by chromium. Its
// users' `groups` claim maps to Bastion groups and so to scopes; the
// answers an attacker could replay or plant are refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Provider from 'oidc-provider';
import { startWithConfig, tempDir } from './lib/bastion.mjs';
import { callbackServer, launch, shot } from './lib/browser.mjs';
import { authorizeUrl, pkce, tokenRequest } from './lib/signin.mjs';

let server, browser, cb, idp, idpServer, issuer;
const SECRET = 'bastion-at-the-idp-secret-0123456789';

before(async () => {
  idpServer = http.createServer();
  await new Promise((r) => idpServer.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${idpServer.address().port}`;
  const dir = tempDir();
  const secretFile = path.join(dir, 'corp.secret');
  writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
  server = await startWithConfig(`auth:
  login:
    local_users: false
    providers:
      - name: corp
        display_name: Corp SSO
        issuer: ${issuer}
        client_id: bastion
        client_secret_file: ${secretFile}
        scopes: [openid, profile, groups]
        groups_claim: groups
        groups: {eng-team: engineering}
  access:
    groups:
      engineering: {scopes: ['mcp:server:github']}
  clients:
    - id: demo-app
      client_name: Demo App
      redirect_uris: ['http://127.0.0.1/callback']
`);
  idp = new Provider(issuer, {
    clients: [{
      client_id: 'bastion', client_secret: SECRET,
      redirect_uris: [`${server.base}/signin/callback/corp`],
      grant_types: ['authorization_code'], response_types: ['code'],
    }],
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, preferred_username: id, groups: id === 'erin' ? ['eng-team', 'unmapped'] : ['unmapped'] };
        },
      };
    },
    claims: { openid: ['sub'], profile: ['preferred_username'], groups: ['groups'] },
    scopes: ['openid', 'profile', 'groups'],
    conformIdTokenClaims: false,
  });
  idpServer.on('request', idp.callback());
  browser = await launch();
  cb = await callbackServer();
});
after(async () => {
  await browser?.close();
  await cb?.close();
  await new Promise((r) => idpServer.close(r));
  assert.equal(await server.stop(), 0, server.stderr);
});

function start(scope) {
  const p = pkce();
  const url = authorizeUrl(server.base, {
    response_type: 'code', client_id: 'demo-app', redirect_uri: cb.redirectUri,
    code_challenge: p.challenge, code_challenge_method: 'S256', state: 'st', scope,
    resource: `${server.base}/mcp`,
  });
  return { url, verifier: p.verifier };
}

// Plays the user at the provider's development login and consent pages.
async function atProvider(page, user) {
  await page.waitForURL(new RegExp(`^${issuer}/interaction/`));
  await page.locator('input[name=login]').fill(user);
  await page.locator('input[name=password]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.waitForURL(new RegExp(`^${issuer}/interaction/`));
  await page.getByRole('button', { name: 'Continue' }).click();
}

test('sign in with the provider: groups from its claims decide the scopes; the token is for corp|erin', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const f = start('mcp:server:github');
  await page.goto(f.url);
  assert.equal(await page.locator('h1').innerText(), 'Sign in to Bastion');
  assert.equal(await page.getByLabel('Password').count(), 0, 'local_users: false: no password form');
  await shot(page, 'login-federated');
  await page.getByRole('button', { name: 'Sign in with Corp SSO' }).click();
  await atProvider(page, 'erin');
  await page.waitForSelector('h1:text("Allow Demo App?")');
  const main = await page.locator('main').innerText();
  assert.match(main, /as erin \(Corp SSO\)/);
  assert.match(main, /Server github/);
  await shot(page, 'consent-federated');
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(/\/callback\?/);
  const hit = cb.hits.at(-1);
  assert.ok(hit.code, JSON.stringify(hit));
  const t = await tokenRequest(server.base, {
    grant_type: 'authorization_code', code: hit.code, redirect_uri: cb.redirectUri,
    client_id: 'demo-app', code_verifier: f.verifier,
  });
  assert.equal(t.status, 200, JSON.stringify(t.json));
  const claims = JSON.parse(Buffer.from(t.json.access_token.split('.')[1], 'base64url'));
  assert.equal(claims.sub, 'corp|erin');
  assert.equal(t.json.scope, 'mcp:server:github');
  await ctx.close();
});

test('a provider user whose groups map to nothing gets no access', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(start('mcp:server:github').url);
  await page.getByRole('button', { name: 'Sign in with Corp SSO' }).click();
  await atProvider(page, 'frank');
  await page.waitForSelector('h1:text("No access for your account")');
  assert.match(await page.locator('main').innerText(), /frank \(Corp SSO\)/);
  await ctx.close();
});

// The attacker's side without a browser: a cookie jar and manual redirects
// through Bastion's provider button and the provider's development pages,
// stopping at the redirect back to Bastion (the answer is kept, not used).
async function attackerCallbackUrl() {
  const jar = new Map();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const keep = (res) => {
    for (const c of res.headers.getSetCookie()) {
      const [kv] = c.split(';');
      const at = kv.indexOf('=');
      jar.set(kv.slice(0, at), kv.slice(at + 1));
    }
  };
  const go = async (url, init = {}) => {
    const res = await fetch(url, { redirect: 'manual', ...init, headers: { cookie: cookie(), ...(init.headers ?? {}) } });
    keep(res);
    return res;
  };
  let res = await go(start('mcp:server:github').url);
  const html = await res.text();
  const field = (name) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)[1];
  res = await go(`${server.base}/signin/federated`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ id: field('id'), provider: 'corp', csrf: field('csrf') }),
  });
  let location = res.headers.get('location');
  for (let i = 0; i < 20; ++i) {
    if (location.startsWith(`${server.base}/signin/callback/`)) return location;
    res = await go(new URL(location, issuer).toString());
    if (res.status === 200) {
      const page = await res.text();
      const action = /action="([^"]*)"/.exec(page)[1];
      const prompt = /name="prompt" value="([^"]*)"/.exec(page)[1];
      res = await go(new URL(action, issuer).toString(), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ prompt, login: 'erin', password: 'any password' }),
      });
    }
    location = res.headers.get('location');
  }
  throw new Error('the provider never redirected back');
}

test("login CSRF: a provider answer made in the attacker's browser does not sign in the victim's", async () => {
  const captured = await attackerCallbackUrl();
  // The victim's browser is made to open it.
  const victim = await browser.newContext();
  const v = await victim.newPage();
  const res = await v.goto(captured);
  assert.equal(res.status(), 400);
  assert.equal(await v.locator('h1').innerText(), 'Sign-in failed');
  assert.match(await v.locator('main').innerText(), /belongs to another browser/);
  assert.equal((await victim.cookies()).filter((c) => c.name === 'bastion_session').length, 0);
  await shot(v, 'error-federated');
  // And the answer is spent: replaying it fails too.
  await v.goto(captured);
  assert.match(await v.locator('main').innerText(), /already used/);
  // A made-up state is nobody's.
  await v.goto(`${server.base}/signin/callback/corp?code=x&state=madeup`);
  assert.match(await v.locator('main').innerText(), /expired or was not started here/);
  await victim.close();
});
