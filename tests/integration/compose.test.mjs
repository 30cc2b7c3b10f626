// The Dockerfile and docker-compose.yml, for real: a private dockerd
// (scripts/docker-test-engine), Debian 12 and Node base images made here
// (scripts/docker-base: debootstrap, no registry), `docker build` of the
// three images (the gateway's from the Dockerfile's runtime stage and the
// binary under test; BASTION_COMPOSE_FROM_SOURCE=1 compiles it in Docker), `docker-compose up`, then the seed's flow through the stack
// from the host: a client-credentials token from the auth service, MCP tool
// calls on the gateway (the Python and the Node upstream, each in its own
// container), the PII policy, `bastion connect` with client credentials, and
// the audit log in its volume. Then `down -v`. Skips, saying why, only when
// no Docker engine can be started here.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { BIN, SOURCE_DIR, fetchToken, freePort, tempDir } from './lib/bastion.mjs';

const script = (name) => path.join(SOURCE_DIR, 'scripts', name);
const ENGINE_ENV = {
  ...process.env,
  BASTION_DOCKER_ROOT: '/tmp/bastion-docker-compose',
  // Networks of their own, clear of the other engine's and the host's.
  BASTION_DOCKERD_ARGS: '--default-address-pool base=10.213.0.0/16,size=24',
};

function engine() {
  const r = spawnSync(script('docker-test-engine'), ['start'], { env: ENGINE_ENV, encoding: 'utf8' });
  if (r.status !== 0) return { skip: `no Docker engine could be started: ${r.stderr.trim().split('\n').pop()}` };
  const host = /DOCKER_HOST=(\S+)/.exec(r.stdout)[1];
  return { env: { ...ENGINE_ENV, DOCKER_HOST: host }, started: r.stdout.includes('STARTED') };
}

const e = engine();
const project = `bastion-it-${process.pid}`;
let env, compose, gatewayPort, authPort, client;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', cwd: SOURCE_DIR, maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${(r.stdout ?? '').slice(-3000)}\n${(r.stderr ?? '').slice(-3000)}`);
  return r.stdout;
}
const dc = (...args) => run(compose[0], [...compose.slice(1), '-p', project, ...args]);
const docker = (...args) => run('docker', args).trim();

