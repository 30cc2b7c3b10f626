// Client ID Metadata Documents against a real `bastion serve`: a client_id
// that is an https URL is fetched, and the fetch must not become a way into
// Bastion's own network (SSRF). With the default settings, documents on
// 127.0.0.1, 169.254.169.254 (cloud metadata), private, link-local and IPv6
// forms of them are refused before any connection (the local https server
// sees no request). With 127.0.0.1 allow-listed and the test CA trusted
// (test-only settings), a real document signs in; an oversized document, a
// redirect loop, a redirect to a refused address, a document naming another
// client_id and a server that never answers are refused with a clear page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { post, startWithConfig } from './lib/bastion.mjs';
import { authorize, authorizeUrl, pkce, testLoginYaml, testUser, tokenRequest } from './lib/signin.mjs';
import { makeTestCa, startHttps } from './lib/testca.mjs';

const alice = testUser('alice');
let ca, docs;

// A document for `url` (its own client_id), loopback redirect, public client.
const doc = (url, extra = {}) => ({
  client_id: url, client_name: 'CIMD test client', redirect_uris: ['http://127.0.0.1/callback'],
  grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none', ...extra,
});
const json = (body, headers = {}) => (req, res) =>
  res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

function start(url, base, q = {}) {
  const p = pkce();
  return {
    p,
    url: authorizeUrl(base, {
      response_type: 'code', client_id: url, redirect_uri: 'http://127.0.0.1:40000/callback', code_challenge: p.challenge,
      code_challenge_method: 'S256', state: 'st', scope: 'mcp.access', ...q,
    }),
  };
}

before(async () => {
  ca = makeTestCa();
  docs = await startHttps(ca, {});
});
after(async () => {
  await docs.close();
});

describe('CIMD with the default SSRF guard', () => {
  let server;
  before(async () => {
    // The CA is trusted, so only the address rules can refuse the local server.
    server = await startWithConfig(`auth:
${testLoginYaml([alice])}  client_metadata_documents:
    ca_file: ${ca.caFile}
    timeout: 3
`);
  });
  after(async () => {
    assert.equal(await server.stop(), 0, server.stderr);
  });

  test('loopback, cloud metadata, private and link-local addresses are refused before connecting', async () => {
    const path = '/ssrf.json';
    docs.routes[path] = json(doc(`${docs.origin}${path}`));
    const port = new URL(docs.origin).port;
    const targets = [
      `${docs.origin}${path}`,                         // 127.0.0.1, really listening
      `https://localhost:${port}${path}`,              // a name for it
      `https://127.1:${port}${path}`,                  // a short form of it
      `https://[::1]:${port}${path}`,
      `https://[::ffff:127.0.0.1]:${port}${path}`,     // IPv4-mapped IPv6
      `https://0.0.0.0:${port}${path}`,
      'https://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'https://[fd00:ec2::254]/latest/meta-data/',     // AWS IMDS over IPv6 (unique local)
      'https://metadata.google.internal/computeMetadata/v1/',
      'https://10.0.0.1/client.json',
      'https://172.16.5.4/client.json',
      'https://192.168.1.1/client.json',
      'https://100.64.0.1/client.json',                // carrier-grade NAT
      'https://[fe80::1]/client.json',
    ];
    for (const t of targets) {
      const a = await authorize(start(t, server.base).url, alice);
      assert.equal(a.status, 400, `${t}: ${a.status} ${a.location}`);
      assert.equal(a.location, null, t);
      assert.match(a.body, /Unknown application/, t);
      if (!t.includes('metadata.google.internal'))
        assert.match(a.body, /not a public address|SSRF|cannot resolve/, `${t}: ${a.body}`);
    }
    assert.deepEqual(docs.hits, [], 'Bastion connected to a refused address');
    // http is never fetched: an http client_id is just an unknown client.
    const plain = await authorize(start(`http://127.0.0.1:${port}${path}`, server.base).url, alice);
    assert.equal(plain.status, 400);
    assert.deepEqual(docs.hits, []);
  });

  test('the metadata advertises CIMD and the code flow', async () => {
    const md = await (await fetch(`${server.base}/.well-known/oauth-authorization-server`)).json();
    assert.equal(md.client_id_metadata_document_supported, true);
    assert.deepEqual(md.code_challenge_methods_supported, ['S256']);
    assert.ok(md.response_types_supported.includes('code'));
    assert.ok(md.token_endpoint_auth_methods_supported.includes('none'));
    assert.equal(md.authorization_response_iss_parameter_supported, true);
  });
});

