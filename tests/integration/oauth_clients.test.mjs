// Bastion's authorization server driven by independent OAuth2/JOSE client
// libraries (panva's oauth4webapi, openid-client and jose) and by the
// official MCP TypeScript SDK: discovery (RFC 8414, RFC 9728),
// client_credentials with client_secret_basic and client_secret_post, RFC 9068
// access-token validation against the JWKS, introspection, revocation, the
// bearer challenge on /mcp and scope-limited catalogues. Every case runs
// against a real `bastion serve` for each signing algorithm.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import * as jose from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { BIN, authYaml, fetchToken, newClient, startWithConfig } from './lib/bastion.mjs';

let BASE, CLIENT_ID, SECRET;
const skip = false;
const insecure = () => ({ [oauth.allowInsecureRequests]: BASE.startsWith('http:') });
const resource = () => `${BASE}/mcp`;

async function discover() {
  const issuer = new URL(BASE);
  const res = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure() });
  return oauth.processDiscoveryResponse(issuer, res);
}

for (const algorithm of ['ES256', 'EdDSA', 'RS256', 'HS256']) {
describe(`authorization server (${algorithm})`, () => {
  let server;
  before(async () => {
    const c = newClient('mcp-client');
    const narrow = newClient('pii-only', ['mcp:tool:security/test_pii_detection']);
    server = await startWithConfig(`${authYaml([c, narrow], { algorithm })}builtin_tools: {security: true, oauth2: true}\n`);
    BASE = server.base;
    CLIENT_ID = c.id;
    SECRET = c.secret;
    server.narrow = narrow;
  });
  after(async () => {
    assert.equal(await server.stop(), 0, server.stderr);
  });

test('oauth4webapi: discovery, client_secret_basic token, RFC 9068 validation', async () => {
  const as = await discover();
  assert.equal(as.issuer, BASE);
  assert.deepEqual(as.grant_types_supported, ['client_credentials']);
  const c = { client_id: CLIENT_ID };
  const res = await oauth.clientCredentialsGrantRequest(
    as, c, oauth.ClientSecretBasic(SECRET), new URLSearchParams({ scope: 'mcp.access' }), insecure());
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const tokens = await oauth.processClientCredentialsResponse(as, c, res);
  assert.equal(tokens.token_type, 'bearer');  // oauth4webapi lower-cases it
  assert.equal(tokens.scope, 'mcp.access');
  assert.ok(tokens.expires_in > 0);

  const alg = as.access_token_signing_alg_values_supported?.[0];
  if (alg !== 'HS256') {
    const req = new Request(resource(), { headers: { authorization: `Bearer ${tokens.access_token}` } });
    const claims = await oauth.validateJwtAccessToken(as, req, resource(), insecure());
    assert.equal(claims.client_id, CLIENT_ID);
    assert.equal(claims.iss, BASE);
  }
});

test('oauth4webapi: RFC 6749 errors surface as ResponseBodyError', async () => {
  const as = await discover();
  const c = { client_id: CLIENT_ID };
  const bad = await oauth.clientCredentialsGrantRequest(
    as, c, oauth.ClientSecretBasic('wrong-secret'), new URLSearchParams(), insecure());
  assert.equal(bad.status, 401);
  assert.match(bad.headers.get('www-authenticate'), /^Basic realm="/);
  // With a Basic challenge present, oauth4webapi reports the challenge.
  await assert.rejects(oauth.processClientCredentialsResponse(as, c, bad),
    (e) => e instanceof oauth.WWWAuthenticateChallengeError && e.cause[0].scheme === 'basic');
  const post = await oauth.clientCredentialsGrantRequest(
    as, c, oauth.ClientSecretPost('wrong-secret'), new URLSearchParams(), insecure());
  await assert.rejects(oauth.processClientCredentialsResponse(as, c, post),
    (e) => e instanceof oauth.ResponseBodyError && e.error === 'invalid_client' && e.status === 401);
  const scope = await oauth.clientCredentialsGrantRequest(
    as, c, oauth.ClientSecretBasic(SECRET), new URLSearchParams({ scope: 'no-such-scope' }), insecure());
  await assert.rejects(oauth.processClientCredentialsResponse(as, c, scope),
    (e) => e instanceof oauth.ResponseBodyError && e.error === 'invalid_scope');
});

test('openid-client: client_secret_post, introspection, revocation', async () => {
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

test('jose: tokens verify against the published JWKS with pinned claims', async () => {
  const as = await discover();
  const alg = as.access_token_signing_alg_values_supported?.[0];
  if (alg === 'HS256') return;  // HS256 keys are never published
  const c = { client_id: CLIENT_ID };
  const tokens = await oauth.processClientCredentialsResponse(as, c,
    await oauth.clientCredentialsGrantRequest(as, c, oauth.ClientSecretBasic(SECRET), new URLSearchParams(), insecure()));
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

test('protected resource: RFC 9728 metadata, bearer challenge, /hello', async () => {
  const rs = await oauth.processResourceDiscoveryResponse(new URL(resource()),
    await oauth.resourceDiscoveryRequest(new URL(resource()), insecure()));
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
    await oauth.clientCredentialsGrantRequest(as, c, oauth.ClientSecretBasic(SECRET), new URLSearchParams({ scope: 'mcp.access' }), insecure()));
  const hello = await fetch(`${BASE}/hello`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(hello.status, 200);
  const body = await hello.json();
  assert.equal(body.authenticated_client, CLIENT_ID);
  assert.ok(body.message);
  assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
});

test('official MCP SDK: 401 challenge, metadata discovery, client_credentials, tools', async () => {
  // Without credentials the SDK gets the challenge and cannot go on.
  const anon = new Client({ name: 'anon', version: '1' });
  await assert.rejects(anon.connect(new StreamableHTTPClientTransport(new URL(resource()))),
    (e) => e instanceof UnauthorizedError || e.code === 401 || /unauthorized/i.test(String(e)));
  // With a client_credentials provider it follows the challenge to the
  // RFC 9728 and RFC 8414 metadata, fetches a token and connects.
  const provider = new ClientCredentialsProvider({ clientId: CLIENT_ID, clientSecret: SECRET, scope: 'mcp.access', expectedIssuer: BASE });
  const c = new Client({ name: 'sdk-oauth', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(resource()), { authProvider: provider }));
  assert.ok(provider.tokens()?.access_token, 'the SDK fetched a token');
  // Without a sign-in step configured the authorization endpoint shows an
  // error page (never a redirect) and the code flow is not advertised.
  const authz = await fetch(`${BASE}/oauth2/authorize?response_type=code&client_id=${CLIENT_ID}`, { redirect: 'manual' });
  assert.equal(authz.status, 404);
  assert.match(authz.headers.get('content-type'), /text\/html/);
  assert.match(await authz.text(), /Sign-in is not available/);
  const { tools } = await c.listTools();
  const names = tools.map((t) => t.name);
  for (const n of ['test_pii_detection', 'test_encryption', 'get_security_audit_log', 'get_oauth2_server_status'])
    assert.ok(names.includes(n), `${n} in ${names}`);
  const r = await c.callTool({ name: 'validate_oauth2_setup', arguments: {} });
  assert.ok(!r.isError, JSON.stringify(r));
  await c.close();
});

test('scopes decide what a client sees and may call', async () => {
  const narrow = server.narrow;
  const tok = await fetchToken(BASE, narrow);
  assert.equal(tok.scope, 'mcp:tool:security/test_pii_detection');
  const c = new Client({ name: 'narrow', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(resource()), {
    requestInit: { headers: { authorization: `Bearer ${tok.access_token}` } },
  }));
  const { tools } = await c.listTools();
  assert.deepEqual(tools.map((t) => t.name), ['test_pii_detection']);
  const ok = await c.callTool({ name: 'test_pii_detection', arguments: { text: 'mail kim@example.com' } });
  assert.equal(ok.structuredContent.contains_pii, true);
  await c.close();
  // A hidden tool called anyway: 403 insufficient_scope naming the scope.
  const init = await fetch(resource(), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${tok.access_token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
  });
  const sid = init.headers.get('mcp-session-id');
  const res = await fetch(resource(), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${tok.access_token}`, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'test_encryption', arguments: { text: 'x' } } }),
  });
  assert.equal(res.status, 403);
  const h = res.headers.get('www-authenticate');
  assert.match(h, /error="insufficient_scope"/);
  assert.match(h, /scope="mcp:tool:security\/test_encryption"/);
});

test('bastion token fetches a token from the running server', () => {
  const out = execFileSync(BIN, ['token', '--url', BASE, '--client-id', CLIENT_ID, '--client-secret', '-', '--json'],
    { input: SECRET }).toString();
  const t = JSON.parse(out);
  assert.equal(t.token_type, 'Bearer');
  assert.equal(t.scope, 'mcp.access');
  assert.equal(t.access_token.split('.').length, 3);
  // A wrong secret: a clear error, exit 1.
  assert.throws(() => execFileSync(BIN, ['token', '--url', BASE, '--client-id', CLIENT_ID, '--client-secret', 'nope'], { stdio: 'pipe' }),
    (e) => e.status === 1 && /invalid_client/.test(e.stderr.toString()));
});

test('token events reach the audit log, without tokens or secrets', () => {
  const log = readFileSync(path.join(server.dataDir, 'audit', 'audit.log'), 'utf8');
  const events = log.trim().split('\n').map((l) => JSON.parse(l));
  const types = new Set(events.map((e) => e.event_type));
  for (const t of ['token_issued', 'token_denied', 'token_revoked', 'auth_failure', 'access_denied'])
    assert.ok(types.has(t), `${t} in ${[...types]}`);
  assert.ok(!log.includes(SECRET), 'a client secret reached the audit log');
  assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\./.test(log), 'a token reached the audit log');
});
});
}
