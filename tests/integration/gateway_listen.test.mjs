// The gateway holds a subscriptions/listen (2026-07-28) open to each Modern
// upstream, with the real binary on both sides (the testkit forced to
// `era: modern`, over stdio and Streamable HTTP): a Legacy client's
// resources/subscribe is answered by Bastion and added to that listen, the
// upstream's resource updates reach only the clients that subscribed that
// URI (a Modern client through its own listen to Bastion, tagged with its own
// subscriptionId), list changes refresh the catalogue and reach only clients
// allowed to use the server. Beside it, a hostile Modern upstream
// (lib/modern_hostile_server.mjs) floods, sends updates nobody asked for
// under foreign subscription ids, never acknowledges, or closes its listen in
// a loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import {
  BIN, NODE22, SOURCE_DIR, authYaml, eventually, fetchToken, newClient, startServe, startWithConfig, tempDir,
} from './lib/bastion.mjs';
import { SUB, modernClient } from './lib/modern.mjs';

const { listen } = modernClient({ client: 'it-listen' });
const HOSTILE = path.join(SOURCE_DIR, 'tests/integration/lib/modern_hostile_server.mjs');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const text = (r) => r.content.map((c) => c.text).join('');

// A Legacy SDK client with a token, collecting the notifications it hears.
async function legacyClient(url, token) {
  const c = new Client({ name: 'legacy', version: '1' });
  c.updates = [];
  c.toolChanges = 0;
  c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { c.updates.push(n.params.uri); });
  c.setNotificationHandler(ToolListChangedNotificationSchema, () => { c.toolChanges++; });
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  await c.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return c;
}

function testkitUpstream(transport, upstream) {
  if (transport === 'http') return `    url: ${upstream.url}\n    era: modern\n`;
  const d = tempDir('bastion-up-');
  chmodSync(d, 0o777);  // the upstream runs as its own uid when Bastion is root
  return `    command: ${BIN}\n    args: [stdio, --testkit, --log-level, warn, --data-dir, ${d}]\n    runtime: process\n    era: modern\n`;
}

for (const transport of ['stdio', 'http']) {
  test(`Legacy and Modern clients -> Modern upstream over ${transport}: subscriptions through Bastion's listen, each update only to its subscribers`, async () => {
    const alice = newClient('listen-alice');
    const bob = newClient('listen-bob');
    const carol = newClient('listen-carol', ['mcp:server:elsewhere']);
    const upstream = transport === 'http' ? await startServe(['--testkit']) : null;
    const srv = await startWithConfig(`${authYaml([alice, bob, carol])}servers:\n  up:\n    prefix: ""\n${testkitUpstream(transport, upstream)}`);
    const clients = [];
    try {
      const token = async (c) => (await fetchToken(srv.base, c)).access_token;
      const [ta, tb, tc] = [await token(alice), await token(bob), await token(carol)];
      const a = await legacyClient(srv.url, ta);
      const b = await legacyClient(srv.url, tb);
      const c = await legacyClient(srv.url, tc);
      clients.push(a, b, c);

      // Answered by Bastion (2026-07-28 has no resources/subscribe): no -32601.
      assert.deepEqual(await a.subscribeResource({ uri: 'test://watched-resource' }), {});
      // A client whose scopes exclude the server cannot subscribe to its resources.
      await assert.rejects(c.subscribeResource({ uri: 'test://watched-resource' }));
      // A Modern client listens to Bastion for the same URI, under its own id.
      const m = listen(srv.url, { toolsListChanged: true, resourceSubscriptions: ['test://watched-resource'] }, { token: ta });
      await eventually(() => m.events.some((e) => e.method === 'notifications/subscriptions/acknowledged'));
      // Bastion reopens its upstream listen with the new URI: until then a trigger may go unheard.
      await eventually(async () => {
        await a.callTool({ name: 'test_trigger_resource_update', arguments: {} });
        return a.updates.length > 0 && m.events.some((e) => e.method === 'notifications/resources/updated');
      }, { timeoutMs: 15000, intervalMs: 300 });
      assert.deepEqual([...new Set(a.updates)], ['test://watched-resource']);
      const mu = m.events.find((e) => e.method === 'notifications/resources/updated');
      assert.equal(mu.params.uri, 'test://watched-resource');
      assert.equal(mu.params._meta[SUB], m.id, 'tagged with the Modern client\'s own subscriptionId');

      // A list change of the upstream refreshes the catalogue and reaches those allowed to use it.
      await a.callTool({ name: 'test_trigger_tool_change', arguments: {} });
      await eventually(() => a.toolChanges > 0 && b.toolChanges > 0 &&
        m.events.some((e) => e.method === 'notifications/tools/list_changed'), { timeoutMs: 10000 });
      const mt = m.events.find((e) => e.method === 'notifications/tools/list_changed');
      assert.equal(mt.params._meta[SUB], m.id);

      // B never subscribed, C may not use the server: neither hears A's update.
      await sleep(500);
      assert.deepEqual(b.updates, [], 'B never sees A\'s resource updates');
      assert.deepEqual(c.updates, [], 'a client whose scopes exclude the server gets no update');
      assert.equal(c.toolChanges, 0, 'nor its list changes');

      // Unsubscribed: A hears no more; the Modern listen still does.
      assert.deepEqual(await a.unsubscribeResource({ uri: 'test://watched-resource' }), {});
      const before = a.updates.length;
      const heard = m.events.length;
      await eventually(async () => {
        await b.callTool({ name: 'test_trigger_resource_update', arguments: {} });
        return m.events.length > heard;
      }, { timeoutMs: 10000, intervalMs: 300 });
      await sleep(300);
      assert.equal(a.updates.length, before, 'no update after resources/unsubscribe');
      m.close();
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      assert.equal(await srv.stop(), 0, srv.stderr);
      if (upstream) await upstream.stop();
    }
  });
}

