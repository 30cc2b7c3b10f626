// The tasks extension (io.modelcontextprotocol/tasks, SEP-2663) across the
// gateway, with the real binary: an upstream's tasks relayed under sealed ids
// bound to their caller, and tasks of Bastion's own around a Legacy server's
// call (`tasks:`); Bastion's server core is in tasks.test.mjs. The abuse sits
// beside each feature: another caller's task id, an upstream that lies about
// its task ids, a flood, a server that never answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  BIN, authYaml, eventually, fetchToken, initialize, newClient, post, startWithConfig, tempDir,
} from './lib/bastion.mjs';
import { call, cancel, created, get, until, update } from './lib/tasks.mjs';

function testkitUpstream() {
  const d = tempDir('bastion-up-');
  chmodSync(d, 0o777);
  return `servers:\n  up:\n    prefix: ""\n    command: ${BIN}\n    args: [stdio, --testkit, --log-level, warn, --data-dir, ${d}]\n    runtime: process\n    era: modern\n`;
}

test('gateway: an upstream\'s task is relayed under a sealed id bound to its caller', async () => {
  const alice = newClient('gw-tasks-alice');
  const mallory = newClient('gw-tasks-mallory');
  const srv = await startWithConfig(`${authYaml([alice, mallory])}${testkitUpstream()}`);
  try {
    const a = (await fetchToken(srv.base, alice)).access_token;
    const m = (await fetchToken(srv.base, mallory)).access_token;
    const t = await created(srv.url, 'slow_compute', { seconds: 1, label: 'gw' }, { token: a });
    assert.match(t.taskId, /^bs1\./, 'the gateway\'s own id');
    assert.doesNotMatch(t.taskId, /^[0-9a-f]{32}$/);
    assert.ok(Number.isInteger(t.ttlMs) && t.ttlMs > 0, 'the task\'s ttlMs survives the relay');
    const done = await until(srv.url, t.taskId, ['completed'], { token: a });
    assert.equal(done.taskId, t.taskId, 'the client sees its own id back');
    assert.match(done.result.content[0].text, /slow_compute gw done/);

    // Another caller, an altered id: not found, and the task is untouched.
    const long = await created(srv.url, 'confirm_delete', { filename: 'g' }, { token: a });
    await until(srv.url, long.taskId, ['input_required'], { token: a });
    assert.equal((await get(srv.url, long.taskId, { token: m })).json.error?.code, -32602);
    assert.equal((await cancel(srv.url, long.taskId, { token: m })).json.error?.code, -32602);
    const altered = long.taskId.slice(0, 10) + (long.taskId[10] === 'A' ? 'B' : 'A') + long.taskId.slice(11);
    assert.equal((await get(srv.url, altered, { token: a })).json.error?.code, -32602);
    // The upstream's own id means nothing to the gateway.
    assert.equal((await get(srv.url, '0123456789abcdef0123456789abcdef', { token: a })).json.error?.code, -32602);
    await update(srv.url, long.taskId, { confirm_delete: { action: 'accept', content: { confirm: true } } }, { token: a });
    assert.equal((await until(srv.url, long.taskId, ['completed'], { token: a })).result.content[0].text, 'Deleted g');
    // Cancel after completion: acknowledged, still completed.
    assert.equal((await cancel(srv.url, long.taskId, { token: a })).json.result?.resultType, 'complete');
    assert.equal((await get(srv.url, long.taskId, { token: a })).json.result.status, 'completed');

    // Cancel through the gateway reaches the upstream.
    const c = await created(srv.url, 'slow_compute', { seconds: 60 }, { token: a });
    await cancel(srv.url, c.taskId, { token: a });
    assert.equal((await until(srv.url, c.taskId, ['cancelled', 'completed'], { token: a })).status, 'cancelled');

    // A client without the extension: the upstream is not offered tasks.
    const sync = await call(srv.url, 'slow_compute', { seconds: 0 }, { token: a, caps: {} });
    assert.equal(sync.json.result?.resultType, 'complete', sync.text);
    assert.equal((await call(srv.url, 'failing_job', {}, { token: a, caps: {} })).json.error?.code, -32021);
  } finally {
    if (await srv.stop() !== 0) console.error(srv.stderr);
  }
});

