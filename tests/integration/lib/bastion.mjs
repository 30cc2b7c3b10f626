// Helpers shared by the integration tests: start the real bastion binary,
// find its port, stop it and check it exited cleanly.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const BIN = process.env.BASTION_BIN ?? path.resolve('../../build/src/cli/bastion');
export const NODE22 = process.env.BASTION_NODE22 ?? process.execPath;
export const SOURCE_DIR = process.env.BASTION_SOURCE_DIR ?? path.resolve('../..');
export const NODE_MODULES = path.join(SOURCE_DIR, 'tests/node_modules');

// What AddressSanitizer, LeakSanitizer and UBSan print when they find something.
export const SANITIZER_REPORT = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |SUMMARY: UndefinedBehaviorSanitizer/;

export function tempDir(prefix = 'bastion-test-') {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

// A temp directory for files an upstream server must read (scripts, granted
// paths): searchable by others, because as root Bastion runs each server as
// an unprivileged uid of its own, which must reach them.
export function serverDir(prefix = 'bastion-srv-') {
  const d = tempDir(prefix);
  chmodSync(d, 0o755);
  return d;
}

export function writeConfig(dir, yamlText, name = 'bastion.yaml') {
  const p = path.join(dir, name);
  writeFileSync(p, yamlText);
  return p;
}

// Starts `bastion serve` on an ephemeral port. Resolves once it listens.
// `command` replaces the binary, e.g. [setpriv, ..., copy of bastion] to run
// it as another user.
export async function startServe(args = [], { env = {}, timeoutMs = 20000, dataDir = tempDir(), command = [BIN] } = {}) {
  const listen = args.includes('--listen') ? [] : ['--listen', '127.0.0.1:0'];
  const [program, ...prefix] = command;
  const child = spawn(program, [...prefix, 'serve', ...listen, '--data-dir', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bastion did not start:\n${stderr}`)), timeoutMs);
    child.stderr.on('data', (d) => {
      stderr += d;
      const m = /serving MCP on (http:\/\/[^\s"]+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bastion exited with ${code} before listening:\n${stderr}`));
    });
  });
  const base = url.replace(/\/mcp$/, '');
  return {
    child,
    url,
    base,
    dataDir,
    get stderr() {
      return stderr;
    },
    get stdout() {
      return stdout;
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exitWithin(child, STOP_MS, signal);
      }
      // Under the sanitizer build any report fails the test that caused it.
      const report = SANITIZER_REPORT.exec(stderr);
      if (report) throw new Error(`sanitizer report from bastion:\n${stderr.slice(report.index)}`);
      return child.exitCode;
    },
  };
}

// How long bastion may take to exit after SIGTERM: http.shutdown_grace
// (5 s by default), 2 s for its upstreams, and slack for a sanitizer build.
export const STOP_MS = 60000;

