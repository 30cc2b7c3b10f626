// Who may use a Legacy (2025-11-25) session, and with which scopes, against
// a real `bastion serve`:
// - two users signed in to one public client app (so one client_id): bob,
//   holding alice's Mcp-Session-Id (audit records show it to console
//   viewers), gets exactly what an unknown session id gets (404) on POST,
//   the GET stream, a Last-Event-ID replay and DELETE; alice's session
//   keeps working;
// - a SIGHUP that narrows a client's scopes narrows its open sessions at
//   once: lists, reads, prompts and subscriptions follow the token's
//   current scopes, not the ones the session was initialized with; and
//   what runs without a request (an idle session's notifications, a
//   Modern listen) follows too: a removed client's sessions close;
// - one caller opening session after session is refused at its own bound
//   (429) while other callers still get in.
// The users are played by the test-only auth.test_login (lib/signin.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { authYaml, eventually, fetchToken, initialize, newClient, post, startWithConfig } from './lib/bastion.mjs';
import { modernClient } from './lib/modern.mjs';
import { signInTokens, testLoginYaml, testUser } from './lib/signin.mjs';

const VERSION = '2025-11-25';
const REDIRECT = 'https://app.example/cb';
const alice = testUser('alice');
const bob = testUser('bob');

function sharedClientConfig() {
  return `testkit: {enabled: true}
auth:
${testLoginYaml([alice, bob])}  clients:
    - id: app
      client_name: One app, many users
      token_endpoint_auth_method: none
      redirect_uris: ['${REDIRECT}']
`;
}

const rpc = (id, method, params = {}) => ({ jsonrpc: '2.0', id, method, params });

// The event ids of an SSE body.
function eventIds(text) {
  return [...text.matchAll(/^id: ?(.+)$/gm)].map((m) => m[1].trim());
}

// A GET on /mcp: the status and, unless it is a live stream, the body.
async function getStream(url, headers) {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { ...headers, accept: 'text/event-stream' }, signal: ac.signal });
  const live = res.status === 200 && !headers['last-event-id'];
  const text = live ? '' : await res.text();
  ac.abort();
  return { status: res.status, text };
}

test('a user holding another user\'s session id of the same client gets what an unknown id gets', async () => {
  const s = await startWithConfig(sharedClientConfig());
  try {
    const ta = (await signInTokens(s.base, alice, { client_id: 'app', redirect_uri: REDIRECT })).access_token;
    const tb = (await signInTokens(s.base, bob, { client_id: 'app', redirect_uri: REDIRECT })).access_token;
    const asAlice = { authorization: `Bearer ${ta}` };
    const asBob = { authorization: `Bearer ${tb}` };
    const { sid } = await initialize(s.url, VERSION, asAlice);
    assert.ok(sid);
    const inAlice = { 'mcp-session-id': sid, 'mcp-protocol-version': VERSION };

    // Alice's session: a read, and a call answered as a resumable SSE stream.
    const read = await post(s.url, rpc(2, 'resources/read', { uri: 'test://static-text' }), { ...asAlice, ...inAlice });
    assert.equal(read.status, 200, read.text);
    assert.ok(read.json.result.contents.length > 0, read.text);
    const call = await post(s.url, rpc(3, 'tools/call', { name: 'test_tool_with_logging', arguments: {} }),
      { ...asAlice, ...inAlice });
    assert.equal(call.status, 200, call.text);
    assert.match(call.headers.get('content-type'), /text\/event-stream/);
    assert.match(call.text, /Tool execution started/);
    const firstEvent = eventIds(call.text)[0];
    assert.ok(firstEvent, call.text);

    // What an id that names no session gets: the answer bob must get too.
    const unknown = { 'mcp-session-id': 'f'.repeat(sid.length), 'mcp-protocol-version': VERSION };
    const none = await post(s.url, rpc(4, 'resources/read', { uri: 'test://static-text' }), { ...asBob, ...unknown });
    assert.equal(none.status, 404, none.text);

    const bobRead = await post(s.url, rpc(4, 'resources/read', { uri: 'test://static-text' }), { ...asBob, ...inAlice });
    assert.equal(bobRead.status, 404, `bob read through alice's session: ${bobRead.status} ${bobRead.text}`);
    assert.deepEqual(bobRead.json, none.json, 'the refusal tells bob more than an unknown id would');
    const bobPrompt = await post(s.url, rpc(5, 'prompts/get', { name: 'test_simple_prompt' }), { ...asBob, ...inAlice });
    assert.equal(bobPrompt.status, 404, `bob got a prompt in alice's session: ${bobPrompt.text}`);
    const bobCall = await post(s.url, rpc(6, 'tools/call', { name: 'echo', arguments: { text: 'x' } }), { ...asBob, ...inAlice });
    assert.equal(bobCall.status, 404, `bob called a tool in alice's session: ${bobCall.text}`);

    const bobStream = await getStream(s.url, { ...asBob, ...inAlice });
    assert.equal(bobStream.status, 404, 'bob opened alice\'s GET stream');
    const bobReplay = await getStream(s.url, { ...asBob, ...inAlice, 'last-event-id': firstEvent });
    assert.equal(bobReplay.status, 404, `bob replayed alice's stream: ${bobReplay.text}`);
    assert.doesNotMatch(bobReplay.text, /Tool execution/);

    const bobDelete = await fetch(s.url, { method: 'DELETE', headers: { ...asBob, ...inAlice } });
    assert.equal(bobDelete.status, 404, 'bob ended alice\'s session');

    // Alice's session is untouched and still hers.
    const again = await post(s.url, rpc(7, 'resources/read', { uri: 'test://static-text' }), { ...asAlice, ...inAlice });
    assert.equal(again.status, 200, again.text);
    const replay = await getStream(s.url, { ...asAlice, ...inAlice, 'last-event-id': firstEvent });
    assert.equal(replay.status, 200);
    assert.match(replay.text, /Tool execution completed/);
    const del = await fetch(s.url, { method: 'DELETE', headers: { ...asAlice, ...inAlice } });
    assert.equal(del.status, 200);
  } finally {
    assert.equal(await s.stop(), 0, s.stderr);
  }
});