// The gateway with the hostile server; `timeouts` for the listen's acknowledgment.
async function hostile(mode, extra = '') {
  const yaml = `servers:\n  evil:\n    prefix: ""\n    command: ${NODE22}\n    args: [${HOSTILE}]\n    env: {MODE: ${mode}}\n    runtime: process\n    era: modern\n    pinning: off\n${extra}`;
  const srv = await startWithConfig(yaml);
  const c = await legacyClient(srv.url);
  const stats = async () => JSON.parse(text(await c.callTool({ name: 'stats', arguments: {} })));
  await stats();  // started (lazily) now: its listen opens
  return { srv, c, stats };
}

test('attack: a Modern upstream floods list changes and updates, for URIs nobody subscribed and under ids Bastion never opened', async () => {
  const { srv, c: a, stats } = await hostile('flood');
  let b;
  try {
    b = await legacyClient(srv.url);
    assert.deepEqual(await a.subscribeResource({ uri: 'evil://watched' }), {});
    await eventually(async () => (await stats()).lastFilter?.resourceSubscriptions?.includes('evil://watched'));
    const listsBefore = (await stats()).toolsLists;
    const t0 = Date.now();
    await a.callTool({ name: 'flood', arguments: { n: 4000 } });  // 20,000 notifications
    await sleep(1500);
    const seconds = (Date.now() - t0) / 1000;
    // Still serving, promptly.
    const s = await stats();
    // 4,000 list changes cost a handful of listings, not 4,000.
    assert.ok(s.toolsLists - listsBefore <= 10, `tools/list ran ${s.toolsLists - listsBefore} times`);
    // Only the watched URI, only to its subscriber, and rate-bounded.
    assert.ok(a.updates.length >= 1, 'the subscriber hears its URI');
    assert.deepEqual([...new Set(a.updates)], ['evil://watched'], 'never a URI nobody subscribed');
    assert.ok(a.updates.length <= 100 * Math.ceil(seconds + 1), `${a.updates.length} updates relayed in ${seconds} s`);
    assert.deepEqual(b.updates, [], 'the other client hears none');
    assert.match(srv.stderr, /not relayed/);
  } finally {
    await b?.close().catch(() => {});
    await a.close().catch(() => {});
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('attack: a Modern upstream that never acknowledges the listen: cancelled and retried with backoff', async () => {
  const { srv, c, stats } = await hostile('silent', '    timeouts: {init: 1s}\n');
  try {
    await sleep(5000);
    const s = await stats();
    assert.ok(s.cancels >= 1, `the unacknowledged listen is cancelled: ${JSON.stringify(s)}`);
    assert.ok(s.listens >= 2 && s.listens <= 5, `reopened with backoff: ${JSON.stringify(s)}`);
    assert.match(srv.stderr, /not acknowledged/);
  } finally {
    await c.close().catch(() => {});
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('attack: a Modern upstream that closes every listen at once: reopened with a doubling backoff, not in a loop', async () => {
  const { srv, c, stats } = await hostile('closer');
  try {
    await sleep(5000);
    const s = await stats();
    // 500 ms, 1 s, 2 s, ...: about 4 in 5 s (a loop would be thousands).
    assert.ok(s.listens >= 2 && s.listens <= 6, `listens opened in 5 s: ${JSON.stringify(s)}\n${srv.stderr}`);
  } finally {
    await c.close().catch(() => {});
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});
