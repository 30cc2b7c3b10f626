// Credentials of HTTP (`url:`) upstream servers, against the real binary and
// a real Streamable HTTP upstream that echoes them back (the careless or
// hostile upstream of security-model.md):
//   - a `headers:` value (Authorization: Bearer ...) and the URL's query
//     (?api_key=...) and userinfo (user:pass@) are still what Bastion sends,
//     but never reach Bastion's log, its audit log, the console's JSON API,
//     `bastion doctor`, or a client (results, errors, relayed log lines);
//   - `secrets:` on a `url:` server, which nothing would send, is refused at
//     load instead of being silently ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { BIN, authYaml, fetchToken, newClient, startWithConfig, tempDir, writeConfig } from './lib/bastion.mjs';
import { addUser } from './lib/browser.mjs';
import { startHttpUpstream } from './lib/http_upstream.mjs';

const HEADER_KEY = 'sk-header-5b2d4f607f3a9c1e';
const QUERY_KEY = 'sk-query-0e9d8c7b6a5f4e3d';
const PASSWORD = 'pw-userinfo-4c3b2a1f0e9d';
const LEAKS = [HEADER_KEY, QUERY_KEY, PASSWORD];
const ALICE = 'alice long password';

const leaked = (text) => LEAKS.filter((k) => text.includes(k));

// An MCP server over Streamable HTTP that answers only requests carrying the
// expected credentials, then echoes what it received: in a tool result, a
// log notification and a JSON-RPC error.
async function echoingUpstream() {
  const seen = [];
  const up = await startHttpUpstream((req) => {
    const got = `Authorization: ${req.headers.authorization} at ${req.url}`;
    const mcp = new McpServer({ name: 'echo', version: '1' }, { capabilities: { logging: {} } });
    mcp.registerTool('echo_credentials', { description: 'echoes what it was sent' }, async (extra) => {
      await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data: `log: ${got}` } });
      return { content: [{ type: 'text', text: `result: ${got}` }] };
    });
    // A name Bastion refuses (a space in it), holding the credential: the
    // refusal's audit record names it.
    const key = new URL(req.url, 'http://up').searchParams.get('api_key');
    mcp.registerTool(`leak ${key}`, { description: 'refused' }, async () => ({ content: [] }));
    if (req.url.startsWith('/mcp')) {  // one server claims the template
      mcp.registerResource('fail', new ResourceTemplate('echo://{x}', { list: undefined }), {}, async () => {
        throw new Error(`error: ${got}`);
      });
    }
    return mcp;
  }, {
    onRequest: (req, res) => {
      seen.push({ url: req.url, authorization: req.headers.authorization });
      if (req.headers.authorization === `Bearer ${HEADER_KEY}` && req.url.includes(`api_key=${QUERY_KEY}`)) return false;
      res.writeHead(401).end();
      return true;
    },
  });
  return { ...up, seen };
}

// A console session for `user`, signed in through the sign-in pages as a
// browser would.
async function consoleSession(base, user, password) {
  const cookies = (res) => res.headers.getSetCookie().map((c) => c.split(';')[0]);
  const page = await fetch(`${base}/console/`);
  const html = await page.text();
  // The form's hidden fields (id, csrf, return) as the browser posts them.
  const form = Object.fromEntries([...html.matchAll(/type="hidden" name="([^"]*)" value="([^"]*)"/g)]
    .map((m) => [m[1], m[2]]));
  assert.ok(form.csrf, html);
  const jar = cookies(page);
  const res = await fetch(`${base}/signin/login`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.join('; '), origin: base },
    body: new URLSearchParams({ ...form, username: user, password }),
  });
  assert.equal(res.status, 303, await res.text());
  return [...jar, ...cookies(res)].join('; ');
}

