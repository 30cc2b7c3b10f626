// Bastion's authorization server driven by independent OAuth2/JOSE client
// libraries (panva's oauth4webapi, openid-client and jose): discovery
// (RFC 8414, RFC 9728), client_credentials with client_secret_basic and
// client_secret_post, RFC 9068 access-token validation against the JWKS,
// introspection, revocation, and the bearer challenge on /mcp.
//
// Needs a running bastion with auth enabled:
//   BASTION_URL=http://127.0.0.1:PORT   (the issuer / public base URL)
//   BASTION_CLIENT_ID, BASTION_CLIENT_SECRET  (a client allowed mcp.access)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import * as jose from 'jose';

const BASE = process.env.BASTION_URL;
const CLIENT_ID = process.env.BASTION_CLIENT_ID;
const SECRET = process.env.BASTION_CLIENT_SECRET;
const skip = !BASE || !CLIENT_ID || !SECRET
  ? 'BASTION_URL, BASTION_CLIENT_ID and BASTION_CLIENT_SECRET are not set: start bastion with auth and export them'
  : false;

const insecure = { [oauth.allowInsecureRequests]: BASE?.startsWith('http:') };
const resource = () => `${BASE}/mcp`;

async function discover() {
  const issuer = new URL(BASE);
  const res = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure });
  return oauth.processDiscoveryResponse(issuer, res);
}

test('oauth4webapi: discovery, client_secret_basic token, RFC 9068 validation', { skip }, async () => {
  const as = await discover();
  assert.equal(as.issuer, BASE);
  assert.deepEqual(as.grant_types_supported, ['client_credentials']);
  const c = { client_id: CLIENT_ID };
  const res = await oauth.clientCredentialsGrantRequest(
    as, c, oauth.ClientSecretBasic(SECRET), new URLSearchParams({ scope: 'mcp.access' }), insecure);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const tokens = await oauth.processClientCredentialsResponse(as, c, res);
  assert.equal(tokens.token_type, 'bearer');  // oauth4webapi lower-cases it
  assert.equal(tokens.scope, 'mcp.access');
  assert.ok(tokens.expires_in > 0);

  const alg = as.access_token_signing_alg_values_supported?.[0];
  if (alg !== 'HS256') {
    const req = new Request(resource(), { headers: { authorization: `Bearer ${tokens.access_token}` } });
    const claims = await oauth.validateJwtAccessToken(as, req, resource(), insecure);
    assert.equal(claims.client_id, CLIENT_ID);
    assert.equal(claims.iss, BASE);
  }
});