// Attack: allow_hosts was checked on the client_id only, and redirects were
// followed to any host, so an open redirect on an allowed host let a
// document from anywhere in. Now every hop's host must be allowed.
describe('CIMD with allow_hosts', () => {
  let server;
  before(async () => {
    server = await startWithConfig(`auth:
${testLoginYaml([alice])}  client_metadata_documents:
    allow_addresses: [127.0.0.1/32, '::1/128']
    allow_hosts: [127.0.0.1]
    ca_file: ${ca.caFile}
    timeout: 2
`);
  });
  after(async () => {
    assert.equal(await server.stop(), 0, server.stderr);
  });

  test('a redirect from an allowed host to another host is refused before it is followed', async () => {
    const port = new URL(docs.origin).port;
    const from = `${docs.origin}/open-redirect.json`;
    // The other host's document names the allowed URL, as an attacker's would.
    docs.routes['/elsewhere.json'] = json(doc(from));
    docs.routes['/open-redirect.json'] = (req, res) =>
      res.writeHead(307, { location: `https://localhost:${port}/elsewhere.json` }).end();
    const a = await authorize(start(from, server.base).url, alice);
    assert.equal(a.status, 400, `${a.status} ${a.location}`);
    assert.equal(a.location, null);
    assert.match(a.body, /Unknown application/);
    assert.match(a.body, /from localhost are not accepted here/);
    assert.ok(!docs.hits.includes('/elsewhere.json'), 'the other host was never asked');
    // The allowed host's own document still signs in.
    const path = '/allowed-host.json';
    docs.routes[path] = json(doc(`${docs.origin}${path}`));
    assert.equal((await authorize(start(`${docs.origin}${path}`, server.base).url, alice)).status, 302);
  });
});

