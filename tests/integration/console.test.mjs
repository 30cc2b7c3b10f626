// The operators' console (issue 14) in a real headless browser (Debian's
// chromium via playwright-core) against the real binary, real upstreams and
// real MCP clients: sign in, a server crash and an operator's restart, a
// rug-pull quarantined and approved, a client created and revoked (its token
// refused at once), the audit log filtered and verified, the configuration
// redacted, and a viewer who cannot act. Then the attacks: no session,
// viewer POST, missing/wrong CSRF token, cross-origin, other content types,
// path traversal in asset paths, huge and invalid query parameters.
// Screenshots of each page go to <build>/console-screenshots/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { spawnSync } from 'node:child_process';
import { BIN, SOURCE_DIR, authYaml, eventually, fetchToken, newClient, startWithConfig, tempDir, writeConfig } from './lib/bastion.mjs';
import { addUser, launch } from './lib/browser.mjs';

const SHOTS = path.join(path.resolve(BIN, '../../..'), 'console-screenshots');
const PASSWORDS = { alice: 'alice long password', bob: 'bob long password', carol: 'carol long password' };
const MALICIOUS = path.join(SOURCE_DIR, 'tests/sandbox/malicious_server.py');
const RUGPULL = path.join(SOURCE_DIR, 'tests/integration/lib/rugpull_server.py');

let server, browser, dataDir, ci;

function records() {
  const dir = path.join(dataDir, 'audit');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /^audit(-\d{12})?\.log$/.test(f))
    .flatMap((f) => readFileSync(path.join(dir, f), 'utf8').trimEnd().split('\n').filter(Boolean))
    .map((l) => JSON.parse(l));
}
const events = (type) => records().filter((r) => r.event_type === type);

async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

before(async () => {
  dataDir = tempDir();
  for (const [u, p] of Object.entries(PASSWORDS)) addUser(dataDir, u, p);
  ci = newClient('ci', ['mcp.access']);
  server = await startWithConfig(`
servers:
  bad:
    command: python3
    args: [${MALICIOUS}]
    start: eager
    env: {LEAKY: "carol.jones@example.com"}
  rug:
    command: python3
    args: [${RUGPULL}]
    env: {IDENTITY: rug}
${authYaml([ci], { extra: `  login: {}
  access:
    users:
      alice: [mcp.access]
      bob: [mcp.access]
      carol: [mcp.access]
` })}
console:
  admins: {users: [alice]}
  viewers: {users: [bob]}
`, [], { dataDir });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  if (server) assert.equal(await server.stop(), 0, server.stderr);
});

