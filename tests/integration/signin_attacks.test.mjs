// Attacks on the authorization code flow of a real `bastion serve`, each next
// to the use it abuses: PKCE missing, plain or wrong; a code replayed (what it
// issued is revoked); redirect URIs that do not match and open-redirect
// attempts (an error page, never a redirect); a refresh token reused (the
// whole family is revoked, access tokens included); 401 challenges with a
// scope hint and 403 insufficient_scope; Dynamic Client Registration that
// survives a restart and `bastion client list|rm`. The user is played by the
// test-only auth.test_login (lib/signin.mjs).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { BIN, freePort, initialize, post, startWithConfig, tempDir, writeConfig, startServe } from './lib/bastion.mjs';
import { authorize, authorizeUrl, pkce, testLoginYaml, testUser, tokenRequest } from './lib/signin.mjs';

const alice = testUser('alice');
const bob = testUser('bob', ['mcp:tool:security/test_pii_detection']);
const APP_REDIRECT = 'https://app.example/cb';

function config() {
  return `auth:
${testLoginYaml([alice, bob])}  clients:
    - id: app
      client_name: Test app
      token_endpoint_auth_method: none
      redirect_uris: ['${APP_REDIRECT}', 'http://127.0.0.1/callback']
builtin_tools: {security: true}
`;
}

// The authorization request of a well-behaved client; `q` overrides.
function request(base, q = {}) {
  const p = pkce();
  const state = randomBytes(8).toString('hex');
  const url = authorizeUrl(base, {
    response_type: 'code', client_id: 'app', redirect_uri: APP_REDIRECT, code_challenge: p.challenge,
    code_challenge_method: 'S256', state, scope: 'mcp.access offline_access', resource: `${base}/mcp`, ...q,
  });
  return { url, state, verifier: p.verifier };
}

// Signs `user` in and redeems the code: {code, verifier, redirect, tokens}.
async function signIn(base, user, q = {}, tokenForm = {}) {
  const r = request(base, q);
  const a = await authorize(r.url, user);
  assert.equal(a.status, 302, a.body);
  assert.equal(a.params.state, r.state);
  assert.equal(a.params.iss, base);
  assert.ok(a.params.code, a.location);
  const redirect = q.redirect_uri ?? APP_REDIRECT;
  const t = await tokenRequest(base, {
    grant_type: 'authorization_code', code: a.params.code, redirect_uri: redirect,
    code_verifier: r.verifier, client_id: q.client_id ?? 'app', ...tokenForm,
  });
  assert.equal(t.status, 200, JSON.stringify(t.json));
  return { code: a.params.code, verifier: r.verifier, redirect, tokens: t.json };
}

// The HTTP status of an MCP initialize with this access token.
async function mcpStatus(base, token) {
  return (await post(`${base}/mcp`, {
    jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'it', version: '1' } },
  }, { authorization: `Bearer ${token}` })).status;
}

