// Newline-delimited JSON on the stdio entry points (`bastion stdio` and the
// `bastion connect` bridge): a flood without newlines is cut off at the line
// limit (16 MiB) and answered with a parse error, memory stays bounded, and
// the session goes on; CRLF and a last line without a newline still work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BIN, startServe, tempDir } from './lib/bastion.mjs';

const INIT = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
const INITIALIZED = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' });

function lineClient(args) {
  const child = spawn(BIN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let buf = '';
  let stderr = '';
  const lines = [];
  const waiters = [];
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
      while (waiters.length && lines.length) waiters.shift()(lines.shift());
    }
  });
  const next = (ms = 20000) =>
    new Promise((resolve, reject) => {
      if (lines.length) return resolve(lines.shift());
      const t = setTimeout(() => reject(new Error(`no reply within ${ms} ms:\n${stderr}`)), ms);
      waiters.push((l) => {
        clearTimeout(t);
        resolve(l);
      });
    });
  const write = (s) => new Promise((resolve) => (child.stdin.write(s) ? resolve() : child.stdin.once('drain', resolve)));
  // Peak resident memory of the process, in MiB.
  const peakMiB = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024;
  const exit = () => new Promise((res) => (child.exitCode !== null ? res(child.exitCode) : child.on('exit', res)));
  return { child, next, write, peakMiB, exit, get stderr() { return stderr; } };
}

// 100 MiB without a newline, then the end of that line and a ping.
async function flood(c) {
  const before = c.peakMiB();
  const mib = 'x'.repeat(1024 * 1024);
  for (let i = 0; i < 100; ++i) await c.write(mib);
  await c.write('\n' + JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'ping' }) + '\r\n');
  const err = await c.next(60000);
  assert.equal(err.error.code, -32700);
  assert.match(err.error.message, /exceeds the size limit/);
  assert.deepEqual(await c.next(), { jsonrpc: '2.0', id: 7, result: {} });
  // The line was dropped as it arrived, never held whole: the reader holds
  // at most the limit (16 MiB) plus one read.
  const grew = c.peakMiB() - before;
  assert.ok(grew < 40, `peak RSS grew by ${grew} MiB during a 100 MiB line`);
}

test('bastion stdio cuts off an over-long line and keeps serving', async () => {
  const c = lineClient(['stdio', '--testkit', '--data-dir', tempDir()]);
  await c.write(INIT + '\n' + INITIALIZED + '\n');
  assert.equal((await c.next()).id, 1);
  await flood(c);
  // A last line without a newline is still a message.
  await c.write(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'ping' }));
  c.child.stdin.end();
  assert.deepEqual(await c.next(), { jsonrpc: '2.0', id: 8, result: {} });
  assert.equal(await c.exit(), 0, c.stderr);
});

test('bastion connect cuts off an over-long line and keeps relaying', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const c = lineClient(['connect', '--url', srv.url]);
    // CRLF line ends; initialized only after the answer, as clients do (the
    // bridge relays each message on its own request).
    await c.write(INIT + '\r\n');
    assert.equal((await c.next()).id, 1);
    await c.write(INITIALIZED + '\r\n');
    await flood(c);
    await c.write(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'echo', arguments: { text: 'after the flood' } } }));
    c.child.stdin.end();
    const r = await c.next();
    assert.equal(r.id, 9);
    assert.equal(r.result.content[0].text, 'after the flood');
    assert.equal(await c.exit(), 0, c.stderr);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});