async function signIn(user, viewport) {
  const ctx = await browser.newContext(viewport ? { viewport } : {});
  const page = await ctx.newPage();
  page.on('dialog', (d) => d.accept());
  await page.goto(`${server.base}/console/`);
  await page.waitForURL(/\/signin\/login/);  // no session: the login page
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(PASSWORDS[user]);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.base}/console`);  // back where the sign-in began
  return { ctx, page };
}

// The browser's session for direct API calls (the attacks).
async function apiSession(ctx) {
  const cookies = await ctx.cookies();
  const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const s = await (await fetch(`${server.base}/console/api/session`, { headers: { cookie } })).json();
  return { cookie, csrf: s.csrf, role: s.role };
}

function post(what, body, { cookie, csrf, headers = {} } = {}) {
  const h = { 'content-type': 'application/json', ...headers };
  if (cookie) h.cookie = cookie;
  if (csrf !== undefined) h['x-csrf-token'] = csrf;
  return fetch(`${server.base}/console/api/${what}`, { method: 'POST', headers: h, body: JSON.stringify(body) });
}

// A raw GET whose path the client does not normalize (fetch would resolve "..").
function rawGet(p, cookie) {
  const u = new URL(server.base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: p, headers: { cookie } }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function mcp(token) {
  const c = new Client({ name: 'console-test', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(server.url),
    { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return c;
}

test('check-config: a console without sign-in pages, or at a taken path, is refused with its line', () => {
  const dir = tempDir();
  const cases = [
    ['console:\n  admins: {users: [alice]}\n', /bastion\.yaml:1:\d+: .*needs the sign-in pages/],
    ['auth:\n  login: {}\nconsole:\n  path: /mcp\n', /bastion\.yaml:4:\d+: .*path/],
    ['auth:\n  login: {}\nconsole:\n  admins: {users: alice}\n', /bastion\.yaml:4:\d+: /],
    ['auth:\n  login: {}\nconsole:\n  colour: red\n', /unknown key 'colour'/],
  ];
  for (const [yaml, want] of cases) {
    const cfg = writeConfig(dir, yaml);
    const r = spawnSync(BIN, ['check-config', '--config', cfg], { encoding: 'utf8' });
    assert.equal(r.status, 1, yaml);
    assert.match(r.stderr, want, yaml);
  }
  const ok = writeConfig(dir, 'auth:\n  login: {}\nconsole:\n  enabled: false\n');
  assert.equal(spawnSync(BIN, ['check-config', '--config', ok], { encoding: 'utf8' }).status, 0);
});

test('without a session: pages go to the login page, the API answers 401', async () => {
  const page = await fetch(`${server.base}/console/servers`, { redirect: 'manual' });
  assert.equal(page.status, 303);
  assert.match(page.headers.get('location'), /\/signin\/login\?return=\/console\/servers$/);
  assert.equal((await fetch(`${server.base}/console/api/servers`)).status, 401);
  assert.equal((await post('servers/restart', { server: 'bad' })).status, 401);
  // The assets themselves hold no data.
  assert.equal((await fetch(`${server.base}/console/assets/console.js`)).status, 200);
});

test('admin: overview, a crash and a restart on the Servers page', async () => {
  const { ctx, page } = await signIn('alice');
  const res = await page.goto(`${server.base}/console/`);
  const csp = res.headers()['content-security-policy'];
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(res.headers()['x-frame-options'], 'DENY');
  await page.locator('h1', { hasText: 'Overview' }).waitFor();
  assert.match(await page.locator('#who').innerText(), /alice · admin/);

  // Some traffic for the figures, then the crash: bad exits mid-call.
  const tok = (await fetchToken(server.base, ci)).access_token;
  const c = await mcp(tok);
  await c.listTools();
  // It logs to stderr (an e-mail address in it): the tail shows it masked.
  await c.callTool({ name: 'bad__leak_secret', arguments: { var: 'LEAKY' } });
  const crashed = await c.callTool({ name: 'bad__exit', arguments: { code: 3 } }).then(() => null, (e) => e);
  assert.ok(crashed, 'the call to a crashing server fails');
  await page.locator('[data-server="bad"]').first().waitFor();
  assert.ok(await eventually(async () => Number(await page.locator('[data-figure="requests"]').innerText()) > 0, { timeoutMs: 15000 }));
  await shot(page, 'overview');

  await page.goto(`${server.base}/console/servers`);
  const card = page.locator('section[data-server="bad"]');
  // Live: the restart count rises without a reload.
  assert.ok(await eventually(async () => Number(await card.locator('[data-restarts]').innerText()) >= 1, { timeoutMs: 15000 }));
  assert.match(await card.innerText(), /Recent errors \(1\)/);
  const tail = await card.locator('[data-stderr]').textContent();
  assert.match(tail, /debug: using key/);
  assert.ok(!tail.includes('carol.jones@example.com'), `stderr tail not sanitized: ${tail}`);
  await card.locator('summary', { hasText: 'Recent errors' }).click();
  assert.match(await card.innerText(), /exit|closed|EOF/i);
  assert.ok(await eventually(async () => (await card.locator('[data-state]').innerText()) === 'ready', { timeoutMs: 15000 }));
  await shot(page, 'servers');

  // The operator's restart: the server goes down and comes back, audited.
  const before = Number(await card.locator('[data-restarts]').innerText());
  await card.getByRole('button', { name: 'Restart' }).click();
  await page.getByText('Restarting bad').waitFor();
  assert.ok(await eventually(() => events('console_action').some((e) => e.action === 'server_restart' && e.server === 'bad' && e.user_id === 'alice' && e.outcome === 'ok')));
  assert.ok(await eventually(async () => (await card.locator('[data-state]').innerText()) === 'ready', { timeoutMs: 15000 }));
  assert.equal(Number(await card.locator('[data-restarts]').innerText()), before, 'an operator restart is not a crash');
  // The tools still work after it.
  const again = await mcp(tok);
  assert.ok((await again.listTools()).tools.some((t) => t.name === 'bad__exit'));
  await again.close();
  await c.close().catch(() => {});
  await ctx.close();
});

test('admin: a rug-pull is quarantined, shown as a diff with linter findings, and approved', async () => {
  const { ctx, page } = await signIn('alice');
  const tok = (await fetchToken(server.base, ci)).access_token;
  const c = await mcp(tok);
  assert.equal((await c.listTools()).tools.find((t) => t.name === 'rug__add').description, 'Adds two numbers.');
  await c.callTool({ name: 'rug__rugpull', arguments: {} });
  assert.ok(await eventually(() => events('pin_changed').some((e) => e.server === 'rug' && e.name === 'add')));
  // Clients never see the new definition.
  assert.equal((await c.listTools()).tools.find((t) => t.name === 'rug__add'), undefined);

  await page.goto(`${server.base}/console/tools`);
  const item = page.locator('[data-pending="rug/add"]');
  await item.waitFor({ timeout: 15000 });
  const diff = await item.locator('pre.diff').innerText();
  assert.match(diff, /^- .*Adds two numbers\./m);
  assert.match(diff, /^\+ .*IMPORTANT/m);
  assert.match(await item.innerText(), /Linter findings/);
  await shot(page, 'tools');

  await item.getByRole('button', { name: 'Approve' }).click();
  await page.getByText('Approved rug/add').waitFor();
  const approved = await eventually(async () => (await c.listTools()).tools.find((t) => t.name === 'rug__add'), { timeoutMs: 10000 });
  assert.match(approved.description, /IMPORTANT/);
  const decision = events('pin_approved').find((e) => e.server === 'rug' && e.name === 'add');
  assert.ok(decision, 'the approval is audited');
  assert.equal(decision.actor, 'console:alice');
  assert.ok(events('console_action').some((e) => e.action === 'tool_approve' && e.outcome === 'ok'));
  await c.close();
  await ctx.close();
});

test('admin: a client created here works until it is revoked, then its next call is refused', async () => {
  const { ctx, page } = await signIn('alice');
  await page.goto(`${server.base}/console/clients`);
  await page.getByLabel('Client id').fill('robot');
  await page.getByLabel(/Scopes/).fill('mcp.access');
  await page.getByRole('button', { name: 'Create client' }).click();
  const secret = await page.locator('[data-secret]').innerText();
  assert.ok(secret.length >= 40, secret);
  await shot(page, 'clients-created');
  const robot = { id: 'robot', secret };
  const tok = (await fetchToken(server.base, robot)).access_token;
  const c = await mcp(tok);
  await c.listTools();
  // The secret is not shown again, nor stored in the clear.
  await page.reload();
  await page.locator('[data-revoke="robot"]').waitFor();
  assert.equal(await page.locator('[data-secret]').count(), 0);
  assert.ok(!(await (await ctx.request.get(`${server.base}/console/api/clients`)).text()).includes(secret));

  await page.locator('[data-revoke="robot"]').click();
  await page.getByText('Revoked robot').waitFor();
  await shot(page, 'clients');
  // The very next call with the token it already holds is refused: in the
  // session it opened, and for a new one...
  await assert.rejects(c.listTools(), /401|invalid_token|nauthorized/);
  const r = await fetch(server.url, {
    method: 'POST',
    headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
  });
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate'), /invalid_token/);
  // ...and it gets no new token.
  await assert.rejects(fetchToken(server.base, robot), /401/);
  assert.ok(events('console_action').some((e) => e.action === 'client_revoke' && e.client_id === 'robot'));
  await c.close().catch(() => {});
  await ctx.close();
});

test('admin: the audit log filtered, verified and exported; the configuration redacted', async () => {
  const { ctx, page } = await signIn('alice');
  await page.goto(`${server.base}/console/audit`);
  await page.getByLabel('Event').fill('console_action');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/event=console_action/);
  await page.locator('[data-verify="ok"]').waitFor();
  assert.match(await page.locator('[data-verify]').innerText(), /last signed checkpoint at seq \d+/);
  const rows = await page.locator('tbody tr').allInnerTexts();
  assert.ok(rows.length >= 3, rows.join('\n'));
  for (const r of rows) assert.match(r, /console_action/);
  await shot(page, 'audit');

  const { cookie } = await apiSession(ctx);
  const exp = await fetch(`${server.base}/console/api/audit/export?event=pin_approved`, { headers: { cookie } });
  assert.equal(exp.status, 200);
  assert.match(exp.headers.get('content-disposition'), /attachment/);
  const lines = (await exp.text()).trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.length >= 1 && lines.every((l) => l.event_type === 'pin_approved'));
  assert.ok(events('console_action').some((e) => e.action === 'audit_export' && e.user_id === 'alice'), 'the export is audited');
  const none = await (await fetch(`${server.base}/console/api/audit?from=2000-01-01&to=2000-01-02`, { headers: { cookie } })).json();
  assert.equal(none.records.length, 0);
  // Paging: a full page says where the older records begin, and that page holds older ones.
  const page1 = await (await fetch(`${server.base}/console/api/audit?limit=2`, { headers: { cookie } })).json();
  assert.equal(page1.records.length, 2);
  assert.ok(page1.next_before > 1, JSON.stringify(page1));
  assert.equal(page1.next_before, page1.records[1].seq);
  const page2 = await (await fetch(`${server.base}/console/api/audit?limit=2&before=${page1.next_before}`, { headers: { cookie } })).json();
  assert.equal(page2.records.length, 2);
  assert.ok(page2.records.every((r) => r.seq < page1.next_before), JSON.stringify(page2));

  await page.goto(`${server.base}/console/config`);
  const cfg = await page.locator('[data-config]').innerText();
  assert.match(cfg, /"secret_hash": "\[redacted\]"/);
  assert.ok(!cfg.includes(ci.secret_hash), 'the client secret hash is shown');
  assert.match(cfg, /"IDENTITY": "\[redacted\]"/);
  await shot(page, 'config');
  await ctx.close();
});

test('a viewer sees everything and can do nothing (UI and API); a user without a role sees nothing', async () => {
  const { ctx, page } = await signIn('bob');
  await page.goto(`${server.base}/console/servers`);
  await page.locator('section[data-server="bad"]').waitFor();
  assert.match(await page.locator('#who').innerText(), /viewer \(read-only\)/);
  assert.equal(await page.getByRole('button', { name: 'Restart' }).count(), 0);
  await page.goto(`${server.base}/console/clients`);
  await page.locator('h1', { hasText: 'Clients' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Create client' }).count(), 0);
  assert.equal(await page.locator('[data-revoke]').count(), 0);
  await shot(page, 'viewer-clients');
  const s = await apiSession(ctx);
  assert.equal(s.role, 'viewer');
  for (const [what, body] of [['servers/stop', { server: 'bad' }], ['clients/revoke', { client_id: 'ci' }],
    ['clients/create', { client_id: 'x', scopes: ['mcp.access'] }], ['config/reload', {}]]) {
    const r = await post(what, body, s);
    assert.equal(r.status, 403, what);
  }
  assert.ok(events('console_refused').some((e) => e.user_id === 'bob' && /viewer/.test(e.reason)));
  // ci still works: nothing was revoked.
  await fetchToken(server.base, ci);
  await ctx.close();

  const carol = await signIn('carol');
  const res = await carol.page.goto(`${server.base}/console/`);
  assert.equal(res.status(), 403);
  const cs = await apiSession(carol.ctx);
  assert.equal((await fetch(`${server.base}/console/api/servers`, { headers: { cookie: cs.cookie } })).status, 403);
  await carol.ctx.close();
});

test('attacks: CSRF, cross-origin, content type, asset paths, query parameters', async () => {
  const { ctx } = await signIn('alice');
  const s = await apiSession(ctx);
  const stop = { server: 'rug' };
  assert.equal((await post('servers/stop', stop, { cookie: s.cookie })).status, 403, 'no CSRF token');
  assert.equal((await post('servers/stop', stop, { cookie: s.cookie, csrf: 'A'.repeat(43) })).status, 403, 'wrong token');
  assert.equal((await post('servers/stop', stop, { cookie: s.cookie, csrf: '' })).status, 403, 'empty token');
  const other = await signIn('alice');  // another session's token is no good here
  const o = await apiSession(other.ctx);
  assert.equal((await post('servers/stop', stop, { cookie: s.cookie, csrf: o.csrf })).status, 403, 'token of another session');
  await other.ctx.close();
  assert.equal((await post('servers/stop', stop, { ...s, headers: { origin: 'http://evil.example' } })).status, 403, 'cross-origin');
  assert.equal((await post('servers/stop', stop, { ...s, headers: { 'sec-fetch-site': 'cross-site' } })).status, 403, 'cross-site fetch');
  assert.equal((await post('servers/stop', stop, { ...s, headers: { 'content-type': 'text/plain' } })).status, 415, 'a form-like post');
  assert.equal((await post('nope', {}, s)).status, 404);
  const bad = await fetch(`${server.base}/console/api/servers/stop`, { method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' }, body: '[1,2' });
  assert.equal(bad.status, 400);
  assert.ok(events('console_refused').some((e) => /CSRF/.test(e.reason) && e.user_id === 'alice'));
  assert.ok(events('console_refused').some((e) => /cross-origin/.test(e.reason)));
  // Nothing was stopped by any of it.
  assert.ok(!events('console_action').some((e) => e.action === 'server_stop'));

  // A page of another site cannot read the API either: no CORS grant.
  const cors = await fetch(`${server.base}/console/api/session`, { headers: { cookie: s.cookie, origin: 'http://evil.example' } });
  assert.equal(cors.headers.get('access-control-allow-origin'), null);

  for (const p of ['/console/assets/../../../etc/passwd', '/console/assets/%2e%2e/%2e%2e/etc/passwd',
    '/console/assets/..%2fconsole.js', '/console/assets/', '/console/assets/console.js/', '/console/assets//etc/passwd',
    '/console/assets/console.js%00.png', '/console/../etc/passwd', '/console/%2e%2e/api/servers']) {
    const r = await rawGet(p, s.cookie);
    assert.ok([400, 404].includes(r.status), `${p}: ${r.status}`);
    assert.ok(!r.body.includes('root:'), p);
  }
  for (const q of ['limit=0', 'limit=100000000000000000000000', 'from=yesterday', 'before=-1', 'event=a&event=b',
    `server=${'x'.repeat(5000)}`, 'unknown=1', 'server=%zz']) {
    const r = await fetch(`${server.base}/console/api/audit?${q}`, { headers: { cookie: s.cookie } });
    assert.ok([400, 414, 431].includes(r.status), `${q}: ${r.status}`);
  }
  assert.ok(server.child.exitCode === null, 'bastion is still running');
  await ctx.close();
});

test('sign out from the console ends the session for the console too', async () => {
  const { ctx, page } = await signIn('alice');
  const s = await apiSession(ctx);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('You are signed out').waitFor();
  assert.equal((await fetch(`${server.base}/console/api/servers`, { headers: { cookie: s.cookie } })).status, 401);
  const res = await page.goto(`${server.base}/console/`);
  assert.match(page.url(), /\/signin\/login\?return=\/console/);
  assert.equal(res.status(), 200);
  await ctx.close();
});

test('the login returns only to console paths', async () => {
  for (const back of ['//evil.example/x', 'https://evil.example/', '/console/../account', '/consolex', '/oauth2/authorize']) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${server.base}/signin/login?return=${encodeURIComponent(back)}`);
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill(PASSWORDS.alice);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/account/);
    assert.equal(new URL(page.url()).origin, server.base, back);
    await ctx.close();
  }
});