// Revocation reaches validation within a second (the list is re-read from disk).
async function eventuallyStatus(base, token, want) {
  for (let i = 0; i < 40; ++i) {
    const s = await mcpStatus(base, token);
    if (s === want) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(await mcpStatus(base, token), want);
}

describe('authorization code flow attacks', () => {
  let server, base;
  before(async () => {
    server = await startWithConfig(config());
    base = server.base;
  });
  after(async () => {
    assert.equal(await server.stop(), 0, server.stderr);
  });

  test('PKCE: a missing or plain challenge is refused at the authorization endpoint', async () => {
    for (const q of [{ code_challenge: undefined, code_challenge_method: undefined },
      { code_challenge_method: undefined },
      { code_challenge_method: 'plain' },
      { code_challenge: 'short', code_challenge_method: 'S256' }]) {
      const r = request(base, q);
      const a = await authorize(r.url, alice);
      assert.equal(a.status, 302, a.body);
      assert.ok(a.location.startsWith(`${APP_REDIRECT}?`), a.location);
      assert.equal(a.params.error, 'invalid_request', JSON.stringify(q));
      assert.equal(a.params.state, r.state);
      assert.equal(a.params.iss, base);
      assert.equal(a.params.code, undefined);
    }
  });

  test('PKCE: a missing or wrong verifier gets no token, and burns the code', async () => {
    for (const verifier of [undefined, 'x'.repeat(43), pkce().verifier]) {
      const r = request(base);
      const a = await authorize(r.url, alice);
      assert.equal(a.status, 302, a.body);
      const form = { grant_type: 'authorization_code', code: a.params.code, redirect_uri: APP_REDIRECT, client_id: 'app' };
      if (verifier) form.code_verifier = verifier;
      const bad = await tokenRequest(base, form);
      assert.equal(bad.status, 400);
      assert.equal(bad.json.error, 'invalid_grant', JSON.stringify(bad.json));
      assert.equal(bad.json.access_token, undefined);
      // The right verifier afterwards is too late: a code is tried once.
      const late = await tokenRequest(base, { ...form, code_verifier: r.verifier });
      assert.equal(late.status, 400);
      assert.equal(late.json.error, 'invalid_grant');
    }
  });

  test('a replayed code gets nothing and revokes what its first use issued', async () => {
    const s = await signIn(base, alice);
    assert.equal(await mcpStatus(base, s.tokens.access_token), 200);
    assert.ok(s.tokens.refresh_token);
    const again = await tokenRequest(base, {
      grant_type: 'authorization_code', code: s.code, redirect_uri: s.redirect, code_verifier: s.verifier, client_id: 'app',
    });
    assert.equal(again.status, 400);
    assert.equal(again.json.error, 'invalid_grant');
    assert.match(again.json.error_description, /already used/);
    await eventuallyStatus(base, s.tokens.access_token, 401);
    const rt = await tokenRequest(base, { grant_type: 'refresh_token', refresh_token: s.tokens.refresh_token, client_id: 'app' });
    assert.equal(rt.status, 400);
    assert.equal(rt.json.error, 'invalid_grant');
    const intro = await fetch(`${base}/oauth2/introspect`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: s.tokens.access_token }),
    });
    // Introspection needs client authentication; either way nothing active leaks.
    const ij = await intro.json();
    assert.notEqual(ij.active, true);
  });

  test('a code is bound to its client and redirect URI', async () => {
    const r = request(base);
    const a = await authorize(r.url, alice);
    const wrongRedirect = await tokenRequest(base, {
      grant_type: 'authorization_code', code: a.params.code, redirect_uri: 'http://127.0.0.1/callback', code_verifier: r.verifier, client_id: 'app',
    });
    assert.equal(wrongRedirect.status, 400);
    assert.equal(wrongRedirect.json.error, 'invalid_grant');
    // The loopback redirect matches on any port (RFC 8252 §7.3); its code works there only.
    const s = await signIn(base, alice, { redirect_uri: 'http://127.0.0.1:49152/callback' });
    assert.equal(await mcpStatus(base, s.tokens.access_token), 200);
  });

  test('redirect URI mismatch and open-redirect attempts get an error page, never a redirect', async () => {
    const attempts = [
      'https://evil.example/cb',
      'https://app.example/cb/',
      'https://app.example/cb?next=https://evil.example',
      'https://app.example/cb#x',
      'https://app.example/cb/../../evil',
      'https://app.example.evil.example/cb',
      'https://app.example@evil.example/cb',
      'https://evil.example@app.example/cb',
      'http://app.example/cb',
      'HTTPS://APP.EXAMPLE/cb/%2e%2e/evil',
      'https://app.example:8443/cb',
      'http://127.0.0.1:8080/other',
      'http://127.0.0.1.evil.example/callback',
      'http://localhost/callback',
      'javascript:alert(1)//https://app.example/cb',
      'data:text/html,<script>alert(1)</script>',
      '//evil.example/cb',
    ];
    for (const redirect_uri of attempts) {
      // A protocol error too (response_type=token): it must still not be redirected.
      for (const extra of [{}, { response_type: 'token' }, { code_challenge_method: 'plain' }]) {
        const r = request(base, { redirect_uri, ...extra });
        const a = await authorize(r.url, alice);
        assert.equal(a.status, 400, `${redirect_uri} ${JSON.stringify(extra)}: ${a.status} ${a.location}`);
        assert.equal(a.location, null, redirect_uri);
        assert.match(a.headers.get('content-type'), /text\/html/);
        assert.match(a.headers.get('content-security-policy'), /frame-ancestors 'none'/);
        assert.match(a.body, /Invalid redirect address/);
        assert.ok(!a.body.includes('<script>'), 'the page does not echo markup');
      }
    }
    // An unknown client: a page too, whatever its redirect_uri says.
    const unknown = await authorize(request(base, { client_id: 'nobody', redirect_uri: 'https://evil.example/cb' }).url, alice);
    assert.equal(unknown.status, 400);
    assert.equal(unknown.location, null);
    assert.match(unknown.body, /Unknown application/);
    // A redirect_uri is required when the client has more than one.
    const none = await authorize(request(base, { redirect_uri: undefined }).url, alice);
    assert.equal(none.status, 400);
    assert.equal(none.location, null);
  });

  test('a reused refresh token revokes the whole family, access tokens included', async () => {
    const s = await signIn(base, alice);
    const rt1 = s.tokens.refresh_token;
    const r2 = await tokenRequest(base, { grant_type: 'refresh_token', refresh_token: rt1, client_id: 'app' });
    assert.equal(r2.status, 200, JSON.stringify(r2.json));
    assert.notEqual(r2.json.refresh_token, rt1, 'rotated');
    assert.equal(await mcpStatus(base, r2.json.access_token), 200);
    // Another client may not use it.
    const other = await tokenRequest(base, { grant_type: 'refresh_token', refresh_token: r2.json.refresh_token, client_id: 'nobody' });
    assert.equal(other.status, 401);
    // The old one again: reuse. Everything of this sign-in dies.
    const reuse = await tokenRequest(base, { grant_type: 'refresh_token', refresh_token: rt1, client_id: 'app' });
    assert.equal(reuse.status, 400);
    assert.equal(reuse.json.error, 'invalid_grant');
    assert.match(reuse.json.error_description, /revoked/);
    const r3 = await tokenRequest(base, { grant_type: 'refresh_token', refresh_token: r2.json.refresh_token, client_id: 'app' });
    assert.equal(r3.status, 400);
    assert.equal(r3.json.error, 'invalid_grant');
    await eventuallyStatus(base, r2.json.access_token, 401);
    await eventuallyStatus(base, s.tokens.access_token, 401);
    // A forged secret in a real family is unknown, not reuse.
    const fresh = await signIn(base, alice);
    const family = fresh.tokens.refresh_token.split('.')[0];
    const forged = await tokenRequest(base, { grant_type: 'refresh_token', refresh_token: `${family}.${randomBytes(32).toString('base64url')}`, client_id: 'app' });
    assert.equal(forged.json.error, 'invalid_grant');
    const still = await tokenRequest(base, { grant_type: 'refresh_token', refresh_token: fresh.tokens.refresh_token, client_id: 'app' });
    assert.equal(still.status, 200);
  });

  // Attack: a client the user signed in to without "Stay signed in" (no
  // offline_access) held a refresh token that outlived the sign-in by weeks.
  test('a refresh token only when offline_access was asked for and granted', async () => {
    const without = await signIn(base, alice, { scope: 'mcp.access' });
    assert.equal(without.tokens.scope, 'mcp.access');
    assert.equal(await mcpStatus(base, without.tokens.access_token), 200);
    assert.equal(without.tokens.refresh_token, undefined, JSON.stringify(without.tokens));
    const withIt = await signIn(base, alice);
    assert.equal(withIt.tokens.scope, 'mcp.access offline_access');
    assert.ok(withIt.tokens.refresh_token);
  });

  test('a refresh may narrow the scope, never widen it', async () => {
    const s = await signIn(base, bob, { scope: 'mcp:tool:security/test_pii_detection offline_access' });
    const wide = await tokenRequest(base, { grant_type: 'refresh_token', refresh_token: s.tokens.refresh_token, client_id: 'app', scope: 'mcp.access' });
    assert.equal(wide.status, 400);
    assert.equal(wide.json.error, 'invalid_scope');
  });

  test('401 carries the scope hint; 403 insufficient_scope names the scope to step up to', async () => {
    const anon = await post(`${base}/mcp`, { jsonrpc: '2.0', id: 1, method: 'ping' });
    assert.equal(anon.status, 401);
    const h = anon.headers.get('www-authenticate');
    assert.match(h, /^Bearer /);
    // With sign-in: offline_access too (the SDKs ask for exactly these; a refresh token needs it).
    assert.match(h, /scope="mcp\.access offline_access"/);
    const prm = await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp`)).json();
    assert.deepEqual(prm.scopes_supported, ['mcp.access', 'offline_access']);
    assert.ok(h.includes(`resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`), h);
    const bad = await post(`${base}/mcp`, { jsonrpc: '2.0', id: 1, method: 'ping' }, { authorization: 'Bearer abc.def.ghi' });
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get('www-authenticate'), /error="invalid_token".*scope="mcp\.access offline_access"/);

    // bob may use one tool only: asking for more gets what bob holds.
    const s = await signIn(base, bob, { scope: 'mcp.access' }).catch(() => null);
    assert.equal(s, null, 'bob cannot be granted mcp.access');
    const narrow = await signIn(base, bob, { scope: 'mcp:tool:security/test_pii_detection' });
    assert.equal(narrow.tokens.scope, 'mcp:tool:security/test_pii_detection');
    const { sid } = await initialize(`${base}/mcp`, '2025-11-25', { authorization: `Bearer ${narrow.tokens.access_token}` });
    const call = await post(`${base}/mcp`, {
      jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'test_encryption', arguments: { text: 'x' } },
    }, { authorization: `Bearer ${narrow.tokens.access_token}`, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' });
    assert.equal(call.status, 403);
    const fh = call.headers.get('www-authenticate');
    assert.match(fh, /error="insufficient_scope"/);
    assert.match(fh, /scope="mcp:tool:security\/test_encryption"/);
  });
});

describe('dynamic client registration', () => {
  let server, port, dataDir, cfg;
  const start = () => startServe(['--config', cfg, '--listen', `127.0.0.1:${port}`], { dataDir });
  before(async () => {
    port = await freePort();
    dataDir = tempDir('bastion-dcr-');
    cfg = writeConfig(tempDir('bastion-cfg-'), config());
    server = await start();
  });
  after(async () => {
    assert.equal(await server.stop(), 0, server.stderr);
  });
  const register = (body, headers = {}) => fetch(`${server.base}/oauth2/register`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, json: await r.json() }));
  const cli = (...args) => execFileSync(BIN, ['client', ...args, '--config', cfg, '--data-dir', dataDir]).toString();

  test("Cursor's registration is accepted whole; one bad redirect URI fails all of it", async () => {
    const cursor = {
      client_name: 'Cursor', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback', 'https://www.cursor.com/agents/mcp/oauth/callback', 'http://localhost:8787/callback'],
    };
    const ok = await register(cursor);
    assert.equal(ok.status, 201, JSON.stringify(ok.json));
    assert.match(ok.json.client_id, /^bcl_/);
    assert.deepEqual(ok.json.redirect_uris, cursor.redirect_uris);
    assert.equal(ok.json.client_secret, undefined);
    const before = JSON.parse(cli('list', '--json')).length;
    for (const bad of ['javascript:alert(1)', 'https://evil.example/cb#frag', 'http://evil.example/cb', 'https://user:pw@evil.example/cb']) {
      const r = await register({ ...cursor, redirect_uris: [...cursor.redirect_uris, bad] });
      assert.equal(r.status, 400, bad);
      assert.equal(r.json.error, 'invalid_redirect_uri', bad);
    }
    assert.equal(JSON.parse(cli('list', '--json')).length, before, 'nothing was registered');
    const nonJson = await fetch(`${server.base}/oauth2/register`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(nonJson.status, 400);
  });

  // Attack (RFC 9700 §4.11.2): anyone may register a client whose redirect URI
  // is a phishing page and send a victim a broken authorization request; the
  // error must not send the victim there with Bastion's address in the link.
  test("a registered client's protocol errors are a page, never a redirect to its URI", async () => {
    const phish = 'https://phish.example/cb';
    const reg = await register({
      client_name: 'Trust me', token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [phish],
    });
    assert.equal(reg.status, 201, JSON.stringify(reg.json));
    const attacks = [{ scope: 'mcp.access "x' }, { response_type: 'token' }, { response_type: undefined },
      { code_challenge: undefined, code_challenge_method: undefined }, { code_challenge: 'short' },
      { code_challenge_method: 'plain' }, { resource: 'https://other.example/mcp' }, { prompt: 'none' }];
    for (const q of attacks) {
      const r = request(server.base, { client_id: reg.json.client_id, redirect_uri: phish, state: '<script>x</script>', ...q });
      // prompt=none: nobody signed in (no credentials), so login_required, with nobody asked.
      const a = await authorize(r.url, q.prompt ? undefined : alice);
      assert.equal(a.location, null, `${JSON.stringify(q)}: ${a.status} ${a.location}`);
      assert.equal(a.status, 400, JSON.stringify(q));
      assert.match(a.headers.get('content-type'), /text\/html/);
      assert.match(a.headers.get('content-security-policy'), /frame-ancestors 'none'/);
      assert.equal(a.headers.get('access-control-allow-origin'), null);
      assert.match(a.body, /sign-in request was refused/);
      assert.ok(!a.body.includes('<script>') && !a.body.includes('phish'), a.body);
    }
    // The client the operator configured keeps RFC 6749's redirect.
    for (const q of [{ scope: 'mcp.access "x' }, { response_type: 'token' }, { code_challenge: 'short' }, { prompt: 'none' }]) {
      const r = request(server.base, q);
      const a = await authorize(r.url, q.prompt ? undefined : alice);
      assert.equal(a.status, 302, `${JSON.stringify(q)}: ${a.body}`);
      assert.ok(a.location.startsWith(`${APP_REDIRECT}?`), a.location);
      assert.ok(a.params.error, a.location);
      assert.equal(a.params.state, r.state);
    }
    // A well-formed request of the registered client still signs in.
    const ok = request(server.base, { client_id: reg.json.client_id, redirect_uri: phish });
    const signedIn = await authorize(ok.url, alice);
    assert.equal(signedIn.status, 302, signedIn.body);
    assert.ok(signedIn.location.startsWith(`${phish}?`) && signedIn.params.code, signedIn.location);
  });

  test('a client not registered for refresh_token that asks for offline_access gets the rest, no refresh token', async () => {
    const reg = await register({
      token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: ['http://127.0.0.1/cb'],
    });
    assert.equal(reg.status, 201, JSON.stringify(reg.json));
    const p = pkce();
    const a = await authorize(authorizeUrl(server.base, {
      response_type: 'code', client_id: reg.json.client_id, redirect_uri: 'http://127.0.0.1:5000/cb',
      code_challenge: p.challenge, code_challenge_method: 'S256', scope: 'mcp.access offline_access', state: 's',
    }), alice);
    assert.equal(a.status, 302, a.body);
    assert.ok(a.params.code, a.location);
    const t = await tokenRequest(server.base, {
      grant_type: 'authorization_code', code: a.params.code, redirect_uri: 'http://127.0.0.1:5000/cb',
      code_verifier: p.verifier, client_id: reg.json.client_id,
    });
    assert.equal(t.status, 200, JSON.stringify(t.json));
    assert.equal(t.json.scope, 'mcp.access');
    assert.equal(t.json.refresh_token, undefined);
  });

  test('registered clients sign in, survive a restart, and `bastion client rm` revokes them', async () => {
    const reg = await register({
      client_name: 'Restart test', token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['http://127.0.0.1/cb'],
    });
    assert.equal(reg.status, 201, JSON.stringify(reg.json));
    const id = reg.json.client_id;
    const basic = { authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(reg.json.client_secret)}`).toString('base64')}` };
    const p = pkce();
    const a = await authorize(authorizeUrl(server.base, {
      response_type: 'code', client_id: id, redirect_uri: 'http://127.0.0.1:5000/cb', code_challenge: p.challenge,
      code_challenge_method: 'S256', scope: 'mcp.access offline_access', state: 's',
    }), alice);
    assert.equal(a.status, 302, a.body);
    const form = { grant_type: 'authorization_code', code: a.params.code, redirect_uri: 'http://127.0.0.1:5000/cb', code_verifier: p.verifier };
    // A confidential client without its secret gets nothing.
    const noSecret = await tokenRequest(server.base, { ...form, client_id: id });
    assert.equal(noSecret.status, 401);
    assert.equal(noSecret.json.error, 'invalid_client');
    // Client authentication comes before the code is looked at: the code still works.
    const t = await tokenRequest(server.base, form, basic);
    assert.equal(t.status, 200, JSON.stringify(t.json));
    assert.equal(await mcpStatus(server.base, t.json.access_token), 200);

    // A restart (same data directory and address): the client and its grant are still there.
    assert.equal(await server.stop(), 0, server.stderr);
    server = await start();
    const listed = JSON.parse(cli('list', '--json'));
    const row = listed.find((c) => c.client_id === id);
    assert.ok(row, JSON.stringify(listed));
    assert.equal(row.kind, 'registered');
    assert.equal(row.client_name, 'Restart test');
    assert.equal(row.active_grants, 1);
    assert.ok(listed.find((c) => c.client_id === 'app' && c.kind === 'configured'));
    assert.match(cli('list'), new RegExp(`${id}  registered`));
    const r2 = await tokenRequest(server.base, { grant_type: 'refresh_token', refresh_token: t.json.refresh_token }, basic);
    assert.equal(r2.status, 200, JSON.stringify(r2.json));
    assert.equal(await mcpStatus(server.base, r2.json.access_token), 200);

    // `bastion client rm`: the client is gone, so is everything it was issued.
    assert.throws(() => cli('rm', 'app'), /configured in auth.clients/);
    assert.throws(() => cli('rm', 'bcl_nonexistent'), /no registered client/);
    assert.match(cli('rm', id), /removed/);
    assert.ok(!JSON.parse(cli('list', '--json')).some((c) => c.client_id === id));
    await eventuallyStatus(server.base, r2.json.access_token, 401);
    const r3 = await tokenRequest(server.base, { grant_type: 'refresh_token', refresh_token: r2.json.refresh_token }, basic);
    assert.equal(r3.status, 401);
    assert.equal(r3.json.error, 'invalid_client');
    const gone = await authorize(authorizeUrl(server.base, {
      response_type: 'code', client_id: id, redirect_uri: 'http://127.0.0.1:5000/cb', code_challenge: p.challenge, code_challenge_method: 'S256',
    }), alice);
    assert.equal(gone.status, 400);
    assert.match(gone.body, /Unknown application/);
  });
});

describe('replicas sharing the auth directory, registration gated by an initial access token', () => {
  let a, b, issuer;
  const iat = randomBytes(24).toString('base64url');
  before(async () => {
    const dir = tempDir('bastion-rep-');
    issuer = `http://127.0.0.1:${await freePort()}`;  // the load balancer's address in real life
    writeConfig(dir, `${iat}\n`, 'iat');
    const yaml = `auth:
  issuer: ${issuer}
  data_dir: ${dir}/shared-auth
  registration:
    mode: token
    initial_access_token_file: ${dir}/iat
${testLoginYaml([alice])}`;
    a = await startWithConfig(yaml);
    b = await startWithConfig(yaml);
  });
  after(async () => {
    assert.equal(await a.stop(), 0, a.stderr);
    assert.equal(await b.stop(), 0, b.stderr);
  });

  test('registration needs the token; what one replica registers and issues, the other honours once', async () => {
    const body = JSON.stringify({ client_name: 'Replicated', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['http://127.0.0.1/cb'] });
    const reg = (headers) => fetch(`${a.base}/oauth2/register`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
      .then(async (r) => ({ status: r.status, headers: r.headers, json: await r.json() }));
    for (const h of [{}, { authorization: 'Bearer wrong-token-wrong-token' }, { authorization: `Basic ${iat}` }]) {
      const r = await reg(h);
      assert.equal(r.status, 401, JSON.stringify(h));
      assert.equal(r.json.error, 'invalid_token');
      assert.match(r.headers.get('www-authenticate'), /^Bearer /);
    }
    const ok = await reg({ authorization: `Bearer ${iat}` });
    assert.equal(ok.status, 201, JSON.stringify(ok.json));
    const id = ok.json.client_id;
    // Sign in at b, redeem at a, refresh at b, replay the code at b.
    const p = pkce();
    const az = await authorize(authorizeUrl(b.base, {
      response_type: 'code', client_id: id, redirect_uri: 'http://127.0.0.1:7000/cb', code_challenge: p.challenge,
      code_challenge_method: 'S256', scope: 'mcp.access offline_access', state: 'x',
    }), alice);
    assert.equal(az.status, 302, az.body);
    assert.equal(az.params.iss, issuer);
    const form = { grant_type: 'authorization_code', code: az.params.code, redirect_uri: 'http://127.0.0.1:7000/cb', code_verifier: p.verifier, client_id: id };
    const t = await tokenRequest(a.base, form);
    assert.equal(t.status, 200, JSON.stringify(t.json));
    assert.equal(await mcpStatus(b.base, t.json.access_token), 200);
    const r = await tokenRequest(b.base, { grant_type: 'refresh_token', refresh_token: t.json.refresh_token, client_id: id });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const replay = await tokenRequest(b.base, form);
    assert.equal(replay.json.error, 'invalid_grant');
    // The replay on b revoked what a issued and what b refreshed, on both.
    await eventuallyStatus(a.base, r.json.access_token, 401);
    await eventuallyStatus(b.base, t.json.access_token, 401);
  });
});