before(async () => {
  if (e.skip) return;
  gatewayPort = await freePort();
  authPort = await freePort();
  const secrets = tempDir('bastion-compose-secrets-');
  env = { ...e.env, BASTION_PORT: String(gatewayPort), BASTION_AUTH_PORT: String(authPort), BASTION_SECRETS_DIR: secrets };
  compose = spawnSync('docker', ['compose', 'version'], { env }).status === 0 ? ['docker', 'compose'] : ['docker-compose'];
  run(script('docker-base'), []);
  // The registry is unreachable; builds reach Debian and npm over the host's network.
  // The gateway image is the Dockerfile's runtime stage with the binary under
  // test in it (a Debian 12 build, stripped): compiling Bastion a second time
  // inside Docker cost CI ten minutes and tests nothing the build under test
  // does not. BASTION_COMPOSE_FROM_SOURCE=1 builds the Dockerfile whole.
  if (process.env.BASTION_COMPOSE_FROM_SOURCE === '1') {
    run('docker', ['build', '--network', 'host', '-q', '-t', 'bastion:latest', '.']);
  } else {
    run('docker', ['build', '--network', 'host', '-q', '--target', 'runtime', '-t', 'bastion-runtime:latest', '.']);
    const ctx = tempDir('bastion-compose-image-');
    run('strip', ['-o', path.join(ctx, 'bastion'), BIN]);
    writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM bastion-runtime:latest\nCOPY bastion /usr/local/bin/bastion\n');
    run('docker', ['build', '-q', '-t', 'bastion:latest', ctx]);
  }
  for (const [tag, ctx] of [['bastion-example/weather:latest', 'examples/python'],
    ['bastion-example/everything:latest', 'deploy/compose/node-server']])
    run('docker', ['build', '--network', 'host', '-q', '-t', tag, ctx]);
  // The client, registered the way the README says (hash in the secrets dir).
  const out = run(path.join(SOURCE_DIR, 'deploy/compose/new-client'), ['mcp-client'], { env: { ...env, PATH: "/usr/local/bin:/usr/bin:/bin" } });
  client = { id: 'mcp-client', secret: /client_secret: (\S+)/.exec(out)[1] };
  dc('up', '-d', '--no-build');
  // Ready when the gateway's own healthcheck passes (it starts only after auth
  // and both upstreams are healthy) and it answers /readyz from the host.
  const deadline = Date.now() + 180_000;
  for (;;) {
    const id = dc('ps', '-q', 'gateway').trim();
    const healthy = id && docker('inspect', '--format', '{{.State.Health.Status}}', id) === 'healthy';
    const ok = healthy && await fetch(`http://127.0.0.1:${gatewayPort}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`the stack did not become ready:\n${dc('ps')}\n${dc('logs', '--tail', '50')}`);
    await sleep(1000);
  }
});

after(() => {
  if (e.skip) return;
  try {
    if (compose) spawnSync(compose[0], [...compose.slice(1), '-p', project, 'down', '-v', '--remove-orphans'], { env, cwd: SOURCE_DIR });
    // The build stages' images (the tagged ones stay as a cache for the next run).
    spawnSync('docker', ['image', 'prune', '-f'], { env });
  } finally {
    if (e.started) spawnSync(script('docker-test-engine'), ['stop'], { env: e.env });
  }
});

test('the images: multi-stage, small, unprivileged, with a healthcheck', { skip: e.skip }, () => {
  const img = JSON.parse(docker('image', 'inspect', 'bastion:latest'))[0];
  assert.equal(img.Config.User, 'bastion');
  assert.deepEqual(img.Config.Healthcheck.Test.slice(0, 2), ['CMD', 'bastion']);
  const mb = img.Size / 1e6;
  console.log(`bastion:latest is ${mb.toFixed(0)} MB (base debian:bookworm-slim from debootstrap)`);
  // No compiler or headers came along from the build stage.
  const r = spawnSync('docker', ['run', '--rm', '--entrypoint', 'sh', 'bastion:latest', '-c',
    'command -v g++ cmake; ls /usr/include/boost 2>/dev/null | head -1; id -u; bastion --version'], { env, encoding: 'utf8' });
  assert.equal(r.stdout.trim().split('\n').join(' '), `10001 bastion 0.1.0`, r.stdout + r.stderr);
  for (const s of ['weather', 'everything'])
    assert.notEqual(docker('image', 'inspect', '--format', '{{.Config.User}}', `bastion-example/${s}:latest`), '');
});

test('the stack: services healthy, upstreams unreachable from the host', { skip: e.skip }, () => {
  for (const s of ['auth', 'gateway', 'weather', 'everything']) {
    const id = dc('ps', '-q', s).trim();
    assert.ok(id, `no container for ${s}`);
    assert.equal(docker('inspect', '--format', '{{.State.Health.Status}}', id), 'healthy', s);
  }
  // Only auth and the gateway publish ports; the upstreams sit on an internal network.
  const weather = dc('ps', '-q', 'weather').trim();
  assert.equal(docker('inspect', '--format', '{{json .NetworkSettings.Ports}}', weather).includes('HostPort'), false);
  const nets = JSON.parse(docker('inspect', '--format', '{{json .NetworkSettings.Networks}}', weather));
  assert.deepEqual(Object.keys(nets), [`${project}_upstreams`]);
  assert.equal(docker('network', 'inspect', '--format', '{{.Internal}}', `${project}_upstreams`), 'true');
});

test('token from the auth service, tool calls through the gateway', { skip: e.skip }, async () => {
  const gateway = `http://127.0.0.1:${gatewayPort}`;
  // No token: the RFC 9728 challenge.
  const anon = await fetch(`${gateway}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(anon.status, 401);
  // Discovery works from the host: every URL in it is one a client can reach.
  const authUrl = `http://127.0.0.1:${authPort}`;
  const prmUrl = /resource_metadata="([^"]+)"/.exec(anon.headers.get('www-authenticate'))?.[1];
  assert.ok(prmUrl?.startsWith(`${gateway}/`), anon.headers.get('www-authenticate'));
  const prm = await (await fetch(prmUrl)).json();
  assert.ok(prm.authorization_servers.includes(authUrl), JSON.stringify(prm));
  const asm = await (await fetch(`${authUrl}/.well-known/oauth-authorization-server`)).json();
  assert.equal(asm.issuer, authUrl);
  assert.equal(asm.token_endpoint, `${authUrl}/oauth2/token`);
  // The seed's flow: client credentials at the auth service ...
  const tok = await fetchToken(authUrl, client, 'mcp.access');
  assert.equal(tok.token_type, 'Bearer');
  const claims = JSON.parse(Buffer.from(tok.access_token.split('.')[1], 'base64url'));
  assert.equal(claims.iss, authUrl);
  assert.equal(claims.aud, `${gateway}/mcp`);
  // ... a wrong secret is refused ...
  await assert.rejects(fetchToken(`http://127.0.0.1:${authPort}`, { id: client.id, secret: 'wrong' }), /invalid_client/);
  // ... and the token opens the gateway, whose keys are not the auth service's.
  const mcp = new Client({ name: 'compose-test', version: '1.0.0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(`${gateway}/mcp`),
    { requestInit: { headers: { authorization: `Bearer ${tok.access_token}` } } }));
  try {
    const names = (await mcp.listTools()).tools.map((t) => t.name);
    for (const n of ['weather__get_weather', 'everything__echo', 'test_pii_detection'])
      assert.ok(names.includes(n), `${n} in ${names}`);
    const w = await mcp.callTool({ name: 'weather__get_weather', arguments: { city: 'Seoul' } });
    assert.equal(w.structuredContent.city, 'Seoul', JSON.stringify(w));
    // The Node upstream, and the gateway's PII policy (mask) on the way.
    const echo = await mcp.callTool({ name: 'everything__echo', arguments: { message: 'reach kim.minsu@example.com' } });
    const text = JSON.stringify(echo);
    assert.ok(!text.includes('kim.minsu@example.com'), text);
    assert.match(text, /@example\.com/);
    const rrn = await mcp.callTool({ name: 'everything__echo', arguments: { message: '주민번호 900101-1234568' } })
      .then((r) => JSON.stringify(r), (err) => String(err));
    assert.ok(!rrn.includes('1234568'), rrn);
  } finally {
    await mcp.close();
  }
});

test('bastion connect from the host: the bridge gets its own token', { skip: e.skip }, async () => {
  const dir = tempDir();
  mkdirSync(dir, { recursive: true });
  const transport = new StdioClientTransport({
    command: BIN,
    args: ['connect', '--url', `http://127.0.0.1:${gatewayPort}/mcp`, '--auth-url', `http://127.0.0.1:${authPort}`,
      '--client-id', client.id],
    env: { PATH: process.env.PATH, BASTION_CLIENT_SECRET: client.secret },
  });
  const mcp = new Client({ name: 'bridge', version: '1.0.0' });
  await mcp.connect(transport);
  try {
    const r = await mcp.callTool({ name: 'weather__list_cities', arguments: {} });
    assert.match(JSON.stringify(r), /Busan/);
  } finally {
    await mcp.close();
  }
});

test('the audit logs live in the volumes and verify', { skip: e.skip }, () => {
  // Stop the gateway so its log is complete (signed checkpoint at shutdown).
  dc('stop', 'gateway', 'auth');
  for (const [svc, vol, events] of [['gateway', 'gateway-data', /tool_call|pii/], ['auth', 'auth-keys', /token_issued/]]) {
    const out = docker('run', '--rm', '--entrypoint', 'sh', '-v', `${project}_${vol}:/var/lib/bastion`, 'bastion:latest', '-c',
      'bastion audit verify /var/lib/bastion/audit && cat /var/lib/bastion/audit/audit.log && stat -c %a /var/lib/bastion');
    assert.match(out, /^ok: \d+ records/m, svc);
    assert.match(out, events, svc);
    assert.match(out.trim().split('\n').pop(), /^700$/, `${svc} data directory mode`);
    assert.ok(!out.includes(client.secret), `${svc}: the client secret reached the audit log`);
  }
});