test('a narrow screen', async () => {
  const { ctx, page } = await signIn('alice', { width: 375, height: 800 });
  await page.goto(`${server.base}/console/servers`);
  await page.locator('section[data-server="bad"]').waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px`);
  await shot(page, 'servers-narrow');
  await page.goto(`${server.base}/console/`);
  await page.locator('h1', { hasText: 'Overview' }).waitFor();
  await shot(page, 'overview-narrow');
  await ctx.close();

  // The overview once its charts have a few samples (traffic meanwhile).
  const wide = await signIn('alice');
  await wide.page.goto(`${server.base}/console/`);
  const tok = (await fetchToken(server.base, ci)).access_token;
  const c = await mcp(tok);
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 20; j++) await c.callTool({ name: 'rug__echo', arguments: { text: `hi ${i}.${j} from alice@example.com` } });
    await c.callTool({ name: 'rug__nope', arguments: {} }).catch(() => {});
    await new Promise((r) => setTimeout(r, 2100));
  }
  assert.ok(await eventually(async () => (await wide.page.locator('polyline').count()) >= 3, { timeoutMs: 10000 }));
  await shot(wide.page, 'overview-live');
  await c.close();
  await wide.ctx.close();
});

test('the CLI revokes too: a configured client is refused by the running server within a second', async () => {
  const tok = (await fetchToken(server.base, ci)).access_token;
  const c = await mcp(tok);
  await c.listTools();
  const r = spawnSync(BIN, ['client', 'revoke', 'ci', '--actor', 'ops-oncall', '--config', server.configPath, '--data-dir', dataDir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /revoked ci/);
  const refused = await eventually(() => c.listTools().then(() => false, (e) => /401|invalid_token|nauthorized/.test(String(e))), { timeoutMs: 5000, intervalMs: 200 });
  assert.ok(refused, 'the revoked client still works');
  await assert.rejects(fetchToken(server.base, ci), /401/);
  assert.ok(events('client_revoked').some((e) => e.client_id === 'ci' && e.actor === 'ops-oncall'));
  const { ctx } = await signIn('alice');
  const s = await apiSession(ctx);
  const clients = await (await fetch(`${server.base}/console/api/clients`, { headers: { cookie: s.cookie } })).json();
  assert.equal(clients.configured.find((x) => x.client_id === 'ci').revoked, true);
  await c.close().catch(() => {});
  await ctx.close();
});
