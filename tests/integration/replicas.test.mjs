// Scale-out: two bastion replicas behind nginx with
// `hash $http_mcp_session_id consistent`. Each replica only hands out session
// ids that nginx's ring routes back to it (cluster.ring/self), so every call
// of every session reaches the replica that holds the session. The replicas
// share the auth directory: a token either one issued works on both, and a
// revocation on one is honoured by the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { authYaml, fetchToken, freePort, newClient, startServe, tempDir, waitForPort, writeConfig } from './lib/bastion.mjs';

test('sessions stay on their replica behind nginx consistent hashing', async () => {
  const dir = tempDir();
  const [p1, p2, pn] = [await freePort(), await freePort(), await freePort()];
  const ring = [`127.0.0.1:${p1}`, `127.0.0.1:${p2}`];
  const client = newClient('replica-client');
  const auth = authYaml([client], { extra: `  issuer: http://127.0.0.1:${pn}\n  data_dir: ${dir}/shared-auth\n` });
  const replica = async (self, port) =>
    startServe(['--config', writeConfig(dir, `
listen: 127.0.0.1:${port}
testkit: {enabled: true}
${auth}
cluster:
  ring: [${ring.join(', ')}]
  self: ${self}
`, `replica-${port}.yaml`), '--listen', `127.0.0.1:${port}`]);
  const r1 = await replica(ring[0], p1);
  const r2 = await replica(ring[1], p2);
  mkdirSync(path.join(dir, 'nginx'));
  const conf = path.join(dir, 'nginx', 'nginx.conf');
  writeFileSync(conf, `
worker_processes 1;
pid ${dir}/nginx/nginx.pid;
error_log ${dir}/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx; proxy_temp_path ${dir}/nginx; fastcgi_temp_path ${dir}/nginx;
  uwsgi_temp_path ${dir}/nginx; scgi_temp_path ${dir}/nginx;
  upstream bastion {
    hash $http_mcp_session_id consistent;
    server ${ring[0]};
    server ${ring[1]};
  }
  server {
    listen 127.0.0.1:${pn};
    location /mcp {
      proxy_pass http://bastion;
      proxy_http_version 1.1;
      proxy_set_header Host 127.0.0.1;
      proxy_set_header Connection "";
      proxy_buffering off;          # SSE
      proxy_read_timeout 1h;
    }
  }
}`);
  const nginx = spawn('nginx', ['-c', conf, '-g', 'daemon off;'], { stdio: 'ignore' });
  try {
    await waitForPort(pn);
    // One token from each replica; every client uses one of them through nginx.
    const tokens = [(await fetchToken(`http://127.0.0.1:${p1}`, client)).access_token,
      (await fetchToken(`http://127.0.0.1:${p2}`, client)).access_token];
    const clients = [];
    for (let i = 0; i < 20; i++) {
      const c = new Client({ name: `replica-client-${i}`, version: '1' });
      await c.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${pn}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${tokens[i % 2]}` } },
      }));
      clients.push(c);
    }
    const results = await Promise.all(
      clients.flatMap((c, i) =>
        Array.from({ length: 10 }, (_, j) => c.callTool({ name: 'echo', arguments: { text: `${i}/${j}` } }).then((r) => [i, j, r])),
      ),
    );
    for (const [i, j, r] of results) assert.equal(r.content[0].text, `${i}/${j}`);
    // Both replicas hold sessions, 20 in all: the load is spread and nothing was lost.
    const sessions = async (port) => (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()).sessions;
    const [s1, s2] = [await sessions(p1), await sessions(p2)];
    assert.equal(s1 + s2, 20);
    assert.ok(s1 > 0 && s2 > 0, `sessions ${s1}/${s2}`);
    await Promise.all(clients.map((c) => c.close()));
    // Revoked on replica 2, refused by replica 1 (within a second).
    const basic = `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;
    const rv = await fetch(`http://127.0.0.1:${p2}/oauth2/revoke`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
      body: new URLSearchParams({ token: tokens[0] }),
    });
    assert.equal(rv.status, 200);
    await new Promise((r) => setTimeout(r, 1100));
    for (const port of [p1, p2]) {
      const res = await fetch(`http://127.0.0.1:${port}/hello`, { headers: { authorization: `Bearer ${tokens[0]}` } });
      assert.equal(res.status, 401, `replica ${port} accepted a revoked token`);
      const ok = await fetch(`http://127.0.0.1:${port}/hello`, { headers: { authorization: `Bearer ${tokens[1]}` } });
      assert.equal(ok.status, 200);
    }
  } finally {
    nginx.kill('SIGTERM');
    await r1.stop();
    await r2.stop();
  }
});
