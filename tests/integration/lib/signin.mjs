// Helpers for the sign-in (authorization code + PKCE) tests. The user-facing
// step is the interim, test-only `auth.test_login` (HTTP Basic credentials on
// the authorization request): `authorize` is the one place that plays the
// user, so moving these tests to the real login pages and a headless browser
// changes only this function.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { newClient, startWithConfig, tempDir } from './bastion.mjs';

// A test-login user: its password is a fresh random secret, its hash argon2id
// (made by `bastion client add`, which hashes the same way).
export function testUser(name, scopes = ['mcp.access']) {
  const c = newClient(name, scopes);
  return { name, password: c.secret, hash: c.secret_hash, scopes };
}

export function testLoginYaml(users) {
  const entries = users.map((u) =>
    `      - name: ${u.name}\n        password_hash: '${u.hash}'\n        scopes: [${u.scopes.join(', ')}]\n`).join('');
  return `  test_login:\n    users:\n${entries}`;
}

export function basicAuth(user) {
  return `Basic ${Buffer.from(`${user.name}:${user.password}`).toString('base64')}`;
}

// Plays the user on an authorization URL: signs in as `user` and returns the
// redirect the browser would follow ({status, location, params}).
export async function authorize(url, user) {
  const headers = user ? { authorization: basicAuth(user) } : {};
  const res = await fetch(url, { redirect: 'manual', headers });
  const location = res.headers.get('location');
  const body = await res.text();
  const params = location ? Object.fromEntries(new URL(location).searchParams) : {};
  return { status: res.status, location, params, body, headers: res.headers };
}

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export function authorizeUrl(base, q) {
  const u = new URL(`${base}/oauth2/authorize`);
  for (const [k, v] of Object.entries(q)) if (v !== undefined) u.searchParams.set(k, v);
  return u.toString();
}

export async function tokenRequest(base, form, headers = {}) {
  const res = await fetch(`${base}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });
  return { status: res.status, headers: res.headers, json: await res.json() };
}

// Signs `user` in to the public client `client_id` (authorization code with
// PKCE at `redirect_uri`) and redeems the code: the token response.
export async function signInTokens(base, user, { client_id, redirect_uri, scope = 'mcp.access' }) {
  const p = pkce();
  const url = authorizeUrl(base, {
    response_type: 'code', client_id, redirect_uri, code_challenge: p.challenge,
    code_challenge_method: 'S256', state: randomBytes(8).toString('hex'), scope, resource: `${base}/mcp`,
  });
  const a = await authorize(url, user);
  if (a.status !== 302 || !a.params.code) throw new Error(`sign-in of ${user.name}: ${a.status} ${a.body}`);
  const t = await tokenRequest(base, {
    grant_type: 'authorization_code', code: a.params.code, redirect_uri, code_verifier: p.verifier, client_id,
  });
  if (t.status !== 200) throw new Error(`token for ${user.name}: ${t.status} ${JSON.stringify(t.json)}`);
  return t.json;
}

// A gateway whose only sign-in is federated login through one provider at
// `issuer` (`provider`: the rest of its entry, e.g. "name: x"), with the
// demo-app client. Its client secret at the provider is in a 0600 file.
export async function startFederatedGateway(issuer, provider) {
  const secretFile = path.join(tempDir(), 'secret');
  writeFileSync(secretFile, 'the-client-secret-at-the-provider\n', { mode: 0o600 });
  return startWithConfig(`auth:
  login:
    local_users: false
    providers:
      - {${provider}, issuer: '${issuer}', client_id: bastion, client_secret_file: ${secretFile}}
  access:
    default_scopes: [mcp.access]
  clients:
    - id: demo-app
      redirect_uris: ['http://127.0.0.1/callback']
`);
}
