// A hostile upstream (tests/sandbox/malicious_server.py) tries what issue 10
// reproduced against the sandbox, as root and as an unprivileged user, under
// bwrap and the process runtime (docker: docker_runtime.test.mjs):
//   - descriptors: it lists what it holds and tries to accept() on the
//     gateway's listener and read other clients' connections;
//   - privileges: sysctl writes, remounts (mount, mount_setattr, the new
//     mount API), writes under /usr and into read-only grants, setuid(0);
//     and from the host: its uid, gid and capabilities;
//   - binds: a data_dir next to its package, a script in a home directory;
//   - secrets: its API key on any command line of the process tree;
//   - limits: a fork bomb, SIGKILL and the cgroup it leaves, stale cgroups,
//     HOME and PATH.
// Every attack must fail while another session keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { BIN, SOURCE_DIR, eventually, serverDir, startServe, tempDir, writeConfig } from './lib/bastion.mjs';

const MALICIOUS = path.join(SOURCE_DIR, 'tests/sandbox/malicious_server.py');
const WEATHER = path.join(SOURCE_DIR, 'examples/python/weather_server.py');
const ROOT = process.getuid() === 0;
const UNPRIVILEGED = 54321; // a uid with no account: setpriv needs none
const FIXED_PATH = '/usr/local/bin:/usr/bin:/bin';

const text = (r) => r.content.map((c) => c.text).join('');

async function connect(url) {
  const c = new Client({ name: 'hostile-test', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url)));
  return c;
}