test('SIGHUP narrowing a client narrows its open sessions at once: lists, reads, prompts, subscriptions', async () => {
  // Scopes the narrowing keeps part of (a token with only mcp.access would
  // stop validating altogether).
  const c = newClient('narrowed-live', ['mcp:server:testkit', 'mcp:tool:testkit/echo']);
  const s = await startWithConfig(`testkit: {enabled: true}\n${authYaml([c])}`);
  try {
    const auth = { authorization: `Bearer ${(await fetchToken(s.base, c)).access_token}` };
    const { sid } = await initialize(s.url, VERSION, auth);
    const h = { ...auth, 'mcp-session-id': sid, 'mcp-protocol-version': VERSION };
    const list = async (method, key, name) => {
      const r = await post(s.url, rpc(2, method), h);
      assert.ok(r.json?.result, `${method}: ${r.status} ${r.text}`);
      return r.json.result[key].map((x) => x[name]);
    };
    const uris = () => list('resources/list', 'resources', 'uri');
    const prompts = () => list('prompts/list', 'prompts', 'name');
    const read = () => post(s.url, rpc(4, 'resources/read', { uri: 'test://static-text' }), h);
    const subscribe = () => post(s.url, rpc(5, 'resources/subscribe', { uri: 'test://static-text' }), h);
    assert.ok((await uris()).includes('test://static-text'));
    assert.ok((await prompts()).includes('test_simple_prompt'));
    assert.ok((await read()).json.result, 'read before the reload');

    // The client keeps only the echo tool.
    writeFileSync(s.configPath, `testkit: {enabled: true}\n${authYaml([{ ...c, scopes: ['mcp:tool:testkit/echo'] }])}`);
    s.child.kill('SIGHUP');
    await eventually(() => /auth clients reloaded/.test(s.stderr));
    assert.match(s.stderr, /auth clients reloaded: added -, changed narrowed-live/);

    // The same token, the same session.
    assert.deepEqual(await uris(), [], 'the open session still lists resources its client lost');
    assert.deepEqual(await prompts(), [], 'the open session still lists prompts its client lost');
    const r = await read();
    assert.equal(r.json?.error?.code, -32002, `the open session still reads what its client lost: ${r.text}`);
    const sub = await subscribe();
    assert.ok(sub.json?.error, `the open session still subscribes to what its client lost: ${sub.text}`);
    assert.deepEqual(await list('tools/list', 'tools', 'name'), ['echo']);
    const echo = await post(s.url, rpc(7, 'tools/call', { name: 'echo', arguments: { text: 'still here' } }), h);
    assert.match(echo.text, /still here/);
  } finally {
    assert.equal(await s.stop(), 0, s.stderr);
  }
});

// A Legacy SDK client whose session hears resource updates (the SDK opens
// the GET stream after initialize).
async function watching(url, token) {
  const c = new Client({ name: 'watching', version: '1' });
  c.updates = [];
  c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { c.updates.push(n.params.uri); });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  await c.subscribeResource({ uri: 'test://watched-resource' });
  return c;
}