test('an HTTP upstream\'s header, query and userinfo credentials are sent, and shown or logged nowhere', async () => {
  const up = await echoingUpstream();
  const dataDir = tempDir();
  addUser(dataDir, 'alice', ALICE);
  const ci = newClient('creds-ci', ['mcp.access']);
  const config = `log: {level: debug}
servers:
  remote:
    url: "http://127.0.0.1:${up.port}/mcp?api_key=${QUERY_KEY}"
    headers: {Authorization: "Bearer ${HEADER_KEY}"}
    start: eager
  basic:
    url: "http://bob:${PASSWORD}@127.0.0.1:${up.port}/other?api_key=${QUERY_KEY}"
    headers: {Authorization: "Bearer ${HEADER_KEY}"}
${authYaml([ci], { extra: `  login: {}
  access:
    users:
      alice: [mcp.access]
` })}
console:
  admins: {users: [alice]}
`;
  const srv = await startWithConfig(config, [], { dataDir });
  const seenByClient = [];
  try {
    const { access_token: token } = await fetchToken(srv.base, ci, 'mcp.access');
    const c = new Client({ name: 'creds-test', version: '1' });
    c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => seenByClient.push(JSON.stringify(n.params)));
    await c.connect(new StreamableHTTPClientTransport(new URL(srv.url),
      { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    // The real header and URL reached the upstream (it answers nothing else),
    // and what it echoes reaches the client scrubbed.
    const r = await c.callTool({ name: 'remote__echo_credentials', arguments: {} });
    const text = r.content[0].text;
    seenByClient.push(text);
    assert.match(text, /^result: Authorization: \*\*\* at \/mcp\?/);
    const err = await c.readResource({ uri: 'echo://x' }).then((x) => JSON.stringify(x), (e) => e.message);
    seenByClient.push(err);
    assert.match(err, /error: Authorization: \*\*\*/);
    await c.callTool({ name: 'basic__echo_credentials', arguments: {} }).then(
      (x) => seenByClient.push(JSON.stringify(x)), (e) => seenByClient.push(e.message));
    await c.close();
    assert.ok(up.seen.some((s) => s.url === `/mcp?api_key=${QUERY_KEY}` && s.authorization === `Bearer ${HEADER_KEY}`),
      JSON.stringify(up.seen));
    assert.ok(seenByClient.some((m) => m.includes('log: Authorization: ***')), seenByClient.join('\n'));
    assert.deepEqual(leaked(seenByClient.join('\n')), [], seenByClient.join('\n'));

    // The console's JSON API: servers and the effective configuration.
    const cookie = await consoleSession(srv.base, 'alice', ALICE);
    const servers = await (await fetch(`${srv.base}/console/api/servers`, { headers: { cookie } })).text();
    const remote = JSON.parse(servers).find((s) => s.name === 'remote');
    assert.equal(remote.url, `http://127.0.0.1:${up.port}/mcp?[redacted]`);
    const basic = JSON.parse(servers).find((s) => s.name === 'basic');
    assert.equal(basic.url, `http://[redacted]@127.0.0.1:${up.port}/other?[redacted]`);
    const cfg = await (await fetch(`${srv.base}/console/api/config`, { headers: { cookie } })).text();
    assert.match(cfg, /"url":"http:\/\/127\.0\.0\.1:\d+\/mcp\?\[redacted\]"/);
    for (const [what, body] of [['servers', servers], ['config', cfg]])
      assert.deepEqual(leaked(body), [], `console ${what}: ${body}`);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
    up.close();
  }
  // Bastion's log names the server it connects to, without the credentials.
  assert.match(srv.stderr, new RegExp(`connecting to http://127\\.0\\.0\\.1:${up.port}/mcp\\?\\[redacted\\]`));
  assert.deepEqual(leaked(srv.stderr), [], srv.stderr);
  const audit = readdirSync(path.join(dataDir, 'audit')).filter((f) => f.endsWith('.log'))
    .map((f) => readFileSync(path.join(dataDir, 'audit', f), 'utf8')).join('');
  assert.match(audit, /echo_credentials/);
  assert.match(audit, /upstream_item_refused/);
  assert.deepEqual(leaked(audit), [], audit);
  // `bastion doctor` shows the server the same way.
  const doc = spawnSync(BIN, ['doctor', '--config', srv.configPath, '--data-dir', dataDir], { encoding: 'utf8' });
  const out = doc.stdout + doc.stderr;
  assert.match(out, new RegExp(`remote http://127\\.0\\.0\\.1:${up.port}/mcp\\?\\[redacted\\]`), out);
  assert.deepEqual(leaked(out), [], out);
});

test('secrets: on a url: server is refused at load, not silently ignored', async () => {
  const yaml = 'servers:\n  remote:\n    url: http://127.0.0.1:1/mcp\n    secrets: {API_KEY: remote-key}\n';
  const cfg = writeConfig(tempDir(), yaml);
  const r = spawnSync(BIN, ['check-config', '--config', cfg], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /bastion\.yaml:4:\d+: .*secrets.*headers:/);
  await assert.rejects(startWithConfig(yaml), /exited with 1 before listening[^]*secrets/);
});
