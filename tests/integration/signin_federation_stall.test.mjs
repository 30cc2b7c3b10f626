// Federated login against a provider that accepts connections and never
// answers (127.0.0.1, port 0). The sign-in fails once its deadline has
// passed, with a clear error; meanwhile the login page, the metadata and a
// second sign-in are answered (the stalled call holds no lock the others
// need and does not queue them behind it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { eventually } from './lib/bastion.mjs';
import { authorizeUrl, pkce, startFederatedGateway } from './lib/signin.mjs';

let server, idp, issuer;
const held = [];
let connected;
const firstConnection = new Promise((r) => { connected = r; });

before(async () => {
  idp = net.createServer((socket) => {
    held.push(socket);  // read nothing, answer nothing
    connected();
  });
  await new Promise((r) => idp.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${idp.address().port}`;
  server = await startFederatedGateway(issuer, 'name: stall, display_name: Stall SSO');
});
after(async () => {
  for (const s of held) s.destroy();
  await new Promise((r) => idp.close(r));
  assert.equal(await server.stop(), 0, server.stderr);
});

const cookiesOf = (res) => res.headers.getSetCookie().map((c) => c.split(';')[0]);
const loginPageUrl = () => authorizeUrl(server.base, {
  response_type: 'code', client_id: 'demo-app', redirect_uri: 'http://127.0.0.1/callback',
  code_challenge: pkce().challenge, code_challenge_method: 'S256', state: 's', scope: 'mcp.access',
});

test('a stalled provider: its sign-in fails at the deadline; the login page, metadata and other sign-ins are served meanwhile', { timeout: 180000 }, async () => {
  const start = await fetch(loginPageUrl());
  assert.equal(start.status, 200);
  const html = await start.text();
  const cookie = cookiesOf(start).join('; ');
  const field = (n) => new RegExp(`name="${n}" value="([^"]*)"`).exec(html)[1];
  const signIn = () => fetch(`${server.base}/signin/federated`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ id: field('id'), provider: 'stall', csrf: field('csrf') }),
  });

  const order = [];
  const stalled = signIn().then(async (r) => { order.push('stalled sign-in'); return { status: r.status, text: await r.text() }; });
  await firstConnection;  // the sign-in is now waiting on the provider
  const others = [
    fetch(loginPageUrl()).then((r) => { order.push('login page'); return r.status; }),
    fetch(`${server.base}/.well-known/oauth-authorization-server`).then((r) => { order.push('metadata'); return r.status; }),
    signIn().then(async (r) => { order.push('second sign-in'); return { status: r.status, text: await r.text() }; }),
  ];
  // A generous bound, only so that a gateway that hangs fails instead of hanging the suite.
  const bound = new Promise((r) => setTimeout(() => r('none'), 60000).unref());
  const first = await Promise.race([Promise.all(others).then(() => 'others'), stalled.then(() => 'stalled'), bound]);
  assert.equal(first, 'others', `answered in this order: ${order.join(', ') || 'nothing'}`);
  const [page, metadata, second] = await Promise.all(others);
  assert.equal(page, 200);
  assert.equal(metadata, 200);
  // The second sign-in does not queue behind the first: it is told at once.
  assert.equal(second.status, 502);
  assert.match(second.text, /Stall SSO cannot be reached right now/);

  const r = await Promise.race([stalled, bound]);
  assert.notEqual(r, 'none', 'the stalled sign-in never gave up');
  assert.equal(r.status, 502);
  assert.match(r.text, /Stall SSO cannot be reached right now/);
  assert.ok(await eventually(() => /provider stall: no answer within 10000 ms/.test(server.stderr)), server.stderr);
});
