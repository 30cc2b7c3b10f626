// `bastion connect --login`: the stdio bridge signs its user in through the
// browser (authorization code + PKCE on a loopback redirect, the client
// registered by DCR), keeps the refresh token sealed, renews silently when
// the access token expires, and a second run signs in without a browser.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { BIN, startWithConfig, tempDir } from './lib/bastion.mjs';
import { addUser, launch, shot } from './lib/browser.mjs';

let server, browser, dataDir, stateDir;
const PW = 'alice long password';

before(async () => {
  dataDir = tempDir();
  stateDir = path.join(tempDir(), 'connect');
  addUser(dataDir, 'alice', PW);
  server = await startWithConfig(`auth:
  token_lifetime: 3
  clock_skew: 0
  login: {}
  access:
    users: {alice: [mcp.access]}
builtin_tools: {security: true}
`, [], { dataDir });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  assert.equal(await server.stop(), 0, server.stderr);
});

// Starts the bridge; `play` gets the URL it prints and signs in.
async function bridge(play) {
  const transport = new StdioClientTransport({
    command: BIN,
    // No --scope: the bridge asks for what the protected resource metadata
    // lists, offline_access among them (before: only the user's default
    // access, so no refresh token, and a browser at every expiry).
    args: ['connect', '--url', server.url, '--login', '--no-browser', '--state-dir', stateDir],
    env: { PATH: process.env.PATH, HOME: tempDir() },
    stderr: 'pipe',
  });
  let err = '';
  let played;
  transport.stderr.on('data', (d) => {
    err += d;
    const m = /sign in to \S+ in your browser:\n\s+(\S+)/.exec(err);
    if (m && !played) played = play(m[1]);
  });
  const client = new Client({ name: 'connect-login-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => err, played: () => played };
}

const pii = (client) => client.callTool({ name: 'test_pii_detection', arguments: { text: 'mail kim@example.com' } });

test('first run: the user signs in in the browser, then tools work and the token renews silently', async () => {
  const ctx = await browser.newContext();
  const b = await bridge(async (url) => {
    // Another local program answers the bridge's loopback first, with a code of its own: the
    // bridge ignores an answer without its state and keeps waiting for the real one.
    const callback = new URL(new URL(url).searchParams.get('redirect_uri'));
    const forged = await fetch(`${callback.origin}/callback?code=attacker-code&state=guessed`);
    assert.equal(forged.status, 400);
    assert.match(await forged.text(), /not the sign-in bastion connect started/);
    const page = await ctx.newPage();
    await page.goto(url);
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill(PW);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/signin\/consent\?id=/);
    assert.match(await page.locator('main').innerText(), /bastion connect[\s\S]*program on this computer/);
    await page.getByRole('button', { name: 'Allow' }).click();
    // The bridge answers its loopback callback by sending the browser to Bastion's signed-in page.
    await page.waitForURL(/\/signin\/done$/);
    assert.equal(await page.locator('h1').innerText(), 'You are signed in');
    await shot(page, 'connect-signed-in');
  });
  try {
    assert.ok(b.played(), `no URL printed: ${b.stderr()}`);
    await b.played();
    const first = await pii(b.client);
    assert.ok(!first.isError, JSON.stringify(first));
    await sleep(4000);  // the 3 s access token has expired: renewed by the refresh token
    const second = await pii(b.client);
    assert.ok(!second.isError, JSON.stringify(second));
    assert.equal((b.stderr().match(/in your browser/g) ?? []).length, 1, 'signed in once');
  } finally {
    await b.client.close();
    await ctx.close();
  }
  // What is kept: 0600 files, no refresh token in clear.
  for (const f of readdirSync(stateDir)) {
    assert.equal(statSync(path.join(stateDir, f)).mode & 0o777, 0o600, f);
  }
  const state = readdirSync(stateDir).filter((f) => f.endsWith('.json'));
  assert.equal(state.length, 1);
  const saved = JSON.parse(readFileSync(path.join(stateDir, state[0]), 'utf8'));
  assert.ok(saved.refresh_token_sealed.length > 40);
  assert.equal(saved.refresh_token, undefined);
});

test('second run: no browser; the sealed refresh token signs in', async () => {
  const b = await bridge(async () => assert.fail('asked to sign in again'));
  try {
    const r = await pii(b.client);
    assert.ok(!r.isError, JSON.stringify(r));
    assert.doesNotMatch(b.stderr(), /in your browser/);
  } finally {
    await b.client.close();
  }
});