// A Modern stdio upstream that lies: it answers every tools/call with a task
// (also to clients that did not ask), and tasks/get about another task.
const LIAR = `
const rl = require('readline').createInterface({ input: process.stdin });
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
rl.on('line', (l) => {
  const m = JSON.parse(l);
  if (m.id === undefined) return;
  const r = (result) => send({ jsonrpc: '2.0', id: m.id, result: { resultType: 'complete', ...result } });
  const p = m.params ?? {};
  if (m.method === 'server/discover')
    return r({ supportedVersions: ['2026-07-28'], capabilities: { tools: {} }, serverInfo: { name: 'liar', version: '1' } });
  if (m.method === 'tools/list')
    return r({ tools: ['other', 'noid', 'honest'].map((name) => ({ name, inputSchema: { type: 'object' } })) });
  const task = (taskId, extra = {}) => ({ resultType: 'task', taskId, status: 'working',
    createdAt: '2026-01-01T00:00:00Z', lastUpdatedAt: '2026-01-01T00:00:00Z', ttlMs: 60000, ...extra });
  if (m.method === 'tools/call') {
    if (p.name === 'noid') return send({ jsonrpc: '2.0', id: m.id, result: task(undefined) });
    return send({ jsonrpc: '2.0', id: m.id, result: task(p.name === 'other' ? 'lie-1' : 'ok-1',
      { result: { content: [] }, requestState: 'leak' }) });
  }
  if (m.method === 'tasks/get') {
    const id = p.taskId === 'lie-1' ? 'someone-elses-task' : p.taskId;
    return r({ ...task(id, { status: 'completed', result: { content: [{ type: 'text', text: 'secret of ' + id }] } }), resultType: 'complete' });
  }
  send({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'no' } });
});
`;