describe('CIMD with 127.0.0.1 allow-listed (test-only setting)', () => {
  let server;
  before(async () => {
    server = await startWithConfig(`auth:
${testLoginYaml([alice])}  client_metadata_documents:
    allow_addresses: [127.0.0.1/32]
    ca_file: ${ca.caFile}
    timeout: 2
    max_redirects: 3
`);
  });
  after(async () => {
    assert.equal(await server.stop(), 0, server.stderr);
  });
  const page = async (url) => {
    const a = await authorize(start(url, server.base).url, alice);
    assert.equal(a.status, 400, `${url}: ${a.status} ${a.location}`);
    assert.equal(a.location, null);
    assert.match(a.body, /Unknown application/);
    return a.body;
  };

  test('a real document signs in, with its client_id and redirect URIs', async () => {
    const path = `/good-${randomBytes(4).toString('hex')}.json`;
    const url = `${docs.origin}${path}`;
    docs.routes[path] = json(doc(url), { 'cache-control': 'max-age=300' });
    const s = start(url, server.base);
    const a = await authorize(s.url, alice);
    assert.equal(a.status, 302, a.body);
    assert.ok(a.params.code);
    const t = await tokenRequest(server.base, {
      grant_type: 'authorization_code', code: a.params.code, redirect_uri: 'http://127.0.0.1:40000/callback',
      code_verifier: s.p.verifier, client_id: url,
    });
    assert.equal(t.status, 200, JSON.stringify(t.json));
    // A redirect URI the document does not list: an error page.
    const other = await authorize(start(url, server.base, { redirect_uri: 'https://evil.example/cb' }).url, alice);
    assert.equal(other.status, 400);
    assert.equal(other.location, null);
    // Cached as the document said: one fetch for all of the above.
    assert.equal(docs.hits.filter((h) => h === path).length, 1);
  });

  test('an oversized document is refused', async () => {
    const path = '/big.json';
    const url = `${docs.origin}${path}`;
    docs.routes[path] = json(doc(url, { padding: 'x'.repeat(200 * 1024) }));
    assert.match(await page(url), /larger than 65536 bytes/);
  });

  test('a redirect loop is refused after max_redirects hops', async () => {
    const path = '/loop.json';
    docs.routes[path] = (req, res) => res.writeHead(302, { location: path }).end();
    const before = docs.hits.length;
    assert.match(await page(`${docs.origin}${path}`), /too many redirects/);
    assert.equal(docs.hits.length - before, 4, 'the first request and 3 redirects');
  });

  test('a redirect to a refused address is not followed', async () => {
    for (const [path, to] of [['/to-imds.json', 'https://169.254.169.254/latest/meta-data/'],
      ['/to-private.json', 'https://10.1.2.3/client.json'],
      ['/to-other-loopback.json', `https://127.0.0.2:${new URL(docs.origin).port}/x.json`],
      ['/to-http.json', `http://127.0.0.1:${new URL(docs.origin).port}/x.json`]]) {
      docs.routes[path] = (req, res) => res.writeHead(307, { location: to }).end();
      assert.match(await page(`${docs.origin}${path}`), /not a public address|only https/, path);
    }
  });

  test('a document for another client_id, or with a shared secret, is refused', async () => {
    const path = '/impostor.json';
    docs.routes[path] = json(doc('https://claude.ai/oauth/mcp-oauth-client-metadata'));
    assert.match(await page(`${docs.origin}${path}`), /client_id/);
    const secretPath = '/secret.json';
    docs.routes[secretPath] = json(doc(`${docs.origin}${secretPath}`, { token_endpoint_auth_method: 'client_secret_basic' }));
    await page(`${docs.origin}${secretPath}`);
    const notJson = '/html.json';
    docs.routes[notJson] = (req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hi</html>');
    await page(`${docs.origin}${notJson}`);
  });

  test('fetches that hang do not stall /mcp (they run off the I/O threads)', async () => {
    // One address holds at most 2 fetches at once: these two hang.
    let anyDone = false;
    const hanging = [0, 1].map((i) => {
      const path = `/hang-${i}.json`;
      docs.routes[path] = () => {};
      const p = authorize(start(`${docs.origin}${path}`, server.base).url, alice);
      p.then(() => (anyDone = true));
      return p;
    });
    for (let i = 0; i < 50 && docs.hits.filter((h) => h.startsWith('/hang-')).length < 2; ++i)
      await new Promise((r) => setTimeout(r, 20));
    const r = await post(`${server.base}/mcp`, { jsonrpc: '2.0', id: 1, method: 'ping' });
    assert.equal(r.status, 401);
    assert.equal(anyDone, false, '/mcp was answered only after a fetch gave up');
    // A third from the same address is turned away at once, without a fetch.
    docs.routes['/hang-2.json'] = () => {};
    assert.match(await page(`${docs.origin}/hang-2.json`), /too many client metadata fetches/);
    assert.equal(anyDone, false);
    assert.ok(!docs.hits.includes('/hang-2.json'));
    for (const a of await Promise.all(hanging)) assert.equal(a.status, 400);
  });

  test('a server that never answers costs at most the timeout', async () => {
    const path = '/slow.json';
    docs.routes[path] = () => {};  // accepts, never answers
    const t0 = Date.now();
    assert.match(await page(`${docs.origin}${path}`), /timed out|failed/);
    assert.ok(Date.now() - t0 < 6000, `took ${Date.now() - t0} ms`);
    // The failure is cached: asking again does not fetch again.
    const n = docs.hits.length;
    await page(`${docs.origin}${path}`);
    assert.equal(docs.hits.length, n);
  });
});