// Calls a tool of the hostile server, waiting while it restarts after a
// crash an earlier step caused.
async function call(client, tool, args = {}) {
  for (let i = 0; ; i++) {
    try {
      return await client.callTool({ name: `evil__${tool}`, arguments: args });
    } catch (e) {
      if (!/unavailable/.test(e.message) || i >= 40) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const stillServing = async (client) =>
  assert.match(text(await client.callTool({ name: 'weather__list_cities', arguments: {} })), /Seoul/);

function processes() {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${d}/cmdline`).toString('latin1').split('\0').filter(Boolean);
      out.push({ pid: Number(d), ppid, cmd });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function descendants(root) {
  const all = processes();
  const found = [];
  const queue = [root];
  while (queue.length) {
    const p = queue.shift();
    for (const c of all.filter((x) => x.ppid === p)) {
      found.push(c);
      queue.push(c.pid);
    }
  }
  return found;
}

// The hostile server's python process, seen from the host.
function serverProcess(bastionPid, script = 'malicious_server.py') {
  return descendants(bastionPid).find(
    (p) => /python/.test(path.basename(p.cmd[0] ?? '')) && p.cmd.some((a) => a.endsWith(script)),
  );
}

function status(pid) {
  const s = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) s[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return s;
}

function config(dir, { runtime = 'bwrap', script = MALICIOUS, weather = WEATHER, evil = '', pids = 32 } = {}) {
  return writeConfig(dir, `
servers:
  evil:
    command: python3
    args: [${script}]
    runtime: ${runtime}
    limits: {memory: 256MiB, pids: ${pids}}
    timeouts: {call: 15s}
${evil}  weather:
    command: python3
    args: [${weather}]
    runtime: ${runtime}
`);
}

// Bastion's own descriptors above stdio that are not close-on-exec.
function inheritable(pid) {
  const bad = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    if (Number(fd) < 3) continue;
    try {
      const flags = parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))[1], 8);
      if (!(flags & 0o2000000)) bad.push(`${fd} -> ${readlinkSync(`/proc/${pid}/fd/${fd}`)}`);
    } catch {
      // closed meanwhile
    }
  }
  return bad;
}

// Runs `bastion serve` as UNPRIVILEGED (via setpriv) from copies it can
// read wherever the checkout lives: the binary, the hostile server, a data
// directory it owns.
function unprivilegedSetup() {
  const d = serverDir('bastion-unpriv-');
  const bin = path.join(d, 'bastion');
  copyFileSync(BIN, bin);
  const script = path.join(d, 'malicious_server.py');
  copyFileSync(MALICIOUS, script);
  const weather = path.join(d, 'weather_server.py');
  copyFileSync(WEATHER, weather);
  const data = path.join(d, 'data');
  mkdirSync(data, { mode: 0o700 });
  chownSync(data, UNPRIVILEGED, UNPRIVILEGED);
  const home = path.join(d, 'home');
  mkdirSync(home, { mode: 0o700 });
  chownSync(home, UNPRIVILEGED, UNPRIVILEGED);
  return {
    dir: d,
    script,
    weather,
    options: {
      dataDir: data,
      env: { HOME: home },
      command: ['setpriv', `--reuid=${UNPRIVILEGED}`, `--regid=${UNPRIVILEGED}`, '--clear-groups', bin],
    },
  };
}

for (const runtime of ['bwrap', 'process']) {
  test(`descriptors (${runtime}): only stdio reaches the server; the gateway's sockets stay out of reach`, async () => {
    const dir = serverDir();
    const srv = await startServe(['--config', config(dir, { runtime })]);
    const a = await connect(srv.url);
    const b = await connect(srv.url);
    try {
      const { structuredContent: { fds } } = await call(a, 'fds');
      assert.deepEqual(fds.map((f) => f.fd), [0, 1, 2], JSON.stringify(fds));
      for (const f of fds) assert.match(f.target, /^pipe:/);
      // The attack: accept on an inherited listener / read inherited client
      // connections while another session sends requests.
      const steal = call(a, 'steal_sockets', { wait: 2 });
      for (let i = 0; i < 5; i++) await stillServing(b);
      const { structuredContent: s } = await steal;
      assert.deepEqual(s.sockets, [], JSON.stringify(s));
      assert.equal(s.accepted, 0);
      // Bastion's own side: listener, connections, pipes, files, all
      // close-on-exec, so no exec path can leak them either.
      assert.deepEqual(inheritable(srv.child.pid), []);
      await stillServing(b);
    } finally {
      await a.close();
      await b.close();
      assert.equal(await srv.stop(), 0, srv.stderr);
    }
  });

  test(`privileges (${runtime}): as root the server is an unprivileged host uid with no capabilities; escapes fail`,
    { skip: !ROOT && 'needs root (the unprivileged case is below)' }, async () => {
      const dir = serverDir();
      const granted = path.join(dir, 'granted');
      mkdirSync(granted);
      writeFileSync(path.join(granted, 'ok.txt'), 'granted');
      const srv = await startServe(['--config', config(dir, { runtime, evil: `    paths: {read_only: [${granted}]}\n` })]);
      const c = await connect(srv.url);
      try {
        // Seen from the host: its own unprivileged uid and gid, not root, and
        // no capabilities.
        await call(c, 'whoami');
        const p = serverProcess(srv.child.pid);
        assert.ok(p, 'the server process is visible from the host');
        const st = status(p.pid);
        const uids = st.Uid.split(/\s+/).map(Number);
        const gids = st.Gid.split(/\s+/).map(Number);
        assert.ok(uids.every((u) => u === uids[0] && u >= 1000000000), st.Uid);
        assert.ok(gids.every((g) => g === gids[0] && g >= 1000000000), st.Gid);
        assert.equal(st.CapEff, '0000000000000000');
        assert.equal(st.CapPrm, '0000000000000000');
        assert.equal(st.Groups, '');
        assert.equal(st.NoNewPrivs, '1');
        assert.match(srv.stderr, new RegExp(`upstream evil: started pid \\d+ \\(python3\\) under ${runtime}: .*user: uid ${uids[0]}`));
        // What it tries on the host.
        const { structuredContent: e } = await call(c, 'escape', { grant: granted });
        // Without namespaces it may make a user namespace of its own, and
        // holds capabilities only there: every host action still fails.
        const allowed = runtime === 'process' ? ['unshare_user'] : [];
        for (const [k, v] of Object.entries(e.results))
          if (!allowed.includes(k)) assert.notEqual(v, 'ok', `${k} succeeded: ${JSON.stringify(e)}`);
        if (runtime === 'bwrap') {
          assert.equal(e.status.CapEff, '0000000000000000');
          assert.equal(e.status.CapBnd, '0000000000000000');
          assert.equal(e.status.Seccomp, '2');
        }
        await stillServing(c);
      } finally {
        await c.close();
        assert.equal(await srv.stop(), 0, srv.stderr);
      }
    });

  test(`secrets (${runtime}): the value is on no command line of the process tree`, async () => {
    const data = tempDir();
    const value = `sk-live-${process.pid}-9d41c7e2ab`;
    const set = spawnSync(BIN, ['secret', 'set', 'evil-key', '--data-dir', data], { input: `${value}\n`, encoding: 'utf8' });
    assert.equal(set.status, 0, set.stderr);
    const dir = serverDir();
    const srv = await startServe(['--config', config(dir, { runtime, evil: '    secrets: {API_KEY: evil-key}\n' })], { dataDir: data });
    const c = await connect(srv.url);
    try {
      // The server has it (scrubbed on the way back to us).
      assert.equal(text(await call(c, 'leak_secret', { var: 'API_KEY' })), 'my key is ***');
      const server = serverProcess(srv.child.pid);
      assert.ok(server);
      for (const p of processes()) assert.ok(!p.cmd.join(' ').includes(value), `pid ${p.pid} has it on its command line: ${p.cmd[0]}`);
      // In an environment only where the server's exec environment is: the
      // server, and for bwrap the bwrap processes that exec it.
      for (const p of [{ pid: srv.child.pid, cmd: ['bastion'] }, ...descendants(srv.child.pid)]) {
        let env;
        try {
          env = readFileSync(`/proc/${p.pid}/environ`, 'latin1');
        } catch {
          continue;
        }
        if (!env.includes(value)) continue;
        const ok = p.pid === server.pid || (runtime === 'bwrap' && path.basename(p.cmd[0] ?? '') === 'bwrap');
        assert.ok(ok, `pid ${p.pid} (${p.cmd[0]}) holds the secret in its environment`);
      }
    } finally {
      await c.close();
      assert.equal(await srv.stop(), 0, srv.stderr);
    }
  });

  test(`limits (${runtime}): a fork bomb is bounded, HOME and PATH are the server's own`, async () => {
    const dir = serverDir();
    const srv = await startServe(['--config', config(dir, { runtime })], {
      env: { HOME: '/root/host-home', PATH: `/opt/host-only/bin:${process.env.PATH}` },
    });
    const c = await connect(srv.url);
    try {
      const { structuredContent: w } = await call(c, 'whoami');
      assert.equal(w.env.PATH, FIXED_PATH);
      if (runtime === 'bwrap') assert.equal(w.env.HOME, '/tmp');
      else assert.match(w.env.HOME, /^\/tmp\/bastion-home-/);
      const { structuredContent: f } = await call(c, 'fork_bomb');
      assert.ok(f.forked < 32, `forked ${f.forked}`);
      assert.equal(f.errno, 11); // EAGAIN
      // The log says what bounded it, truthfully.
      assert.match(srv.stderr, /upstream evil: started .*(pids\.max=32 \(cgroup v[12]\)|RLIMIT_NPROC=32 in the server's own user namespace)/);
      await stillServing(c);
    } finally {
      await c.close();
      assert.equal(await srv.stop(), 0, srv.stderr);
    }
  });
}

test('cgroups: a SIGKILLed server leaves no cgroup; stale ones are removed at start', { skip: !ROOT && 'needs root' }, async () => {
  // Where this machine keeps pids cgroups (v2 unified, or v1's pids hierarchy).
  const base = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/pids';
  const dead = spawnSync('true').pid; // exited: its pid names a bastion that is gone
  const stale = path.join(base, `bastion-${dead}-stale-0`);
  const live = path.join(base, `bastion-${process.pid}-live-0`); // a running "bastion": kept
  mkdirSync(stale);
  mkdirSync(live);
  const dir = serverDir();
  const srv = await startServe(['--config', config(dir)]);
  const c = await connect(srv.url);
  try {
    assert.equal(existsSync(stale), false, `${stale} was not removed at start`);
    assert.equal(existsSync(live), true, 'a live bastion\'s cgroup was removed');
    await call(c, 'whoami');
    const p = serverProcess(srv.child.pid);
    const leaves = readFileSync(`/proc/${p.pid}/cgroup`, 'utf8').split('\n')
      .map((l) => l.split(':')[2]).filter((x) => x && x.includes('/bastion-'));
    assert.ok(leaves.length > 0, 'the server runs in a bastion cgroup');
    const dirs = [];
    for (const leaf of leaves) {
      const name = leaf.split('/').find((x) => x.startsWith('bastion-'));
      for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/pids', '/sys/fs/cgroup/memory'])
        if (existsSync(path.join(root, name))) dirs.push(path.join(root, name));
    }
    assert.ok(dirs.length > 0, JSON.stringify(leaves));
    process.kill(p.pid, 'SIGKILL');
    assert.ok(await eventually(() => dirs.every((d) => !existsSync(d)), { timeoutMs: 10000 }),
      `left behind: ${dirs.filter((d) => existsSync(d))}`);
    // It restarts on the next call, in a fresh cgroup.
    await call(c, 'whoami');
    await stillServing(c);
  } finally {
    rmdirSync(live);
    await c.close();
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('binds: a data_dir next to the server\'s package is refused, naming it; doctor says so too', async () => {
  const dir = serverDir();
  const pkg = path.join(dir, 'pkg');
  mkdirSync(pkg, { mode: 0o755 });
  const script = path.join(pkg, 'server.py');
  copyFileSync(MALICIOUS, script);
  writeFileSync(path.join(pkg, '__init__.py'), '');
  const data = path.join(pkg, 'data'); // keys, secrets, audit log
  const cfg = config(dir, { script });
  const srv = await startServe(['--config', cfg], { dataDir: data });
  const c = await connect(srv.url);
  try {
    await assert.rejects(c.callTool({ name: 'evil__whoami', arguments: {} }), (e) => {
      assert.match(e.message, /unavailable/);
      assert.ok(e.message.includes(`would expose ${data}`), e.message);
      assert.ok(e.message.includes(pkg), e.message);
      return true;
    });
    await stillServing(c);
  } finally {
    await c.close();
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
  const r = spawnSync(BIN, ['doctor', '--config', cfg, '--data-dir', data], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stdout);
  assert.ok(r.stdout.includes(`[FAIL] server evil: runtime: bwrap would refuse it: `), r.stdout);
  assert.ok(r.stdout.includes(`would expose ${data}`), r.stdout);
});

// Bastion made the grant's missing levels for the server's uid; the server
// swaps one for a link to a directory of root's. At its next start, Bastion
// (root) must make nothing through the link and hand nothing over: it used
// to mkdir and chown what the link pointed to (with a link flipping to
// /etc/shadow at the right moment, that file).
test('binds: a read_write level the server swapped for a link is not followed at its next start',
  { skip: !ROOT && 'needs root (only root hands directories to the server\'s uid)' }, async () => {
    const dir = serverDir();
    const victim = path.join(dir, 'victim');
    mkdirSync(victim, { mode: 0o755 });
    const own = path.join(dir, 'srv'); // missing: made for the server's uid
    const grant = path.join(own, 'data', 'sub');
    const cfg = config(dir, { runtime: 'process', evil: `    paths: {read_write: [${grant}]}\n` });
    const srv = await startServe(['--config', cfg]);
    const c = await connect(srv.url);
    try {
      const { structuredContent: s } = await call(c, 'swap_for_link', { path: path.join(own, 'data'), target: victim });
      assert.equal(s.result, 'ok', JSON.stringify(s));
      // A crash: the restart prepares the grant again.
      await c.callTool({ name: 'evil__exit', arguments: { code: 3 } }).catch(() => {});
      let last = '';
      const refused = await eventually(async () => {
        try {
          await c.callTool({ name: 'evil__whoami', arguments: {} });
          last = 'the server started again';
          return existsSync(path.join(victim, 'sub'));
        } catch (e) {
          last = e.message;
          return /symbolic link in a directory others can change/.test(e.message);
        }
      }, { timeoutMs: 15000, intervalMs: 250 });
      assert.ok(refused, last);
      assert.ok(!existsSync(path.join(victim, 'sub')), 'made through the link');
      assert.ok(last.includes(path.join(own, 'data')), last);
      await stillServing(c);
    } finally {
      await c.close();
      assert.equal(await srv.stop(), 0, srv.stderr);
    }
  });

test('binds: a script in a home directory is bound alone, not the home around it', async () => {
  const home = serverDir('bastion-home-');
  mkdirSync(path.join(home, '.ssh'), { mode: 0o755 });
  writeFileSync(path.join(home, '.ssh', 'id_ed25519'), 'PRIVATE KEY');
  writeFileSync(path.join(home, 'package.json'), '{}'); // a home that is also an npm prefix
  mkdirSync(path.join(home, 'tools'), { mode: 0o755 });
  writeFileSync(path.join(home, 'tools', 'notes.txt'), 'a neighbour');
  const script = path.join(home, 'tools', 'server.py');
  copyFileSync(MALICIOUS, script);
  const srv = await startServe(['--config', config(serverDir(), { script })], { env: { HOME: home } });
  const c = await connect(srv.url);
  try {
    for (const f of [path.join(home, '.ssh', 'id_ed25519'), path.join(home, 'tools', 'notes.txt'), path.join(home, 'package.json')]) {
      const r = await call(c, 'read_file', { path: f });
      assert.equal(r.isError, true, `${f}: ${text(r)}`);
      assert.match(text(r), /DENIED:FileNotFoundError/);
    }
    assert.match(text(await call(c, 'read_file', { path: script })), /^READ:/);
    await stillServing(c);
  } finally {
    await c.close();
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

for (const runtime of ['bwrap', 'process']) {
  test(`as an unprivileged user (${runtime}): same uid seen from the host, escapes fail, the fork bomb is bounded`,
    { skip: !ROOT && 'needs root to start bastion as another user' }, async () => {
      const u = unprivilegedSetup();
      const granted = path.join(u.dir, 'granted');
      mkdirSync(granted, { mode: 0o755 });
      const srv = await startServe(['--config', config(u.dir, {
        runtime, script: u.script, weather: u.weather, evil: `    paths: {read_only: [${granted}]}\n`,
      })], u.options);
      const c = await connect(srv.url);
      try {
        assert.equal(status(srv.child.pid).Uid.split(/\s+/)[0], String(UNPRIVILEGED));
        const { structuredContent: { fds } } = await call(c, 'fds');
        assert.deepEqual(fds.map((f) => f.fd), [0, 1, 2], JSON.stringify(fds));
        const p = serverProcess(srv.child.pid, 'malicious_server.py');
        assert.ok(status(p.pid).Uid.split(/\s+/).every((x) => x === String(UNPRIVILEGED)), status(p.pid).Uid);
        assert.equal(status(p.pid).CapEff, '0000000000000000');
        const { structuredContent: e } = await call(c, 'escape', { grant: granted });
        const allowed = runtime === 'process' ? ['unshare_user'] : [];
        for (const [k, v] of Object.entries(e.results))
          if (!allowed.includes(k)) assert.notEqual(v, 'ok', `${k} succeeded: ${JSON.stringify(e)}`);
        // No cgroup is writable by this user here: the bound is RLIMIT_NPROC
        // in the server's own user namespace, and the log says exactly that.
        const { structuredContent: f } = await call(c, 'fork_bomb');
        assert.ok(f.forked < 32, `forked ${f.forked}`);
        assert.equal(f.errno, 11);
        assert.match(srv.stderr, /upstream evil: started .*(RLIMIT_NPROC=32 in the server's own user namespace|pids\.max=32)/);
        assert.doesNotMatch(srv.stderr, /limits are enforced/);
        await stillServing(c);
      } finally {
        await c.close();
        assert.equal(await srv.stop(), 0, srv.stderr);
      }
    });
}