describe('the client address reaches the authorization server', () => {
  let server, cfg, dataDir;
  before(async () => {
    dataDir = tempDir('bastion-src-');
    cfg = writeConfig(tempDir('bastion-cfg-'), `auth:
${testLoginYaml([alice])}  registration:
    per_source_per_hour: 2
`);
    server = await startServe(['--config', cfg], { dataDir });
  });
  after(async () => {
    assert.equal(await server.stop(), 0, server.stderr);
  });
  // POST /oauth2/register from a chosen local address (127.0.0.0/8 is all loopback on Linux).
  const registerFrom = (localAddress, headers = {}) => new Promise((resolve, reject) => {
    const body = JSON.stringify({ client_name: `from ${localAddress}`, token_endpoint_auth_method: 'none', redirect_uris: ['http://127.0.0.1/cb'] });
    const u = new URL(`${server.base}/oauth2/register`);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', localAddress,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });

  test('registration limits count per client address, and the address cannot be claimed by a header', async () => {
    assert.equal((await registerFrom('127.0.0.1')).status, 201);
    assert.equal((await registerFrom('127.0.0.1')).status, 201);
    const third = await registerFrom('127.0.0.1');
    assert.equal(third.status, 429, JSON.stringify(third.json));
    // Claiming another address in the field the transport sets does not help...
    const spoof = await registerFrom('127.0.0.1', { 'bastion-peer-address': '10.1.2.3' });
    assert.equal(spoof.status, 429);
    // ...but another address really is another source.
    const other = await registerFrom('127.0.0.2');
    assert.equal(other.status, 201, JSON.stringify(other.json));
    const listed = JSON.parse(execFileSync(BIN, ['client', 'list', '--json', '--config', cfg, '--data-dir', dataDir]).toString());
    assert.deepEqual(listed.map((c) => c.registered_from).sort(), ['127.0.0.1', '127.0.0.1', '127.0.0.2']);
  });
});
