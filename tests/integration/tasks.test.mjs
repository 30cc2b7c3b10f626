// The tasks extension (io.modelcontextprotocol/tasks, SEP-2663) in Bastion's
// own server core (`serve --testkit`), with the real binary; the gateway's
// tasks are in gateway_tasks.test.mjs. The abuse sits beside each feature:
// another caller's task id, forged and altered ids, a flood of tasks, cancel
// after completion, a client that did not declare the extension.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  authYaml, fetchToken, initialize, newClient, post, startServe, startWithConfig,
} from './lib/bastion.mjs';
import { TASKS, call, cancel, created, get, modern, until, update } from './lib/tasks.mjs';

test('server core: a task runs, is polled, completes; the shapes are SEP-2663\'s', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const d = await modern(srv.url, 'server/discover');
    assert.deepEqual(d.json.result.capabilities.extensions[TASKS], {});
    assert.equal(d.json.result.capabilities.tasks, undefined, 'no v1 capabilities.tasks');

    const t = await created(srv.url, 'slow_compute', { seconds: 1, label: 'x' });
    assert.match(t.taskId, /^[0-9a-f]{32}$/, '128 random bits');
    assert.equal(t.status, 'working');
    assert.ok(Number.isInteger(t.ttlMs) && t.ttlMs > 0);
    assert.ok(Number.isInteger(t.pollIntervalMs) && t.pollIntervalMs > 0);
    for (const k of ['result', 'error', 'inputRequests', 'requestState', 'task', 'ttl', 'pollInterval'])
      assert.ok(!(k in t), `CreateTaskResult carries no ${k}`);
    // Durable at once: the very next tasks/get finds it.
    const now = await get(srv.url, t.taskId);
    assert.equal(now.json.result.resultType, 'complete');
    assert.equal(now.json.result.taskId, t.taskId);
    const done = await until(srv.url, t.taskId, ['completed', 'failed', 'cancelled']);
    assert.equal(done.status, 'completed');
    assert.match(done.result.content[0].text, /slow_compute x done/);

    // A tool error is "completed" with isError; a JSON-RPC error is "failed".
    const fj = await created(srv.url, 'failing_job');
    const f = await until(srv.url, fj.taskId, ['completed', 'failed']);
    assert.equal(f.status, 'completed');
    assert.equal(f.result.isError, true);
    const pj = await created(srv.url, 'protocol_error_job');
    const p = await until(srv.url, pj.taskId, ['completed', 'failed']);
    assert.equal(p.status, 'failed');
    assert.equal(p.error.code, -32603);
    assert.ok(!('result' in p));

    // Removed v1 methods.
    for (const m of ['tasks/result', 'tasks/list']) {
      const r = await modern(srv.url, m, { taskId: t.taskId });
      assert.equal(r.json.error?.code, -32601, `${m}: ${r.text}`);
    }
  } finally {
    if (await srv.stop() !== 0) console.error(srv.stderr);
  }
});

test('server core: input requests are answered with tasks/update, partially too', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const t = await created(srv.url, 'multi_input');
    const asked = await until(srv.url, t.taskId, ['input_required']);
    const keys = Object.keys(asked.inputRequests);
    assert.equal(keys.length, 2, JSON.stringify(asked));
    for (const k of keys) assert.equal(asked.inputRequests[k].method, 'elicitation/create');
    // An unknown key and a key answered twice are ignored; the ack is empty.
    const ack = await update(srv.url, t.taskId, {
      nope: { action: 'accept', content: {} }, [keys[0]]: { action: 'accept', content: { name: 'Ann', confirm: true } },
    });
    assert.deepEqual(Object.keys(ack.json.result), ['resultType', '_meta'].filter((k) => k in ack.json.result));
    assert.equal(ack.json.result.resultType, 'complete');
    const half = (await get(srv.url, t.taskId)).json.result;
    assert.equal(half.status, 'input_required');
    assert.deepEqual(Object.keys(half.inputRequests), [keys[1]]);
    await update(srv.url, t.taskId, { [keys[1]]: { action: 'accept', content: { name: 'Ann', confirm: true } } });
    const done = await until(srv.url, t.taskId, ['completed', 'failed', 'cancelled']);
    assert.equal(done.status, 'completed');
    assert.match(done.result.content[0].text, /name=Ann/);

    // MRTR first (synchronously), then the task.
    const r1 = await call(srv.url, 'test_tool_with_task');
    assert.equal(r1.json.result.resultType, 'input_required');
    const r2 = await modern(srv.url, 'tools/call', {
      name: 'test_tool_with_task', arguments: {}, requestState: r1.json.result.requestState,
      inputResponses: { user_name: { action: 'accept', content: { name: 'Alice' } } },
    });
    assert.equal(r2.json.result.resultType, 'task', r2.text);
    assert.ok(!('requestState' in r2.json.result));
    const fin = await until(srv.url, r2.json.result.taskId, ['completed']);
    assert.match(fin.result.content[0].text, /Alice/);
  } finally {
    if (await srv.stop() !== 0) console.error(srv.stderr);
  }
});