test('SIGHUP: an idle session or a listen of a narrowed or removed client hears nothing of what it lost', async () => {
  // watcher loses the testkit server (keeping a scope, so its token still
  // validates); gone is removed; trigger keeps everything.
  const watcher = newClient('watcher', ['mcp:server:testkit', 'mcp:server:elsewhere']);
  const gone = newClient('gone', ['mcp:server:testkit']);
  const trigger = newClient('trigger', ['mcp:server:testkit']);
  const s = await startWithConfig(`testkit: {enabled: true}\n${authYaml([watcher, gone, trigger])}`);
  const clients = [];
  const { listen } = modernClient({ client: 'sessions-test' });
  let m;
  try {
    const token = async (c) => (await fetchToken(s.base, c)).access_token;
    const w = await watching(s.url, await token(watcher));
    const g = await watching(s.url, await token(gone));
    const t = await watching(s.url, await token(trigger));
    clients.push(w, g, t);
    m = listen(s.url, { resourceSubscriptions: ['test://watched-resource'] }, { token: await token(watcher) });
    await m.until((ev) => ev.some((e) => e.method === 'notifications/subscriptions/acknowledged'));
    const heard = (ev) => ev.filter((e) => e.method === 'notifications/resources/updated').length;
    // Before: everyone hears an update.
    await eventually(async () => {
      await t.callTool({ name: 'test_trigger_resource_update', arguments: {} });
      return w.updates.length > 0 && g.updates.length > 0 && heard(m.events) > 0;
    }, { timeoutMs: 10000, intervalMs: 300 });

    writeFileSync(s.configPath, `testkit: {enabled: true}\n${authYaml([{ ...watcher, scopes: ['mcp:server:elsewhere'] }, trigger])}`);
    s.child.kill('SIGHUP');
    await eventually(() => /sessions of changed clients/.test(s.stderr));
    assert.match(s.stderr, /sessions of changed clients: 1 closed, 1 narrowed, 1 listens ended/);
    // The listen is answered (ended); the client would listen again with
    // the token it holds now.
    await Promise.race([m.done, sleep(10000).then(() => assert.fail('the listen is still open'))]);

    // No request from w or g since: another update reaches trigger only.
    const before = { w: w.updates.length, g: g.updates.length, m: heard(m.events), t: t.updates.length };
    await t.callTool({ name: 'test_trigger_resource_update', arguments: {} });
    await eventually(() => t.updates.length > before.t);
    await sleep(500);
    assert.equal(w.updates.length, before.w, 'a narrowed client\'s idle session heard a server it lost');
    assert.equal(g.updates.length, before.g, 'a removed client\'s session still hears');
    assert.equal(heard(m.events), before.m, 'a narrowed client\'s listen still hears');
  } finally {
    m?.close();
    for (const c of clients) await c.close().catch(() => {});
    assert.equal(await s.stop(), 0, s.stderr);
  }
});

test('one caller cannot take every session: 429 at mcp.max_sessions_per_caller (100), others still get in', async () => {
  const a = newClient('greedy');
  const b = newClient('bystander');
  const s = await startWithConfig(`testkit: {enabled: true}\n${authYaml([a, b])}`);
  try {
    const asA = { authorization: `Bearer ${(await fetchToken(s.base, a)).access_token}` };
    const asB = { authorization: `Bearer ${(await fetchToken(s.base, b)).access_token}` };
    const open = (h) => post(s.url, rpc(1, 'initialize',
      { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: 'flood', version: '1' } }), h);
    const mine = [];
    for (let i = 0; i < 100; i++) {
      const r = await open(asA);
      assert.equal(r.status, 200, `session ${i + 1}: ${r.text}`);
      mine.push(r.headers.get('mcp-session-id'));
    }
    const over = await open(asA);
    assert.equal(over.status, 429, `a 101st session for one caller: ${over.status} ${over.text}`);
    assert.equal(over.json.error.code, -31000);
    assert.match(over.json.error.message, /max_sessions_per_caller/);
    assert.equal(over.headers.get('mcp-session-id'), null);
    assert.equal((await open(asB)).status, 200, 'another client is locked out');
    // Ending one of its sessions frees a place.
    const del = await fetch(s.url, { method: 'DELETE',
      headers: { ...asA, 'mcp-session-id': mine[0], 'mcp-protocol-version': VERSION } });
    assert.equal(del.status, 200);
    assert.equal((await open(asA)).status, 200);
  } finally {
    assert.equal(await s.stop(), 0, s.stderr);
  }
});
