// Real OAuth clients sign in to a real `bastion serve` with the authorization
// code flow and PKCE, then use what they got:
// - the MCP TypeScript SDK's own OAuth flow (StreamableHTTPClientTransport with
//   an OAuthClientProvider): from the 401 challenge through RFC 9728 and RFC
//   8414 discovery to tools/call, once registering by DCR, once by a client
//   metadata document (CIMD, served over https by a throwaway test CA with
//   127.0.0.1 allow-listed: test-only settings) and once as a client
//   pre-registered in auth.clients; then it renews with its refresh token;
// - openid-client (panva): discovery, the code flow with PKCE, state and the
//   RFC 9207 iss check, refresh token rotation (the old token is refused after
//   the rotation, and its reuse revokes the new one), and revocation.
// The user is played by the test-only auth.test_login (lib/signin.mjs).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { startWithConfig } from './lib/bastion.mjs';
import { authorize, testLoginYaml, testUser, tokenRequest } from './lib/signin.mjs';
import { makeTestCa, startHttps } from './lib/testca.mjs';

const alice = testUser('alice');
const REDIRECT = 'http://127.0.0.1:33418/callback';
let server, ca, docs, cimdUrl, pkjwtUrl, keys, otherKeys;

// An OAuthClientProvider that keeps everything in memory and plays the
// browser: redirectToAuthorization signs alice in and keeps the code.
class TestProvider {
  constructor({ metadataUrl, preRegistered, name = 'sdk-test' } = {}) {
    this.clientMetadataUrl = metadataUrl;
    this.info = preRegistered;
    this.name = name;
    this.saved = undefined;
    this.verifier = undefined;
    this.code = undefined;
    this.redirects = [];
    this.registered = 0;
  }
  get redirectUrl() { return REDIRECT; }
  get clientMetadata() {
    return {
      client_name: this.name, redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'], token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() { return this.info; }
  saveClientInformation(info) { this.info = info; this.registered += 1; }
  tokens() { return this.saved; }
  saveTokens(t) { this.saved = t; }
  saveCodeVerifier(v) { this.verifier = v; }
  codeVerifier() { return this.verifier; }
  async redirectToAuthorization(url) {
    this.redirects.push(url);
    const a = await authorize(url.href, alice);
    assert.equal(a.status, 302, a.body);
    assert.equal(a.params.iss, server.base, 'RFC 9207 iss');
    assert.ok(a.location.startsWith(`${REDIRECT}?`), a.location);
    this.code = a.params.code;
  }
}

// The SDK's flow: connect (401 -> discovery -> registration -> redirect),
// finishAuth with the code, connect again, call a tool.
async function sdkSignInAndCall(provider) {
  const url = new URL(`${server.base}/mcp`);
  const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
  await assert.rejects(new Client({ name: 'sdk', version: '1' }).connect(first), UnauthorizedError);
  assert.ok(provider.code, 'the SDK sent the user to the authorization endpoint');
  const authUrl = provider.redirects.at(-1);
  assert.equal(authUrl.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(authUrl.searchParams.get('resource'), `${server.base}/mcp`);
  // The SDK asks for the scopes of the 401 hint: with offline_access (and
  // prompt=consent), which a refresh token needs.
  assert.equal(authUrl.searchParams.get('scope'), 'mcp.access offline_access');
  await first.finishAuth(provider.code);
  assert.ok(provider.saved?.access_token, 'the SDK redeemed the code');
  assert.ok(provider.saved.refresh_token, 'offline_access gave a refresh token');
  const c = new Client({ name: 'sdk', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
  const { tools } = await c.listTools();
  assert.ok(tools.some((t) => t.name === 'test_pii_detection'), JSON.stringify(tools.map((t) => t.name)));
  const r = await c.callTool({ name: 'test_pii_detection', arguments: { text: 'mail kim@example.com' } });
  assert.equal(r.structuredContent?.contains_pii, true, JSON.stringify(r));
  await c.close();
  // The token's claims: aud is the MCP endpoint, sub the user, client_id the client.
  const claims = jose.decodeJwt(provider.saved.access_token);
  assert.equal(claims.sub, 'alice');
  assert.deepEqual([claims.aud].flat(), [`${server.base}/mcp`]);
  assert.equal(claims.client_id, provider.info.client_id);
  return c;
}

// With an expired (here: dropped) access token the SDK refreshes on its own.
async function sdkRefreshes(provider) {
  const old = provider.saved;
  provider.saved = { ...old, access_token: 'expired.expired.expired' };
  const c = new Client({ name: 'sdk', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(`${server.base}/mcp`), { authProvider: provider }));
  assert.notEqual(provider.saved.access_token, 'expired.expired.expired');
  assert.notEqual(provider.saved.refresh_token, old.refresh_token, 'rotated');
  await c.listTools();
  await c.close();
}

before(async () => {
  ca = makeTestCa();
  docs = await startHttps(ca, {});
  keys = await jose.generateKeyPair('ES256', { extractable: true });
  otherKeys = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  // A confidential client like ChatGPT's: private_key_jwt with a jwks_uri in its document.
  pkjwtUrl = `${docs.origin}/pkjwt-client.json`;
  docs.routes['/pkjwt-client.json'] = (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
    client_id: pkjwtUrl, client_name: 'private_key_jwt by CIMD', redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
    token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${docs.origin}/jwks.json`,
  }));
  docs.routes['/jwks.json'] = (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  keys.jwk = jwk;
  cimdUrl = `${docs.origin}/sdk-client.json`;
  docs.routes['/sdk-client.json'] = (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
    client_id: cimdUrl, client_name: 'SDK by CIMD', redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none',
  }));
  server = await startWithConfig(`auth:
${testLoginYaml([alice])}  client_metadata_documents:   # TEST ONLY: reach the local https server
    allow_addresses: [127.0.0.1/32]
    ca_file: ${ca.caFile}
  # Each forgery below must fail for its own reason, not for the lockout that a
  # run of failures triggers (that lockout is attacked in auth_attacks).
  lockout: {free_failures: 1000, source_free_failures: 1000, client_free_failures: 1000}
  clients:
    - id: preregistered
      client_name: Pre-registered SDK client
      token_endpoint_auth_method: none
      redirect_uris: ['${REDIRECT}']
    - id: pkjwt-configured
      client_name: private_key_jwt with inline keys
      token_endpoint_auth_method: private_key_jwt
      redirect_uris: ['${REDIRECT}']
      jwks: {"keys": [${JSON.stringify(keys.jwk)}]}
    - id: oidc-app
      client_name: openid-client app
      token_endpoint_auth_method: none
      redirect_uris: ['http://127.0.0.1/cb']
builtin_tools: {security: true}
`);
});
after(async () => {
  await docs.close();
  assert.equal(await server.stop(), 0, server.stderr);
});

describe('MCP TypeScript SDK: authorization code + PKCE', () => {
  test('by Dynamic Client Registration', async () => {
    const p = new TestProvider({ name: 'SDK by DCR' });
    await sdkSignInAndCall(p);
    assert.equal(p.registered, 1);
    assert.match(p.info.client_id, /^bcl_/);
    await sdkRefreshes(p);
  });

  test('by Client ID Metadata Document', async () => {
    const p = new TestProvider({ metadataUrl: cimdUrl });
    await sdkSignInAndCall(p);
    assert.equal(p.info.client_id, cimdUrl);
    assert.ok(docs.hits.includes('/sdk-client.json'), 'Bastion fetched the document');
    await sdkRefreshes(p);
  });

  test('as a pre-registered client', async () => {
    const p = new TestProvider({ preRegistered: { client_id: 'preregistered' } });
    await sdkSignInAndCall(p);
    // The SDK only stamps the issuer on it (saveClientInformation); no registration.
    assert.equal(p.info.client_id, 'preregistered');
    await sdkRefreshes(p);
  });
});

describe('openid-client: authorization code + PKCE, refresh rotation', () => {
  test('the code flow, refresh rotation, reuse detection and revocation', async () => {
    const redirect = 'http://127.0.0.1:41234/cb';
    const config = await oidc.discovery(new URL(server.base), 'oidc-app', undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    assert.deepEqual(config.serverMetadata().code_challenge_methods_supported, ['S256']);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirect, scope: 'mcp.access offline_access', state, resource: `${server.base}/mcp`,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const a = await authorize(url.href, alice);
    assert.equal(a.status, 302, a.body);
    // A forged iss in the response is caught by the client (RFC 9207).
    const forged = new URL(a.location);
    forged.searchParams.set('iss', 'https://evil.example');
    await assert.rejects(oidc.authorizationCodeGrant(config, forged, { pkceCodeVerifier: verifier, expectedState: state }));
    // The real response: the client checks state and iss and redeems the code with the verifier.
    const tokens = await oidc.authorizationCodeGrant(config, new URL(a.location), {
      pkceCodeVerifier: verifier, expectedState: state,
    }, { resource: `${server.base}/mcp` });
    assert.ok(tokens.access_token);
    assert.ok(tokens.refresh_token);
    assert.equal(tokens.scope, 'mcp.access offline_access');

    const r1 = await oidc.refreshTokenGrant(config, tokens.refresh_token);
    assert.ok(r1.access_token);
    assert.notEqual(r1.refresh_token, tokens.refresh_token, 'rotated');
    const r2 = await oidc.refreshTokenGrant(config, r1.refresh_token, { scope: 'mcp.access' });
    assert.equal(r2.scope, 'mcp.access', 'narrowed');
    // The rotated-out token again: refused, and the grant (r2 included) is revoked.
    await assert.rejects(oidc.refreshTokenGrant(config, r1.refresh_token),
      (e) => e instanceof oidc.ResponseBodyError && e.error === 'invalid_grant');
    await assert.rejects(oidc.refreshTokenGrant(config, r2.refresh_token),
      (e) => e instanceof oidc.ResponseBodyError && e.error === 'invalid_grant');

    // A second sign-in, ended by the client revoking its refresh token (RFC 7009).
    const v2 = oidc.randomPKCECodeVerifier();
    const s2 = oidc.randomState();
    const a2 = await authorize(oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirect, scope: 'mcp.access offline_access', state: s2,
      code_challenge: await oidc.calculatePKCECodeChallenge(v2), code_challenge_method: 'S256',
    }).href, alice);
    const t2 = await oidc.authorizationCodeGrant(config, new URL(a2.location), { pkceCodeVerifier: v2, expectedState: s2 });
    await oidc.tokenRevocation(config, t2.refresh_token, { token_type_hint: 'refresh_token' });
    await assert.rejects(oidc.refreshTokenGrant(config, t2.refresh_token),
      (e) => e instanceof oidc.ResponseBodyError && e.error === 'invalid_grant');
  });
});

describe('private_key_jwt (RFC 7523) client authentication', () => {
  // A client assertion; `claims`/`header` override, `key` signs.
  async function assertion(clientId, { claims = {}, header = {}, key = keys.privateKey, exp = '60s' } = {}) {
    return new jose.SignJWT({ jti: crypto.randomUUID(), ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', ...header })
      .setIssuer(claims.iss ?? clientId).setSubject(claims.sub ?? clientId)
      .setAudience(claims.aud ?? `${server.base}/oauth2/token`).setIssuedAt().setExpirationTime(exp)
      .sign(key);
  }
  // A fresh code for clientId, and the token request form that redeems it.
  async function codeFor(clientId) {
    const verifier = oidcVerifier();
    const a = await authorize(`${server.base}/oauth2/authorize?${new URLSearchParams({
      response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'mcp.access offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 's',
    })}`, alice);
    assert.equal(a.status, 302, a.body);
    return { grant_type: 'authorization_code', code: a.params.code, redirect_uri: REDIRECT, code_verifier: verifier };
  }
  const oidcVerifier = () => oidc.randomPKCECodeVerifier();
  const token = (form) => tokenRequest(server.base, form);
  const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

  for (const [label, clientId] of [['a metadata document with jwks_uri', () => pkjwtUrl], ['a configured client with inline jwks', () => 'pkjwt-configured']]) {
    test(`${label}: a signed assertion redeems the code and refreshes; forgeries do not`, async () => {
      const id = clientId();
      const form = await codeFor(id);
      const refused = async (extra, why) => {
        const r = await token({ ...form, ...extra });
        assert.equal(r.status, 401, `${why}: ${r.status} ${JSON.stringify(r.json)}`);
        assert.equal(r.json.error, 'invalid_client', why);
        return r.json.error_description;
      };
      await refused({ client_id: id }, 'no assertion');
      await refused({ client_id: id, client_secret: 'guess' }, 'a secret instead');
      const withAssertion = (a) => ({ client_assertion_type: JWT_BEARER, client_assertion: a });
      assert.match(await refused(withAssertion(await assertion(id, { key: otherKeys.privateKey })), 'another key'), /does not verify/);
      await refused(withAssertion(await assertion(id, { claims: { aud: 'https://evil.example/token' } })), 'wrong aud');
      await refused(withAssertion(await assertion(id, { exp: Math.floor(Date.now() / 1000) - 600 })), 'expired');
      await refused(withAssertion(await assertion(id, { exp: '2h' })), 'lives too long');
      await refused(withAssertion(await assertion(id, { claims: { jti: undefined } })), 'no jti');
      const none = `${jose.base64url.encode(JSON.stringify({ alg: 'none' }))}.${jose.base64url.encode(JSON.stringify({
        iss: id, sub: id, aud: `${server.base}/oauth2/token`, exp: Math.floor(Date.now() / 1000) + 60, jti: 'x' }))}.`;
      await refused(withAssertion(none), 'alg none');
      // HS256 keyed with the public JWK: the classic confusion attack.
      const hs = await new jose.SignJWT({ jti: crypto.randomUUID() }).setProtectedHeader({ alg: 'HS256', kid: 'k1' })
        .setIssuer(id).setSubject(id).setAudience(`${server.base}/oauth2/token`).setExpirationTime('60s')
        .sign(new TextEncoder().encode(JSON.stringify(keys.jwk)));
      await refused(withAssertion(hs), 'HS256 with the public key');
      await refused({ ...withAssertion(await assertion(id)), client_assertion_type: 'urn:example:other' }, 'wrong assertion type');
      // Another client's identity in the assertion.
      const other = id === pkjwtUrl ? 'pkjwt-configured' : pkjwtUrl;
      const r0 = await token({ ...form, client_id: id, ...withAssertion(await assertion(other)) });
      assert.equal(r0.status, 400, JSON.stringify(r0.json));

      // The real thing: the client's key, once.
      const good = await assertion(id);
      const ok = await token({ ...form, ...withAssertion(good) });
      assert.equal(ok.status, 200, JSON.stringify(ok.json));
      assert.equal(jose.decodeJwt(ok.json.access_token).client_id, id);
      // The same assertion again (jti replay) is refused, even for another grant.
      const replay = await token({ grant_type: 'refresh_token', refresh_token: ok.json.refresh_token, ...withAssertion(good) });
      assert.equal(replay.status, 401);
      assert.match(replay.json.error_description, /used before/);
      // A refresh token of a confidential client needs its authentication.
      const bare = await token({ grant_type: 'refresh_token', refresh_token: ok.json.refresh_token, client_id: id });
      assert.equal(bare.status, 401);
      const r = await token({ grant_type: 'refresh_token', refresh_token: ok.json.refresh_token, ...withAssertion(await assertion(id)) });
      assert.equal(r.status, 200, JSON.stringify(r.json));
    });
  }
});