test('oauth4webapi: RFC 6749 errors surface as ResponseBodyError', { skip }, async () => {
  const as = await discover();
  const c = { client_id: CLIENT_ID };
  const bad = await oauth.clientCredentialsGrantRequest(
    as, c, oauth.ClientSecretBasic('wrong-secret'), new URLSearchParams(), insecure);
  assert.equal(bad.status, 401);
  assert.match(bad.headers.get('www-authenticate'), /^Basic realm="/);
  // With a Basic challenge present, oauth4webapi reports the challenge.
  await assert.rejects(oauth.processClientCredentialsResponse(as, c, bad),
    (e) => e instanceof oauth.WWWAuthenticateChallengeError && e.cause[0].scheme === 'basic');
  const post = await oauth.clientCredentialsGrantRequest(
    as, c, oauth.ClientSecretPost('wrong-secret'), new URLSearchParams(), insecure);
  await assert.rejects(oauth.processClientCredentialsResponse(as, c, post),
    (e) => e instanceof oauth.ResponseBodyError && e.error === 'invalid_client' && e.status === 401);
  const scope = await oauth.clientCredentialsGrantRequest(
    as, c, oauth.ClientSecretBasic(SECRET), new URLSearchParams({ scope: 'no-such-scope' }), insecure);
  await assert.rejects(oauth.processClientCredentialsResponse(as, c, scope),
    (e) => e instanceof oauth.ResponseBodyError && e.error === 'invalid_scope');
});

test('openid-client: client_secret_post, introspection, revocation', { skip }, async () => {
  const config = await client.discovery(new URL(BASE), CLIENT_ID, SECRET, client.ClientSecretPost(SECRET), {
    algorithm: 'oauth2',
    execute: BASE.startsWith('http:') ? [client.allowInsecureRequests] : [],
  });
  const tokens = await client.clientCredentialsGrant(config, { scope: 'mcp.access' });
  assert.ok(tokens.access_token);
  const active = await client.tokenIntrospection(config, tokens.access_token);
  assert.equal(active.active, true);
  assert.equal(active.client_id, CLIENT_ID);
  assert.equal(active.aud, resource());
  await client.tokenRevocation(config, tokens.access_token);
  const after = await client.tokenIntrospection(config, tokens.access_token);
  assert.deepEqual(after, { active: false });
  // Revoking garbage is still 200 (RFC 7009 §2.2).
  await client.tokenRevocation(config, 'not-a-token');
});

test('jose: tokens verify against the published JWKS with pinned claims', { skip }, async () => {
  const as = await discover();
  const alg = as.access_token_signing_alg_values_supported?.[0];
  if (alg === 'HS256') return;  // HS256 keys are never published
  const c = { client_id: CLIENT_ID };
  const tokens = await oauth.processClientCredentialsResponse(as, c,
    await oauth.clientCredentialsGrantRequest(as, c, oauth.ClientSecretBasic(SECRET), new URLSearchParams(), insecure));
  const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri));
  const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, {
    issuer: BASE, audience: resource(), typ: 'at+jwt', algorithms: [alg],
  });
  assert.equal(protectedHeader.kid, (await (await fetch(as.jwks_uri)).json()).keys[0].kid);
  assert.equal(payload.client_id, CLIENT_ID);
  assert.match(payload.jti, /^[A-Za-z0-9_-]{22}$/);
  // The kid is the RFC 7638 thumbprint of the key.
  const jwk = (await (await fetch(as.jwks_uri)).json()).keys[0];
  assert.equal(await jose.calculateJwkThumbprint(jwk), jwk.kid);
  // A token signed by someone else with the same kid is rejected by Bastion.
  const { privateKey } = await jose.generateKeyPair(alg);
  const forged = await new jose.SignJWT({ ...payload })
    .setProtectedHeader({ alg, typ: 'at+jwt', kid: protectedHeader.kid }).sign(privateKey);
  const res = await fetch(`${BASE}/hello`, { headers: { authorization: `Bearer ${forged}` } });
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate'), /error="invalid_token"/);
});

test('protected resource: RFC 9728 metadata, bearer challenge, /hello', { skip }, async () => {
  const rs = await oauth.processResourceDiscoveryResponse(new URL(resource()),
    await oauth.resourceDiscoveryRequest(new URL(resource()), insecure));
  assert.equal(rs.resource, resource());
  assert.deepEqual(rs.authorization_servers.slice(0, 1), [BASE]);

  const res = await fetch(resource(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(res.status, 401);
  const challenge = res.headers.get('www-authenticate');
  assert.match(challenge, /^Bearer /);
  assert.ok(challenge.includes(`resource_metadata="${BASE}/.well-known/oauth-protected-resource/mcp"`), challenge);

  const as = await discover();
  const c = { client_id: CLIENT_ID };
  const tokens = await oauth.processClientCredentialsResponse(as, c,
    await oauth.clientCredentialsGrantRequest(as, c, oauth.ClientSecretBasic(SECRET), new URLSearchParams({ scope: 'mcp.access' }), insecure));
  const hello = await fetch(`${BASE}/hello`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(hello.status, 200);
  const body = await hello.json();
  assert.equal(body.authenticated_client, CLIENT_ID);
  assert.ok(body.message);
  assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
});
