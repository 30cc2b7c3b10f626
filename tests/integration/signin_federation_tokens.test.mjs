// Federated login against a provider that lies: a fake OpenID provider on
// 127.0.0.1 whose token endpoint answers with ID tokens that are forged,
// addressed to another client, replayed from another sign-in, expired or
// from another issuer. Each is refused with no session; the honest token
// right after signs in (so the refusals are the checks, not a broken setup).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createPublicKey } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { authorizeUrl, pkce, startFederatedGateway } from './lib/signin.mjs';

let server, idp, issuer, key, otherKey, jwk;
let nextIdToken = async () => '';
let lastNonce = '';

before(async () => {
  ({ privateKey: key } = await generateKeyPair('ES256'));
  ({ privateKey: otherKey } = await generateKeyPair('ES256'));
  idp = http.createServer(async (req, res) => {
    const u = new URL(req.url, issuer);
    const json = (o) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(o));
    if (u.pathname === '/.well-known/openid-configuration')
      return json({ issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks` });
    if (u.pathname === '/jwks') return json({ keys: [jwk] });
    if (u.pathname === '/token') {
      let body = '';
      for await (const c of req) body += c;
      assert.match(req.headers.authorization, /^Basic /);
      assert.match(body, /code_verifier=/);
      return json({ access_token: 'x', token_type: 'Bearer', id_token: await nextIdToken() });
    }
    res.writeHead(404).end();
  });
  await new Promise((r) => idp.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${idp.address().port}`;
  // The published key is the public half of `key`.
  const publicKey = createPublicKey(key);
  jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  server = await startFederatedGateway(issuer, 'name: fake');
});
after(async () => {
  await new Promise((r) => idp.close(r));
  assert.equal(await server.stop(), 0, server.stderr);
});

const cookiesOf = (res) => res.headers.getSetCookie().map((c) => c.split(';')[0]);

// Bastion's provider button, up to the redirect to the provider; then the
// provider's answer comes back to the same browser (cookie) with the state.
async function signInWith(idToken) {
  nextIdToken = idToken;
  const start = await fetch(authorizeUrl(server.base, {
    response_type: 'code', client_id: 'demo-app', redirect_uri: 'http://127.0.0.1:9/callback',
    code_challenge: pkce().challenge, code_challenge_method: 'S256', state: 's', scope: 'mcp.access',
  }));
  const html = await start.text();
  const cookie = cookiesOf(start).join('; ');
  const field = (n) => new RegExp(`name="${n}" value="([^"]*)"`).exec(html)[1];
  const go = await fetch(`${server.base}/signin/federated`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ id: field('id'), provider: 'fake', csrf: field('csrf') }),
  });
  assert.equal(go.status, 303);
  const at = new URL(go.headers.get('location'));
  assert.equal(`${at.origin}${at.pathname}`, `${issuer}/authorize`);
  lastNonce = at.searchParams.get('nonce');
  const back = await fetch(`${server.base}/signin/callback/fake?code=c0de&state=${at.searchParams.get('state')}`,
    { redirect: 'manual', headers: { cookie } });
  return { status: back.status, text: await back.text(), session: cookiesOf(back).some((c) => c.startsWith('bastion_session=')) };
}

const now = () => Math.floor(Date.now() / 1000);
function idToken(claims = {}, { signer = key, kid = 'k1', alg = 'ES256' } = {}) {
  return async () => new SignJWT({ nonce: lastNonce, ...claims })
    .setProtectedHeader({ alg, kid })
    .setIssuer(claims.iss ?? issuer).setAudience(claims.aud ?? 'bastion').setSubject('u1')
    .setIssuedAt(claims.iat ?? now()).setExpirationTime(claims.exp ?? now() + 300)
    .sign(signer);
}

test('forged, misaddressed, replayed, expired or foreign ID tokens are refused; the honest one signs in', async () => {
  const cases = [
    ['signed by another key', idToken({}, { signer: otherKey }), /signature is wrong/],
    ['an unknown kid', idToken({}, { kid: 'k2' }), /unknown key/],
    ['alg none', async () => `${Buffer.from('{"alg":"none","kid":"k1"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: issuer, aud: 'bastion', sub: 'u1', nonce: lastNonce, iat: now(), exp: now() + 300 })).toString('base64url')}.`, /signature is wrong|malformed/],
    ['for another client', idToken({ aud: 'someone-else' }), /another client/],
    ['from another issuer', idToken({ iss: 'http://127.0.0.1:1' }), /another issuer/],
    ['expired', idToken({ exp: now() - 600, iat: now() - 900 }), /expired/],
    ['another sign-in\'s nonce', idToken({ nonce: 'not-this-one' }), /nonce is wrong/],
    ['several audiences without azp', idToken({ aud: ['bastion', 'other'] }), /azp/],
  ];
  for (const [what, token, why] of cases) {
    const r = await signInWith(token);
    assert.equal(r.status, 400, what);
    assert.match(r.text, why, what);
    assert.equal(r.session, false, `${what}: no session`);
  }
  const ok = await signInWith(idToken());
  assert.equal(ok.status, 303, ok.text);
  assert.equal(ok.session, true);
});