// Waits for `child` to exit. One that is still running after `ms` is a hang
// at shutdown: its threads' stacks (gdb, where installed) go into the error,
// so a test run shows where it stuck instead of timing out as a whole, and
// the process is killed.
export async function exitWithin(child, ms, signal = 'SIGTERM') {
  let timer;
  const exited = once(child, 'exit').then(() => true);
  const late = new Promise((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  const inTime = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (inTime) return;
  let stacks;
  try {
    stacks = execFileSync('gdb', ['-p', String(child.pid), '-batch', '-nx', '-ex', 'thread apply all bt'],
      { timeout: 60000, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch (e) {
    stacks = `(no stacks: ${e.message})`;
  }
  child.kill('SIGKILL');
  await exited;
  throw new Error(`pid ${child.pid} did not exit within ${ms} ms of ${signal}; its threads:\n${stacks}`);
}

// Raw JSON-RPC over HTTP for protocol-level tests.
export const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

export async function post(url, body, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export async function initialize(url, version = '2025-11-25', headers = {}) {
  const r = await post(url, {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'it', version: '1' } },
  }, headers);
  const sid = r.headers.get('mcp-session-id');
  await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, {
    ...headers,
    'mcp-session-id': sid,
    'mcp-protocol-version': version,
  });
  return { sid, result: r.json?.result, version };
}

// Direct children of a process (for "nothing left behind" checks).
// Polls `check` (sync or async) until it returns a truthy value or the time is
// up; returns the last value, so the caller's assertion still fails when the
// state never arrives.
export async function eventually(check, { timeoutMs = 10000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v || Date.now() >= deadline) return v;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function childrenOf(pid) {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)]).toString().trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

export function processAlive(pid) {
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch {
    return false;
  }
}

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// A port chosen before anything listens on it (a cluster's ring, an issuer
// URL in a configuration) can be taken in between: the kernel hands a closed
// port out again, to another test's server or an outgoing connection. Runs
// start(ports) with `n` distinct fresh ports, and again with new ones when
// it failed because one was taken, after stopping what it had added to
// `group` (a started()) in that attempt.
export async function onFreePorts(n, group, start, tries = 5) {
  for (let attempt = 1; ; attempt++) {
    const ports = [];
    while (ports.length < n) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    const mark = group.mark();
    try {
      return await start(ports);
    } catch (e) {
      await group.stopSince(mark).catch(() => {});
      if (attempt >= tries || !/Address already in use|EADDRINUSE/.test(String(e?.message))) throw e;
    }
  }
}

// What a test starts (anything with stop(), e.g. startServe's result), in
// order. stop() stops all of it in reverse order whatever failed, and only
// then throws if one of them failed to stop or exited with other than 0: a
// failure in the test never leaves a process behind (which would keep the
// test's process alive until its timeout).
export function started() {
  const all = [];
  async function stopSince(mark) {
    const errors = [];
    for (const x of all.splice(mark).reverse()) {
      try {
        const code = await x.stop();
        if (typeof code === 'number' && code !== 0) errors.push(`exited with ${code}:\n${x.stderr ?? ''}`);
        else if (x.child?.signalCode) errors.push(`killed by ${x.child.signalCode}:\n${x.stderr ?? ''}`);
      } catch (e) {
        errors.push(String(e?.message ?? e));
      }
    }
    if (errors.length) throw new Error(errors.join('\n'));
  }
  return {
    add(x) {
      all.push(x);
      return x;
    },
    mark: () => all.length,
    stopSince,
    stop: () => stopSince(0),
    // For a test's catch: stops everything now and returns `e` (what the
    // test threw), with what went wrong stopping added to its message, so
    // a failure to stop never replaces the test's own failure:
    //   try { ... } catch (e) { throw await group.failed(e); } finally { await group.stop(); }
    async failed(e) {
      try {
        await stopSince(0);
      } catch (s) {
        if (e instanceof Error) e.message += `\n(and stopping what the test started: ${s.message})`;
      }
      return e;
    },
  };
}

// Resolves once something accepts TCP connections on 127.0.0.1:port.
export async function waitForPort(port, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on port ${port}`);
}

// A fresh OAuth2 client from `bastion client add --json`: {id, secret, secret_hash, scopes}.
export function newClient(name, scopes = ['mcp.access']) {
  return JSON.parse(execFileSync(BIN, ['client', 'add', name, '--scopes', scopes.join(','), '--json']).toString());
}

// The YAML `auth:` block for `clients` (from newClient), algorithm and extras.
export function authYaml(clients, { algorithm = 'ES256', extra = '' } = {}) {
  const entries = clients.map((c) =>
    `    - id: ${c.id}\n      secret_hash: '${c.secret_hash}'\n      scopes: [${c.scopes.join(', ')}]\n`).join('');
  return `auth:\n  algorithm: ${algorithm}\n${extra}  clients:\n${entries}`;
}

// Starts `bastion serve` with the YAML text as its configuration.
export async function startWithConfig(yamlText, args = [], opts = {}) {
  const dir = tempDir('bastion-cfg-');
  const cfg = writeConfig(dir, yamlText);
  const s = await startServe(['--config', cfg, ...args], opts);
  s.configPath = cfg;
  return s;
}

// Client-credentials token from a running bastion.
export async function fetchToken(base, client, scope) {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (scope) body.set('scope', scope);
  const res = await fetch(`${base}/oauth2/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`,
    },
    body,
  });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`token: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
