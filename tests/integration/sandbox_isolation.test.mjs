// A hostile upstream (tests/sandbox/malicious_server.py) under the default
// bubblewrap runtime cannot read files outside its grants, reach the network,
// see host processes, fork-bomb, allocate past its limit or use dangerous
// syscalls; a flood of output or a hang becomes a JSON-RPC error; and the
// gateway keeps serving another upstream throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SOURCE_DIR, serverDir, startServe, writeConfig } from './lib/bastion.mjs';

const text = (r) => r.content.map((c) => c.text).join('');

test('a malicious upstream is contained by the bwrap sandbox', async (t) => {
  const dir = serverDir();
  const granted = path.join(dir, 'granted');
  mkdirSync(granted);
  writeFileSync(path.join(granted, 'ok.txt'), 'granted content');
  writeFileSync(path.join(dir, 'host-secret.txt'), 'host secret');
  const listener = net.createServer((s) => s.end('hello')).listen(0, '127.0.0.1');
  await new Promise((r) => listener.once('listening', r));
  const port = listener.address().port;

  const cfg = writeConfig(dir, `
servers:
  evil:
    command: python3
    args: [${SOURCE_DIR}/tests/sandbox/malicious_server.py]
    runtime: bwrap
    paths: {read_only: [${granted}]}
    env: {VISIBLE: "yes"}
    limits: {memory: 128MiB, pids: 32}
    max_message: 1MiB
    timeouts: {call: 2s}
  weather:
    command: python3
    args: [${SOURCE_DIR}/examples/python/weather_server.py]
    runtime: bwrap
`);
  const srv = await startServe(['--config', cfg], { env: { HOST_ONLY_SECRET: 'do-not-leak' } });
  const client = new Client({ name: 'isolation-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(srv.url)));
  // Calls the hostile server, waiting while it restarts after a crash the
  // previous step caused (it is unavailable during its restart backoff).
  const call = async (name, args = {}) => {
    for (let i = 0; ; i++) {
      try {
        return await client.callTool({ name: `evil__${name}`, arguments: args });
      } catch (e) {
        if (!/unavailable/.test(e.message) || i >= 40) throw e;
        await new Promise((res) => setTimeout(res, 250));
      }
    }
  };
  const stillServing = async () =>
    assert.match(text(await client.callTool({ name: 'weather__list_cities', arguments: {} })), /Seoul/);

  try {
    await t.test('files: granted path readable, everything else invisible', async () => {
      assert.equal(text(await call('read_file', { path: path.join(granted, 'ok.txt') })), 'READ:granted content');
      const r = await call('read_file', { path: path.join(dir, 'host-secret.txt') });
      assert.equal(r.isError, true);
      assert.match(text(r), /DENIED:FileNotFoundError/);
      const shadow = await call('read_file', { path: '/etc/shadow' });
      assert.equal(shadow.isError, true);
    });
    await t.test('environment: only what was configured', async () => {
      const { structuredContent: w } = await call('whoami');
      assert.equal(w.env.VISIBLE, 'yes');
      assert.equal(w.env.HOST_ONLY_SECRET, undefined);
    });
    await t.test('network: no TCP connection to a host listener', async () => {
      const r = await call('connect', { host: '127.0.0.1', port });
      assert.equal(r.isError, true, text(r));
      assert.match(text(r), /DENIED/);
    });
    await t.test('processes: host processes are not visible', async () => {
      const { structuredContent } = await call('list_pids');
      assert.ok(structuredContent.pids.length < 10, `sees ${structuredContent.pids.length} pids`);
      assert.ok(!structuredContent.pids.includes(process.pid) || process.pid < 10);
    });
    await t.test('seccomp: ptrace, mount and unshare fail with EPERM', async () => {
      const { structuredContent: s } = await call('syscalls');
      assert.equal(s.ptrace, 1);
      assert.equal(s.mount, 1);
      assert.equal(s.unshare, 1);
    });
    await t.test('fork bomb: stopped by the pids limit', async () => {
      const { structuredContent: f } = await call('fork_bomb');
      assert.ok(f.forked < 32, `forked ${f.forked}`);
      assert.equal(f.errno, 11);  // EAGAIN
      await stillServing();
    });
    await t.test('memory: allocation past the limit fails or kills only the server', async () => {
      let outcome;
      try {
        outcome = text(await call('allocate', { mb: 512 }));
      } catch (e) {
        outcome = `call failed: ${e.message}`;
      }
      assert.doesNotMatch(outcome, /ALLOCATED/);
      await stillServing();
    });
    await t.test('output flood: cut off with a JSON-RPC error', async () => {
      await call('whoami');  // up again after the memory test
      await assert.rejects(
        client.callTool({ name: 'evil__flood', arguments: { bytes: 4 * 1024 * 1024 } }),
        /longer than 1048576 bytes/,
      );
      await stillServing();
    });
    await t.test('hang: the call times out with a JSON-RPC error', async () => {
      await call('whoami');  // up again after the flood
      const t0 = Date.now();
      // The gateway's own timeout code (-31001), not the -32001 of "Session not found".
      await assert.rejects(call('hang'), (e) => {
        assert.match(e.message, /did not answer tools\/call within 2000 ms/);
        assert.equal(e.code, -31001);
        return true;
      });
      assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
      await stillServing();
    });
  } finally {
    await client.close();
    listener.close();
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});