test('attack: an upstream that lies about task ids', async () => {
  const dir = tempDir('bastion-liar-');
  chmodSync(dir, 0o755);
  const script = path.join(dir, 'liar.cjs');
  writeFileSync(script, LIAR);
  chmodSync(script, 0o644);
  const srv = await startWithConfig(
    `servers:\n  liar:\n    prefix: ""\n    command: ${process.execPath}\n    args: [${script}]\n    runtime: process\n    era: modern\n`);
  try {
    // It answers tools/get about another task: refused, nothing of it relayed.
    const t = await created(srv.url, 'other');
    assert.match(t.taskId, /^bs1\./);
    assert.ok(!('result' in t) && !('requestState' in t), 'what a CreateTaskResult must not carry is dropped');
    const g = await get(srv.url, t.taskId);
    assert.equal(g.json.error?.code, -32603, g.text);
    assert.doesNotMatch(g.text, /secret of/);
    // An honest answer goes through, under the client's id.
    const h = await created(srv.url, 'honest');
    const hg = await get(srv.url, h.taskId);
    assert.equal(hg.json.result.taskId, h.taskId);
    assert.equal(hg.json.result.result.content[0].text, 'secret of ok-1');
    // A task without id is refused.
    assert.equal((await call(srv.url, 'noid')).json.error?.code, -32603);
    // A task for a client that did not ask for one never reaches it.
    const unasked = await call(srv.url, 'honest', {}, { caps: {} });
    assert.equal(unasked.json.error?.code, -32603, unasked.text);
    assert.doesNotMatch(unasked.text, /"taskId"/);
    // A Legacy client neither.
    const { sid } = await initialize(srv.url);
    const legacy = await post(srv.url, { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'honest', arguments: {} } },
      { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' });
    assert.doesNotMatch(legacy.text, /"taskId"/);
    assert.match(legacy.text, /-32603/);
  } finally {
    if (await srv.stop() !== 0) console.error(srv.stderr);
  }
});

// The testkit as a Legacy (2025-11-25) upstream over stdio: no tasks on its
// wire, so the gateway offers the tools named in `tasks:` to Modern clients
// as tasks of its own (gateway/legacy_tasks.hpp).
function legacyTasksUpstream() {
  const d = tempDir('bastion-up-');
  chmodSync(d, 0o777);
  return `servers:\n  up:\n    prefix: ""\n    command: ${BIN}\n    args: [stdio, --testkit, --log-level, warn, --data-dir, ${d}]\n    runtime: process\n    era: legacy\n` +
    '    tasks: {slow_compute: optional, failing_job: required, protocol_error_job: required, confirm_delete: required, multi_input: required}\n';
}

// A Modern request is a session of its own: with `instances: per_session`
// the task's instance stays while its call runs, then stops.
test('gateway: Bastion\'s task on a per_session Legacy server runs to its end; another caller reaches nothing', async () => {
  const alice = newClient('gw-ps-tasks-alice');
  const mallory = newClient('gw-ps-tasks-mallory');
  const srv = await startWithConfig(`${authYaml([alice, mallory])}${legacyTasksUpstream()}    instances: per_session\n    max_instances: 2\n`);
  try {
    const a = (await fetchToken(srv.base, alice)).access_token;
    const m = (await fetchToken(srv.base, mallory)).access_token;
    const t = await created(srv.url, 'slow_compute', { seconds: 0.5, label: 'ps' }, { token: a });
    const done = await until(srv.url, t.taskId, ['completed', 'failed', 'cancelled'], { token: a });
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.match(done.result.content[0].text, /slow_compute ps done/);

    // Its elicitation waits for tasks/update in later requests.
    const cd = await created(srv.url, 'confirm_delete', { filename: 'p' }, { token: a });
    const asking = await until(srv.url, cd.taskId, ['input_required', 'failed', 'completed', 'cancelled'], { token: a });
    assert.equal(asking.status, 'input_required', JSON.stringify(asking));
    const [key] = Object.keys(asking.inputRequests);
    const yes = { [key]: { action: 'accept', content: { confirm: true } } };
    // Attack: another caller's tasks/get, tasks/update, tasks/cancel find nothing.
    assert.equal((await get(srv.url, cd.taskId, { token: m })).json.error?.code, -32602);
    assert.equal((await update(srv.url, cd.taskId, yes, { token: m })).json.error?.code, -32602);
    assert.equal((await cancel(srv.url, cd.taskId, { token: m })).json.error?.code, -32602);
    assert.equal((await get(srv.url, cd.taskId, { token: a })).json.result?.status, 'input_required');
    await update(srv.url, cd.taskId, yes, { token: a });
    const deleted = await until(srv.url, cd.taskId, ['completed', 'failed', 'cancelled'], { token: a });
    assert.equal(deleted.result?.content[0].text, 'Deleted p', JSON.stringify(deleted));
    // Both calls ended: no instance is left.
    assert.ok(await eventually(async () => /^bastion_upstream_instances 0$/m.test(await (await fetch(`${srv.base}/metrics`)).text()),
      { timeoutMs: 10000, intervalMs: 100 }), 'an instance outlived its task');
  } finally {
    if (await srv.stop() !== 0) console.error(srv.stderr);
  }
});

test('gateway: a Legacy server\'s call as a task of Bastion\'s, its input requests, bound to its caller', async () => {
  const alice = newClient('gw-legacy-tasks-alice');
  const mallory = newClient('gw-legacy-tasks-mallory');
  const srv = await startWithConfig(`${authYaml([alice, mallory])}${legacyTasksUpstream()}`);
  try {
    const a = (await fetchToken(srv.base, alice)).access_token;
    const m = (await fetchToken(srv.base, mallory)).access_token;
    // A tool not named in `tasks:` is a plain call.
    const greet = await call(srv.url, 'greet', { name: 'W' }, { token: a });
    assert.equal(greet.json.result?.resultType, 'complete', greet.text);
    assert.equal(greet.json.result.content[0].text, 'Hello, W!');

    const t = await created(srv.url, 'slow_compute', { seconds: 0.3, label: 'legacy' }, { token: a });
    assert.match(t.taskId, /^bs1\./, 'sealed by the gateway');
    assert.equal(t.status, 'working');
    for (const k of ['result', 'error', 'inputRequests', 'requestState'])
      assert.ok(!(k in t), `CreateTaskResult carries no ${k}`);
    const done = await until(srv.url, t.taskId, ['completed', 'failed', 'cancelled'], { token: a });
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.taskId, t.taskId);
    assert.match(done.result.content[0].text, /slow_compute legacy done/);

    // A tool error completes the task with isError; a JSON-RPC error fails it.
    const fj = await created(srv.url, 'failing_job', {}, { token: a });
    const fjDone = await until(srv.url, fj.taskId, ['completed', 'failed'], { token: a });
    assert.equal(fjDone.status, 'completed');
    assert.equal(fjDone.result.isError, true);
    const pe = await created(srv.url, 'protocol_error_job', {}, { token: a });
    const peDone = await until(srv.url, pe.taskId, ['completed', 'failed'], { token: a });
    assert.equal(peDone.status, 'failed');
    assert.equal(typeof peDone.error.code, 'number');
    assert.ok(!('result' in peDone));

    // The server's elicitation/create becomes the task's input request.
    const cd = await created(srv.url, 'confirm_delete', { filename: 'g' }, { token: a });
    const asking = await until(srv.url, cd.taskId, ['input_required'], { token: a });
    const keys = Object.keys(asking.inputRequests);
    assert.equal(keys.length, 1);
    assert.equal(asking.inputRequests[keys[0]].method, 'elicitation/create');
    assert.match(asking.inputRequests[keys[0]].params.message, /Delete g\?/);
    // Another caller, an altered id, the table's own id: not found, and the
    // task is untouched; a key never issued is ignored.
    const yes = { action: 'accept', content: { confirm: true } };
    assert.equal((await get(srv.url, cd.taskId, { token: m })).json.error?.code, -32602);
    assert.equal((await update(srv.url, cd.taskId, { [keys[0]]: yes }, { token: m })).json.error?.code, -32602);
    assert.equal((await cancel(srv.url, cd.taskId, { token: m })).json.error?.code, -32602);
    const altered = cd.taskId.slice(0, 10) + (cd.taskId[10] === 'A' ? 'B' : 'A') + cd.taskId.slice(11);
    assert.equal((await get(srv.url, altered, { token: a })).json.error?.code, -32602);
    assert.equal((await update(srv.url, cd.taskId, { 'bastion-999': yes }, { token: a })).json.result?.resultType, 'complete');
    assert.equal((await get(srv.url, cd.taskId, { token: a })).json.result.status, 'input_required');
    await update(srv.url, cd.taskId, { [keys[0]]: yes }, { token: a });
    const deleted = await until(srv.url, cd.taskId, ['completed', 'failed', 'cancelled'], { token: a });
    assert.equal(deleted.result?.content[0].text, 'Deleted g', JSON.stringify(deleted));

    // Two questions at once: answering one leaves the other outstanding.
    const mi = await created(srv.url, 'multi_input', {}, { token: a });
    let two;
    await eventually(async () => {
      two = (await get(srv.url, mi.taskId, { token: a })).json.result;
      return two.status === 'input_required' && Object.keys(two.inputRequests).length === 2;
    }, { timeoutMs: 10000, intervalMs: 100 });
    const [k1, k2] = Object.keys(two.inputRequests);
    const answerOf = (k) => (two.inputRequests[k].params.message.includes('name')
      ? { action: 'accept', content: { name: 'Ann' } } : yes);
    await update(srv.url, mi.taskId, { [k1]: answerOf(k1) }, { token: a });
    const half = (await get(srv.url, mi.taskId, { token: a })).json.result;
    assert.equal(half.status, 'input_required');
    assert.deepEqual(Object.keys(half.inputRequests), [k2]);
    await update(srv.url, mi.taskId, { [k2]: answerOf(k2) }, { token: a });
    const miDone = await until(srv.url, mi.taskId, ['completed', 'failed', 'cancelled'], { token: a });
    assert.equal(miDone.result?.content[0].text, 'multi_input done: name=Ann, confirm=true', JSON.stringify(miDone));

    // Cancel while it runs, cancel again, update after it: acknowledged, and
    // it stays cancelled; cancel after completion leaves it completed.
    const c = await created(srv.url, 'slow_compute', { seconds: 60 }, { token: a });
    assert.equal((await cancel(srv.url, c.taskId, { token: a })).json.result?.resultType, 'complete');
    assert.equal((await cancel(srv.url, c.taskId, { token: a })).json.result?.resultType, 'complete');
    assert.equal((await until(srv.url, c.taskId, ['cancelled', 'completed', 'failed'], { token: a })).status, 'cancelled');
    assert.equal((await update(srv.url, c.taskId, { x: yes }, { token: a })).json.result?.resultType, 'complete');
    assert.equal((await get(srv.url, c.taskId, { token: a })).json.result.status, 'cancelled');
    // Cancelled while waiting for its client's answer.
    const w = await created(srv.url, 'confirm_delete', { filename: 'h' }, { token: a });
    await until(srv.url, w.taskId, ['input_required'], { token: a });
    await cancel(srv.url, w.taskId, { token: a });
    assert.equal((await until(srv.url, w.taskId, ['cancelled', 'completed', 'failed'], { token: a })).status, 'cancelled');
    assert.equal((await cancel(srv.url, t.taskId, { token: a })).json.result?.resultType, 'complete');
    assert.equal((await get(srv.url, t.taskId, { token: a })).json.result.status, 'completed');

    // A client without the extension: optional ones run as plain calls,
    // required ones are refused with -32021.
    const sync = await call(srv.url, 'slow_compute', { seconds: 0 }, { token: a, caps: {} });
    assert.equal(sync.json.result?.resultType, 'complete', sync.text);
    assert.equal((await call(srv.url, 'failing_job', {}, { token: a, caps: {} })).json.error?.code, -32021);
    assert.equal((await get(srv.url, t.taskId, { token: a, caps: {} })).json.error?.code, -32021);
  } finally {
    if (await srv.stop() !== 0) console.error(srv.stderr);
  }
});