test('server core: cancel, cancel after completion, and a client without the extension', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const long = await created(srv.url, 'slow_compute', { seconds: 60 });
    const ack = await cancel(srv.url, long.taskId);
    assert.equal(ack.json.result.resultType, 'complete');
    for (const k of ['taskId', 'status', 'result']) assert.ok(!(k in ack.json.result));
    assert.equal((await until(srv.url, long.taskId, ['cancelled', 'completed'])).status, 'cancelled');

    // Cancel after completion: the same ack, and the task stays completed.
    const quick = await created(srv.url, 'slow_compute', { seconds: 0 });
    await until(srv.url, quick.taskId, ['completed']);
    const late = await cancel(srv.url, quick.taskId);
    assert.equal(late.json.result?.resultType, 'complete', late.text);
    assert.equal((await get(srv.url, quick.taskId)).json.result.status, 'completed');
    assert.ok((await get(srv.url, quick.taskId)).json.result.result.content);

    // Without the extension: no task, tasks/* refused with -32021, a
    // task-only tool refused with -32021 naming the extension.
    const plain = { elicitation: {} };
    const sync = await call(srv.url, 'slow_compute', { seconds: 0 }, { caps: plain });
    assert.equal(sync.json.result.resultType, 'complete');
    assert.ok(!('taskId' in sync.json.result));
    for (const m of ['tasks/get', 'tasks/cancel', 'tasks/update']) {
      const r = await modern(srv.url, m, { taskId: quick.taskId, inputResponses: {} }, { caps: plain });
      assert.equal(r.json.error?.code, -32021, `${m}: ${r.text}`);
    }
    const req = await call(srv.url, 'failing_job', {}, { caps: plain });
    assert.equal(req.json.error.code, -32021);
    assert.deepEqual(req.json.error.data.requiredCapabilities.extensions[TASKS], {});

    // A Legacy session: the extension does not exist there (SEP-2663).
    const { sid } = await initialize(srv.url);
    const legacy = await post(srv.url, {
      jsonrpc: '2.0', id: 9, method: 'tools/call',
      params: { name: 'slow_compute', arguments: { seconds: 0 }, _meta: {} },
    }, { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' });
    assert.ok(/slow_compute  done/.test(legacy.text), legacy.text);
    assert.ok(!/"taskId"/.test(legacy.text));
    const lget = await post(srv.url, { jsonrpc: '2.0', id: 10, method: 'tasks/get', params: { taskId: quick.taskId } },
      { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' });
    assert.match(lget.text, /-32601/);
  } finally {
    if (await srv.stop() !== 0) console.error(srv.stderr);
  }
});

test('attack: forged ids, a mismatched Mcp-Name, and a flood of tasks', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const t = await created(srv.url, 'slow_compute', { seconds: 60 });
    const flip = t.taskId.slice(0, -1) + (t.taskId.endsWith('0') ? '1' : '0');
    for (const id of [flip, 'tasks-conformance-nonexistent-12345', 'x'.repeat(5000), '../' + t.taskId]) {
      const r = await get(srv.url, id);
      assert.equal(r.json.error?.code, -32602, r.text);
      const c = await cancel(srv.url, id);
      assert.equal(c.json.error?.code, -32602, c.text);
    }
    assert.equal((await get(srv.url, t.taskId)).json.result.status, 'working', 'nothing cancelled it');
    const bad = await modern(srv.url, 'tasks/get', { taskId: t.taskId }, { headers: { 'mcp-name': flip } });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, -32020);

    // A flood: the caller's bound (64) holds, the excess is refused with
    // -31000 and nothing else is disturbed; cancelled tasks make room again.
    const ids = [t.taskId];
    let refused = 0;
    for (let i = 0; i < 80; i++) {
      const r = await call(srv.url, 'slow_compute', { seconds: 60 });
      if (r.json.result?.taskId) ids.push(r.json.result.taskId);
      else {
        assert.equal(r.json.error?.code, -31000, r.text);
        refused++;
      }
    }
    assert.equal(ids.length, 64);
    assert.equal(refused, 17);
    assert.equal((await call(srv.url, 'greet', { name: 'still' })).json.result.content[0].text, 'Hello, still!');
    for (const id of ids) await cancel(srv.url, id);
    await until(srv.url, ids[63], ['cancelled']);
    await created(srv.url, 'slow_compute', { seconds: 0 });
  } finally {
    if (await srv.stop() !== 0) console.error(srv.stderr);
  }
});

test('attack: a caller cannot get, update or cancel another caller\'s task', async () => {
  const alice = newClient('tasks-alice');
  const mallory = newClient('tasks-mallory');
  const srv = await startWithConfig(`${authYaml([alice, mallory])}testkit:\n  enabled: true\n`);
  try {
    const a = (await fetchToken(srv.base, alice)).access_token;
    const m = (await fetchToken(srv.base, mallory)).access_token;
    const t = await created(srv.url, 'confirm_delete', { filename: 'f' }, { token: a });
    await until(srv.url, t.taskId, ['input_required'], { token: a });
    const stolen = await get(srv.url, t.taskId, { token: m });
    assert.equal(stolen.json.error?.code, -32602, stolen.text);
    assert.doesNotMatch(stolen.text, /confirm_delete|Delete f/);
    const up = await update(srv.url, t.taskId, { confirm_delete: { action: 'accept', content: { confirm: true } } },
      { token: m });
    assert.equal(up.json.error?.code, -32602);
    assert.equal((await cancel(srv.url, t.taskId, { token: m })).json.error?.code, -32602);
    // Alice's task is untouched by all of it.
    const still = (await get(srv.url, t.taskId, { token: a })).json.result;
    assert.equal(still.status, 'input_required');
    await update(srv.url, t.taskId, { confirm_delete: { action: 'accept', content: { confirm: true } } }, { token: a });
    const done = await until(srv.url, t.taskId, ['completed'], { token: a });
    assert.equal(done.result.content[0].text, 'Deleted f');
  } finally {
    if (await srv.stop() !== 0) console.error(srv.stderr);
  }
});

// The testkit as an upstream over stdio, spoken to in Modern.
