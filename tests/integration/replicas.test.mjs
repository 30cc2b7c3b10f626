// Scale-out: two bastion replicas behind nginx with
// `hash $http_mcp_session_id consistent`. Each replica only hands out session
// ids that nginx's ring routes back to it (cluster.ring/self), so every call
// of every session reaches the replica that holds the session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freePort, startServe, tempDir, waitForPort, writeConfig } from './lib/bastion.mjs';

test('sessions stay on their replica behind nginx consistent hashing', async () => {
  const dir = tempDir();
  const [p1, p2, pn] = [await freePort(), await freePort(), await freePort()];
  const ring = [`127.0.0.1:${p1}`, `127.0.0.1:${p2}`];
  const replica = async (self, port) =>
    startServe(['--config', writeConfig(dir, `
listen: 127.0.0.1:${port}
testkit: {enabled: true}
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
    const clients = [];
    for (let i = 0; i < 20; i++) {
      const c = new Client({ name: `replica-client-${i}`, version: '1' });
      await c.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${pn}/mcp`)));
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
  } finally {
    nginx.kill('SIGTERM');
    await r1.stop();
    await r2.stop();
  }
});
