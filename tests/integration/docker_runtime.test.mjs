// The docker runtime against a real Docker engine (a private dockerd started
// by scripts/docker-test-engine, with a locally imported image): the Python
// example runs under `docker run -i --rm --network none --read-only
// --cap-drop ALL`, and in the seed's `docker exec -i` mode; Bastion's
// containers carry its labels and none is left after it stops. Skips, saying
// why, only when no engine can be started here.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { BIN, SOURCE_DIR, startServe, tempDir, writeConfig } from './lib/bastion.mjs';

const ENGINE = path.join(SOURCE_DIR, 'scripts/docker-test-engine');
const IMAGE = 'bastion-test/python-mini:1';
const EXAMPLES = path.join(SOURCE_DIR, 'examples/python');
const HOSTILE = path.join(SOURCE_DIR, 'tests/sandbox');

function engine() {
  const r = spawnSync(ENGINE, ['start'], { encoding: 'utf8' });
  if (r.status !== 0) return { skip: `no Docker engine could be started: ${r.stderr.trim().split('\n').pop()}` };
  const host = /DOCKER_HOST=(\S+)/.exec(r.stdout)[1];
  const env = { ...process.env, DOCKER_HOST: host };
  execFileSync(ENGINE, ['image'], { env, stdio: 'inherit' });
  return { env, started: r.stdout.includes('STARTED') };
}

const docker = (env, ...args) => execFileSync('docker', args, { env, encoding: 'utf8' }).trim();
const managed = (env) => docker(env, 'ps', '-a', '-q', '--filter', 'label=bastion.managed=1').split('\n').filter(Boolean);

const e = engine();
// Stop the engine if this test started it (the image stays cached on disk).
after(() => {
  if (e.started) spawnSync(ENGINE, ['stop'], { env: e.env });
});

test('docker run and docker exec runtimes with a real engine', { skip: e.skip }, async () => {
  const env = e.env;
  const execName = `bastion-test-exec-${process.pid}`;
  docker(env, 'run', '-d', '--rm', '--name', execName, '--network', 'none', '-v', `${EXAMPLES}:${EXAMPLES}:ro`,
    IMAGE, 'python3', '-c', 'import time; time.sleep(600)');
  // A container "left behind by a crashed bastion" of this instance.
  const instance = `t${process.pid}`;
  const stale = docker(env, 'run', '-d', '--label', 'bastion.managed=1', '--label', `bastion.instance=${instance}`,
    IMAGE, 'python3', '-c', 'import time; time.sleep(600)');
  const dir = tempDir();
  const cfg = writeConfig(dir, `
gateway:
  instance: ${instance}
servers:
  weather:
    command: python3
    args: [${EXAMPLES}/weather_server.py]
    runtime: docker
    docker: {image: "${IMAGE}"}
    paths: {read_only: [${EXAMPLES}]}
    limits: {memory: 256MiB, pids: 64}
  seed:
    command: python3
    args: [${EXAMPLES}/weather_server.py]
    runtime: docker
    docker: {container: ${execName}}
`);
  const srv = await startServe(['--config', cfg], { env });
  try {
    assert.equal(docker(env, 'ps', '-a', '-q', '--filter', `id=${stale}`), '', 'the stale container was not removed at start');
    const client = new Client({ name: 'docker-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(srv.url)));
    const w = await client.callTool({ name: 'weather__get_weather', arguments: { city: 'Busan' } });
    assert.equal(w.structuredContent.city, 'Busan');
    const s = await client.callTool({ name: 'seed__get_forecast', arguments: { city: 'Seoul', days: 2 } });
    assert.equal(s.structuredContent.forecast.length, 2);

    const ids = managed(env);
    assert.equal(ids.length, 1, 'one container started by bastion (docker run)');
    const inspect = JSON.parse(docker(env, 'inspect', ids[0]))[0];
    assert.equal(inspect.HostConfig.NetworkMode, 'none');
    assert.equal(inspect.HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(inspect.HostConfig.CapDrop, ['ALL']);
    assert.ok(inspect.HostConfig.SecurityOpt.includes('no-new-privileges'));
    assert.equal(inspect.HostConfig.Memory, 256 * 1024 * 1024);
    assert.equal(inspect.HostConfig.PidsLimit, 64);
    assert.equal(inspect.Config.Labels['bastion.server'], 'weather');
    // Never root in the container, whoever runs Bastion: the server's own uid.
    assert.match(inspect.Config.User, /^\d+:\d+$/);
    assert.ok(Number(inspect.Config.User.split(':')[0]) >= 1000000000, inspect.Config.User);
    await client.close();
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
    docker(env, 'rm', '-f', execName);
  }
  assert.deepEqual(managed(env), [], 'bastion left a container behind');
});

// The hostile server (tests/sandbox/malicious_server.py) in a container:
// it holds only stdio, runs as an unprivileged uid with no capabilities,
// every escape fails, the fork bomb stops at --pids-limit, and its secret
// is on no command line (the docker CLI gets `-e API_KEY`, the value in its
// environment).
test('docker: a hostile server is contained and its secret stays off every command line', { skip: e.skip }, async () => {
  const env = e.env;
  const data = tempDir();
  const value = `sk-docker-${process.pid}-51c0e7`;
  const set = spawnSync(BIN, ['secret', 'set', 'evil-key', '--data-dir', data], { input: `${value}\n`, encoding: 'utf8' });
  assert.equal(set.status, 0, set.stderr);
  const cfg = writeConfig(tempDir(), `
servers:
  evil:
    command: python3
    args: [${HOSTILE}/malicious_server.py]
    runtime: docker
    docker: {image: "${IMAGE}"}
    paths: {read_only: [${HOSTILE}]}
    secrets: {API_KEY: evil-key}
    limits: {pids: 32}
`);
  const srv = await startServe(['--config', cfg], { env, dataDir: data });
  const client = new Client({ name: 'docker-hostile', version: '1' });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(srv.url)));
    const call = async (name, args = {}) => (await client.callTool({ name: `evil__${name}`, arguments: args })).structuredContent;
    const { fds } = await call('fds');
    assert.deepEqual(fds.map((f) => f.fd), [0, 1, 2], JSON.stringify(fds));
    const { sockets } = await call('steal_sockets', { wait: 1 });
    assert.deepEqual(sockets, []);
    const w = await call('whoami');
    assert.ok(w.uid >= 1000000000, `uid ${w.uid}`);
    assert.equal(w.env.HOME, '/tmp');
    const esc = await call('escape', { grant: HOSTILE });
    for (const [k, v] of Object.entries(esc.results)) assert.notEqual(v, 'ok', `${k} succeeded: ${JSON.stringify(esc)}`);
    assert.equal(esc.status.CapEff, '0000000000000000');
    assert.equal(esc.status.NoNewPrivs, '1');
    const bomb = await call('fork_bomb');
    assert.ok(bomb.forked < 32, `forked ${bomb.forked}`);
    const leaked = (await client.callTool({ name: 'evil__leak_secret', arguments: { var: 'API_KEY' } })).content[0].text;
    assert.equal(leaked, 'my key is ***'); // it has the value; scrubbed on the way back
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let cmd;
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      } catch {
        continue;
      }
      assert.ok(!cmd.includes(value), `pid ${pid} has the secret on its command line: ${cmd.split('\0')[0]}`);
    }
  } finally {
    await client.close();
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});
