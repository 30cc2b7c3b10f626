// An upstream floods log notifications (tests/integration/lib/flood_server.mjs)
// at sessions that have no stream open to receive them: each holds at most
// its bound (EngineOptions::standalone_backlog: 256 messages, 256 KiB), the
// rest is dropped oldest first and counted, Bastion's memory stays bounded
// however many sessions there are, the newest reach a stream opened later,
// and nothing is held once the sessions end. A flood during a call never
// costs the call its response.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  MCP_HEADERS, NODE22, SOURCE_DIR, eventually, initialize, post, startWithConfig,
} from './lib/bastion.mjs';

const FLOOD = path.join(SOURCE_DIR, 'tests/integration/lib/flood_server.mjs');
const SESSIONS = 40;
const LINES = 10000;
const SIZE = 2000; // bytes of data per line: 40 sessions x 1000 held would be ~90 MB
const BOUND_BYTES = 256 * 1024;
const BOUND_MESSAGES = 256;

const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
async function metric(base, name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}
const headers = (sid) => ({ 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' });
const call = (url, sid, id, name, args) =>
  post(url, { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }, headers(sid));

// The standalone stream of `sid`: messages until `done(messages)` or the time is up.
async function readStream(url, sid, done, timeoutMs = 20000) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const messages = [];
  try {
    const res = await fetch(url, { headers: { ...headers(sid), accept: 'text/event-stream' }, signal: ac.signal });
    assert.equal(res.status, 200);
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk, { stream: true });
      let at;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const event = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('');
        if (data) messages.push(JSON.parse(data));
      }
      if (done(messages)) break;
    }
  } catch (e) {
    if (e.name !== 'AbortError') throw e;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return messages;
}
const floodIndex = (m) => Number(/^flood (\d+) /.exec(m.params?.data ?? '')?.[1]);

test('a flood at sessions without a stream stays bounded per session and in memory', async () => {
  const srv = await startWithConfig(`
servers:
  flood:
    command: ${NODE22}
    args: [${FLOOD}]
`);
  try {
    const url = srv.url;
    const sids = [];
    for (let i = 0; i < SESSIONS; i++) sids.push((await initialize(url)).sid);
    assert.ok(sids.every(Boolean));
    // Warm: a flood that fits every bound, so the baseline includes the
    // allocator's working set for relaying one.
    let r = await call(url, sids[0], 1, 'flood__flood_later', { n: 100, size: SIZE });
    assert.ok(r.json, r.text.slice(0, 2000));
    assert.match(r.json.result.content[0].text, /flooding 100/);
    await eventually(async () => (await metric(srv.base, 'bastion_session_backlog_bytes')) > 0);
    const baseline = rssKiB(srv.child.pid);
    const droppedBefore = await metric(srv.base, 'bastion_notifications_dropped_total{reason="no_stream"}');

    // One more session listens on its stream: when the last line reaches it,
    // the flood has been handed to every session.
    const listener = (await initialize(url)).sid;
    const heard = readStream(url, listener, (ms) => ms.some((m) => floodIndex(m) === LINES - 1), 120000);
    await eventually(async () => (await fetch(`${srv.base}/metrics`)).ok);
    r = await call(url, sids[0], 2, 'flood__flood_later', { n: LINES, size: SIZE });
    assert.match(r.json.result.content[0].text, new RegExp(`flooding ${LINES}`));
    const live = await heard;
    assert.equal(live.map(floodIndex).filter((i) => !Number.isNaN(i)).at(-1), LINES - 1, 'the listening session got the whole flood');
    // Every session got every line, and dropped all but what its bound holds.
    const floor = droppedBefore + SESSIONS * (LINES - BOUND_MESSAGES);
    const dropped = await eventually(async () => {
      const d = await metric(srv.base, 'bastion_notifications_dropped_total{reason="no_stream"}');
      return d >= floor ? d : false;
    }, { timeoutMs: 60000 });
    assert.ok(dropped >= floor, `dropped ${dropped}, expected at least ${floor}`);
    const held = await metric(srv.base, 'bastion_session_backlog_bytes');
    assert.ok(held > 0 && held <= SESSIONS * BOUND_BYTES, `held ${held} bytes`);
    // Unbounded, 40 sessions would pin ~90 MB here.
    const grown = rssKiB(srv.child.pid) - baseline;
    assert.ok(grown < 48 * 1024, `RSS grew by ${grown} KiB (baseline ${baseline} KiB)`);

    // A stream opened now gets the newest lines, in order, within the bound.
    const got = await readStream(url, sids[1], (ms) => ms.some((m) => floodIndex(m) === LINES - 1));
    const idx = got.map(floodIndex).filter((i) => !Number.isNaN(i));
    assert.equal(idx.at(-1), LINES - 1);
    assert.ok(idx.length <= BOUND_MESSAGES, `${idx.length} lines delivered`);
    for (let i = 1; i < idx.length; i++) assert.equal(idx[i], idx[i - 1] + 1);

    // Sessions that end let go of what they held.
    for (const sid of sids) {
      const res = await fetch(url, { method: 'DELETE', headers: headers(sid) });
      assert.equal(res.status, 200);
    }
    assert.equal(await eventually(async () => (await metric(srv.base, 'bastion_session_backlog_bytes')) === 0), true);
  } finally {
    await srv.stop();
  }
});

test('a flood during a call never costs the call its response', async () => {
  const srv = await startWithConfig(`
servers:
  flood:
    command: ${NODE22}
    args: [${FLOOD}]
`);
  try {
    const { sid } = await initialize(srv.url);
    // 50,000 lines toward one POST: more than its queue holds if the client
    // is slower than the upstream; notifications may be dropped, the
    // response may not.
    const res = await fetch(srv.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, ...headers(sid) },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'flood__flood', arguments: { n: 50000, size: 100 } } }),
    });
    assert.equal(res.status, 200);
    let text;
    try { text = await res.text(); } catch (e) { throw new Error(`${e.message}; bastion exit ${srv.child.exitCode} ${srv.child.signalCode}; ${srv.stderr.slice(-3000)}`); }
    const messages = text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).filter(Boolean).map((d) => JSON.parse(d));
    const response = messages.find((m) => m.id === 7);
    assert.ok(response, `no response among ${messages.length} messages`);
    assert.equal(response.result.content[0].text, 'flooded 50000');
    // The session still works.
    const r = await call(srv.url, sid, 8, 'flood__flood', { n: 1, size: 1 });
    assert.ok(r.text.includes('flooded 1'));
  } finally {
    await srv.stop();
  }
});
