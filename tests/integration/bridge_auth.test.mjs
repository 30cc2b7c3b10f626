// `bastion connect` with client credentials: the stdio bridge fetches a token
// from Bastion's authorization server, sends it as a bearer token to the
// protected /mcp, fetches a new one before the old one expires, and renews
// and resends after a 401. Driven by the MCP SDK's stdio client; and the
// configs `bastion client-config` prints, used the way those clients use them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { BIN, authYaml, fetchToken, newClient, startWithConfig, tempDir } from './lib/bastion.mjs';

let server, cred;

before(async () => {
  cred = newClient('bridge-client');
  server = await startWithConfig(
    `${authYaml([cred], { extra: '  token_lifetime: 2\n  clock_skew: 0\n' })}builtin_tools: {security: true}\n`);
});
after(async () => server?.stop());

function tokensIssued() {
  const log = readFileSync(path.join(server.dataDir, 'audit', 'audit.log'), 'utf8');
  return log.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event_type === 'token_issued').length;
}

async function bridgeClient(url, extraArgs = [], env = { BASTION_CLIENT_SECRET: cred.secret }) {
  const transport = new StdioClientTransport({
    command: BIN,
    args: ['connect', '--url', url, '--client-id', cred.id, ...extraArgs],
    env: { PATH: process.env.PATH, ...env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'bridge-auth-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

const pii = (client) => client.callTool({
  name: 'test_pii_detection',
  arguments: { text: 'mail me at kim@example.com' },
});

test('the bridge gets a token, calls tools, and renews the token before it expires', async () => {
  const before = tokensIssued();
  const client = await bridgeClient(server.url);
  try {
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'test_pii_detection'), JSON.stringify(tools.map((t) => t.name)));
    const first = await pii(client);
    assert.ok(!first.isError, JSON.stringify(first));
    assert.match(JSON.stringify(first), /email/);
    // Tokens live 2 s here; a call after 3 s needs a new one.
    await sleep(3000);
    const second = await pii(client);
    assert.ok(!second.isError, JSON.stringify(second));
    assert.ok(tokensIssued() >= before + 2, `tokens issued: ${tokensIssued() - before}`);
  } finally {
    await client.close();
  }
});

test('after a 401 the bridge fetches a new token and sends the request again', async () => {
  // A pass-through proxy in front of /mcp that refuses one POST on demand,
  // as a resource server does for a revoked token.
  const target = new URL(server.url);
  let refuseNext = false;
  const seen = [];
  const proxy = http.createServer((req, res) => {
    if (req.method === 'POST') seen.push(req.headers.authorization);
    if (req.method === 'POST' && refuseNext) {
      refuseNext = false;
      req.resume();
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      return;
    }
    const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (r) => { res.writeHead(r.statusCode, r.headers); r.pipe(res); });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${proxy.address().port}/mcp`;
  const client = await bridgeClient(url, ['--auth-url', server.base]);
  try {
    assert.ok(!(await pii(client)).isError);
    refuseNext = true;
    const n = seen.length;
    const again = await pii(client);
    assert.ok(!again.isError, JSON.stringify(again));
    const retried = seen.slice(n);
    assert.equal(retried.length, 2, 'one refused POST and one resent');
    assert.notEqual(retried[0], retried[1], 'the resent request carries a new token');
    assert.match(retried[1], /^Bearer eyJ/);
  } finally {
    await client.close();
    proxy.close();
  }
});

test('a wrong secret, or none, is a clear error', async () => {
  const run = (args, env) => new Promise((resolve) => {
    execFile(BIN, ['connect', '--url', server.url, ...args], { env: { PATH: process.env.PATH, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stderr }));
  });
  const wrong = await run(['--client-id', cred.id], { BASTION_CLIENT_SECRET: 'nope' });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /cannot get a token from http:\/\/127\.0\.0\.1:\d+: token endpoint: invalid_client/);
  const none = await run(['--client-id', cred.id], {});
  assert.equal(none.code, 2);
  assert.match(none.stderr, /needs a secret/);
  // The secret from a file (0600), not from the command line or environment.
  const file = path.join(tempDir(), 'secret');
  writeFileSync(file, `${cred.secret}\n`, { mode: 0o600 });
  // Refused, like an ssh key, while others can read it or when it is missing.
  chmodSync(file, 0o644);
  const open = await run(['--client-id', cred.id, '--client-secret-file', file], {});
  assert.equal(open.code, 2);
  assert.match(open.stderr, /--client-secret-file: refusing .*mode 0644 lets group\/others read it; run: chmod 600/);
  const missing = await run(['--client-id', cred.id, '--client-secret-file', `${file}.nope`], {});
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--client-secret-file: File does not exist/);
  chmodSync(file, 0o600);
  const client = await bridgeClient(server.url, ['--client-secret-file', file], {});
  try {
    assert.ok(!(await pii(client)).isError);
  } finally {
    await client.close();
  }
});

test('client-config output works when used as the client would use it', async () => {
  const file = path.join(tempDir(), 'secret');
  writeFileSync(file, cred.secret, { mode: 0o600 });
  const config = (args) => JSON.parse(execFileSync(BIN, ['client-config', ...args, '--url', server.url]).toString());
  // Claude Desktop: spawn command + args exactly as written; no secret in the JSON.
  const claude = config(['claude', '--client-id', cred.id, '--client-secret-file', file]);
  const entry = claude.mcpServers.bastion;
  assert.ok(!JSON.stringify(claude).includes(cred.secret));
  const transport = new StdioClientTransport({ command: entry.command, args: entry.args, env: { PATH: process.env.PATH } });
  const client = new Client({ name: 'claude-like', version: '1.0.0' });
  await client.connect(transport);
  try {
    assert.ok(!(await pii(client)).isError);
  } finally {
    await client.close();
  }
  // Cursor over HTTP: url + headers, ${env:VAR} filled in from the environment.
  const cursor = config(['cursor', '--token-env', 'BASTION_TOKEN']).mcpServers.bastion;
  const { access_token: token } = await fetchToken(server.base, cred);
  const headers = Object.fromEntries(Object.entries(cursor.headers)
    .map(([k, v]) => [k, v.replace('${env:BASTION_TOKEN}', token)]));
  const http2 = new Client({ name: 'cursor-like', version: '1.0.0' });
  await http2.connect(new StreamableHTTPClientTransport(new URL(cursor.url), { requestInit: { headers } }));
  try {
    assert.ok((await http2.listTools()).tools.length > 0);
  } finally {
    await http2.close();
  }
});