// A Legacy stdio server that never answers tools/call, and writes down every
// notifications/cancelled it hears.
const SILENT = `
const fs = require('fs');
const rl = require('readline').createInterface({ input: process.stdin });
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
rl.on('line', (l) => {
  const m = JSON.parse(l);
  if (m.method === 'notifications/cancelled') return fs.appendFileSync(process.argv[2], JSON.stringify(m.params) + '\\n');
  if (m.id === undefined || m.method === 'tools/call') return;
  const r = (result) => send({ jsonrpc: '2.0', id: m.id, result });
  if (m.method === 'initialize')
    return r({ protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'silent', version: '1' } });
  if (m.method === 'tools/list') return r({ tools: [{ name: 'hang', inputSchema: { type: 'object' } }] });
  if (m.method === 'ping') return r({});
  send({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'no' } });
});
`;

test('attack: Bastion\'s tasks for a Legacy server: a flood, a server that never answers, cancel upstream', async () => {
  const dir = tempDir('bastion-silent-');
  chmodSync(dir, 0o777);
  const script = path.join(dir, 'silent.cjs');
  const log = path.join(dir, 'cancelled.log');
  writeFileSync(script, SILENT);
  chmodSync(script, 0o644);
  writeFileSync(log, '');
  chmodSync(log, 0o666);
  const srv = await startWithConfig(`servers:\n  silent:\n    prefix: ""\n    command: ${process.execPath}\n    args: [${script}, ${log}]\n` +
    '    runtime: process\n    era: legacy\n    timeouts: {call: 2s}\n    tasks: {hang: optional}\n');
  try {
    // A flood: the caller's bound (32) holds, the excess is refused with -31000.
    const ids = [];
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const r = await call(srv.url, 'hang');
      if (r.json.result?.taskId) ids.push(r.json.result.taskId);
      else {
        assert.equal(r.json.error?.code, -31000, r.text);
        refused++;
      }
    }
    assert.equal(ids.length, 32);
    assert.equal(refused, 8);
    // A server that never answers: each task fails at the call timeout.
    const last = await until(srv.url, ids[31], ['failed', 'completed', 'cancelled']);
    assert.equal(last.status, 'failed');
    assert.equal(last.error.code, -31001, JSON.stringify(last));
    // Finished tasks make room again; cancelling one tells the server.
    await until(srv.url, ids[0], ['failed']);
    const c = await created(srv.url, 'hang');
    await cancel(srv.url, c.taskId);
    assert.equal((await until(srv.url, c.taskId, ['cancelled', 'failed'])).status, 'cancelled');
    const { readFileSync } = await import('node:fs');
    await eventually(() => readFileSync(log, 'utf8').split('\n').some((l) => /cancelled by the client/.test(l)),
      { timeoutMs: 5000, intervalMs: 50 });
  } finally {
    if (await srv.stop() !== 0) console.error(srv.stderr);
  }
});
