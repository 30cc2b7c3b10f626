// The official MCP conformance suite (0.2.0-alpha.12, `authorization`
// command) against Bastion's authorization server: both authorization-server
// scenarios (metadata endpoint, authorization code grant with PKCE, state,
// iss and resource). The suite prints the authorization URL and waits for
// the callback on its own loopback server; the test plays the user through
// lib/signin.mjs and lets the browser redirect land on that server.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { NODE22, NODE_MODULES, freePort, startWithConfig, tempDir } from './lib/bastion.mjs';
import { authorize, testLoginYaml, testUser } from './lib/signin.mjs';

const SUITE = path.join(NODE_MODULES, 'conformance-next/dist/index.js');
let server, alice;

before(async () => {
  alice = testUser('alice');
  server = await startWithConfig(`auth:
${testLoginYaml([alice])}  clients:
    - id: conformance
      client_name: MCP conformance suite
      redirect_uris: ['http://127.0.0.1/callback']
`);
});
after(async () => {
  assert.equal(await server.stop(), 0, server.stderr);
});

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
    if (m && !played) {
      played = (async () => {
        // The suite's callback server may start a moment after it prints the URL.
        const r = await authorize(m[0], alice);
        assert.equal(r.status, 302, r.body);
        for (let i = 0; ; ++i) {
          try {
            return await fetch(r.location);
          } catch (e) {
            if (i > 50) throw e;
            await new Promise((res) => setTimeout(res, 100));
          }
        }
      })();
    }
  });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.ok(played, `the suite printed no authorization URL:\n${stdout}\n${stderr}`);
  const cb = await played;
  assert.equal(cb.status, 200);
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
