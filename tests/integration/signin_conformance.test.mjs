// The official MCP conformance suite (0.2.0-alpha.12, `authorization`
// command) against Bastion's authorization server: both authorization-server
// scenarios (metadata endpoint, authorization code grant with PKCE, state,
// iss and resource). The suite prints the authorization URL and waits for
// the callback on its own loopback server; a real headless browser (Debian's
// chromium via playwright-core) plays the user on Bastion's login and
// consent pages, and its redirect lands on the suite's server.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { NODE22, NODE_MODULES, freePort, startWithConfig, tempDir } from './lib/bastion.mjs';
import { addUser, launch } from './lib/browser.mjs';

const SUITE = path.join(NODE_MODULES, 'conformance-next/dist/index.js');
const PW = 'alice long password';
let server, browser;

before(async () => {
  const dataDir = tempDir();
  addUser(dataDir, 'alice', PW);
  server = await startWithConfig(`auth:
  login: {}
  access:
    users: {alice: [mcp.access]}
  clients:
    - id: conformance
      client_name: MCP conformance suite
      redirect_uris: ['http://127.0.0.1/callback']
`, [], { dataDir });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  assert.equal(await server.stop(), 0, server.stderr);
});

// Signs in and allows in the browser; resolves when the suite's callback answered.
async function playUser(url) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  try {
    await page.goto(url);
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill(PW);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/signin\/consent\?id=/);
    assert.match(await page.locator('main').innerText(), /MCP conformance suite/);
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith('http://127.0.0.1') && new URL(r.url()).pathname === '/callback'),
      page.getByRole('button', { name: 'Allow' }).click(),
    ]);
    return res.status();
  } finally {
    await ctx.close();
  }
}

test('conformance authorization: both authorization-server scenarios pass', async () => {
  const port = await freePort();
  const out = tempDir('bastion-conf-auth-');
  const child = spawn(NODE22, [SUITE, 'authorization', '--url', server.base, '--client-id', 'conformance',
    '--resource', `${server.base}/mcp`, '--port', String(port), '-o', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '', played = null;
  const escaped = server.base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => {
    stdout += d;
    const m = new RegExp(`${escaped}/oauth2/authorize\\?\\S+`).exec(stdout);
    if (m && !played) played = playUser(m[0]);
  });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.ok(played, `the suite printed no authorization URL:\n${stdout}\n${stderr}`);
  assert.equal(await played, 200);
  assert.equal(code, 0, `${stdout}\n${stderr}`);
  // Every check of both scenarios, from the suite's own results.
  const checks = readdirSync(out).flatMap((d) => JSON.parse(readFileSync(path.join(out, d, 'checks.json'), 'utf8')));
  const ids = checks.map((c) => `${c.id}:${c.status}`);
  for (const id of ['authorization-server-metadata', 'authorization-server-metadata-cimd', 'authorization-code-grant'])
    assert.ok(ids.includes(`${id}:SUCCESS`), `${id} in ${ids.join(', ')}`);
  assert.deepEqual(checks.filter((c) => c.status !== 'SUCCESS'), []);
  assert.match(stdout, /authorization-server-metadata-endpoint: 2 passed, 0 failed/);
  assert.match(stdout, /authorization-code-grant: 1 passed, 0 failed/);
});
