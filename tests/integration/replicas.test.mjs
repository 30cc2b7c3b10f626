// Scale-out: two bastion replicas behind nginx with
// `hash $http_mcp_session_id consistent`. Each replica only hands out session
// ids that nginx's ring routes back to it (cluster.ring/self), so every call
// of every session reaches the replica that holds the session. The replicas
// share the auth directory: a token either one issued works on both, and a
// revocation on one is honoured by the other.
//
// Modern (2026-07-28) traffic is stateless and needs no affinity: two
// replicas sharing one data directory (and so the requestState key) behind a
// plain round-robin nginx serve one Modern client, a multi round-trip
// request resumes on the other replica, and a state sealed with another key
// is refused. The limit beside it: a Modern client's call bridged to a Legacy
// upstream waits in one replica's table, and a retry that reaches the other
// replica is refused at once, saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  BIN, authYaml, fetchToken, newClient, onFreePorts, started, startServe, tempDir, waitForPort, writeConfig,
} from './lib/bastion.mjs';
import { V, modernClient } from './lib/modern.mjs';

// nginx on `port` in front of `servers` (host:port), its files under
// dir/nginx/NAME.*: `balance` is the upstream's method ('' = round robin),
// `location` more lines for /mcp. SSE passes unbuffered. Up once nginx has
// written its pid file (after it bound the port): something else answering
// on the port is not taken for nginx; if nginx exits instead, the error
// names its log (so onFreePorts can try another port).
async function startNginx(dir, name, port, servers, { balance = '', location = '' } = {}) {
  const d = path.join(dir, 'nginx');
  mkdirSync(d, { recursive: true });
  const conf = path.join(d, `${name}.conf`);
  const pidFile = path.join(d, `${name}.pid`);
  const errorLog = path.join(d, `${name}-error.log`);
  rmSync(pidFile, { force: true });
  // nginx appends: an earlier attempt's "Address already in use" must not
  // make a later, different failure look like one (and be retried).
  rmSync(errorLog, { force: true });
  writeFileSync(conf, `
worker_processes 1;
pid ${pidFile};
error_log ${errorLog};
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${d}; proxy_temp_path ${d}; fastcgi_temp_path ${d};
  uwsgi_temp_path ${d}; scgi_temp_path ${d};
  upstream bastion {
    ${balance}
${servers.map((s) => `    server ${s};`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    location /mcp {
      proxy_pass http://bastion;
      proxy_http_version 1.1;
      proxy_set_header Host 127.0.0.1;
      proxy_set_header Connection "";
      proxy_buffering off;          # SSE
      proxy_read_timeout 1h;
      ${location}
    }
  }
}`);
  const nginx = spawn('nginx', ['-c', conf, '-g', 'daemon off;'], { stdio: 'ignore' });
  const exited = once(nginx, 'exit');
  const stop = async () => {
    if (nginx.exitCode === null && nginx.signalCode === null) {
      nginx.kill('SIGTERM');
      await exited;
    }
  };
  const deadline = Date.now() + 20000;
  while (!existsSync(pidFile)) {
    if (nginx.exitCode !== null || nginx.signalCode !== null || Date.now() > deadline) {
      await stop();
      const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '';
      throw new Error(`nginx did not start on port ${port}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await waitForPort(port);
  return { url: `http://127.0.0.1:${port}/mcp`, stop };
}

// nginx in front of `ports`, plain round robin: no hash, no stickiness, and
// no retry on the other replica (what a client sees is one replica's answer),
// on a port of its own; stopped with `group`.
async function roundRobin(dir, ports, group) {
  return onFreePorts(1, group, async ([port]) => group.add(await startNginx(
    dir, 'rr', port, ports.map((p) => `127.0.0.1:${p}`), { location: 'proxy_next_upstream off;' })));
}

// The port a server started on port 0 listens on.
const portOf = (server) => Number(new URL(server.url).port);

test('sessions stay on their replica behind nginx consistent hashing', async () => {
  const dir = tempDir();
  const client = newClient('replica-client');
  const group = started();
  try {
    // The ring names both replicas' ports, and the issuer nginx's, before
    // any of them listens.
    const [p1, p2, pn] = await onFreePorts(3, group, async (ports) => {
      const [p1, p2, pn] = ports;
      const ring = [`127.0.0.1:${p1}`, `127.0.0.1:${p2}`];
      const auth = authYaml([client], { extra: `  issuer: http://127.0.0.1:${pn}\n  data_dir: ${dir}/shared-auth\n` });
      const replica = async (self, port) => group.add(await startServe(['--config', writeConfig(dir, `
listen: 127.0.0.1:${port}
testkit: {enabled: true}
${auth}
cluster:
  ring: [${ring.join(', ')}]
  self: ${self}
`, `replica-${port}.yaml`), '--listen', `127.0.0.1:${port}`]));
      await replica(ring[0], p1);
      await replica(ring[1], p2);
      group.add(await startNginx(dir, 'hash', pn, ring, { balance: 'hash $http_mcp_session_id consistent;' }));
      return ports;
    });
    // One token from each replica; every client uses one of them through nginx.
    const tokens = [(await fetchToken(`http://127.0.0.1:${p1}`, client)).access_token,
      (await fetchToken(`http://127.0.0.1:${p2}`, client)).access_token];
    const clients = [];
    for (let i = 0; i < 20; i++) {
      const c = new Client({ name: `replica-client-${i}`, version: '1' });
      await c.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${pn}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${tokens[i % 2]}` } },
      }));
      clients.push(c);
    }
    const results = await Promise.all(
      clients.flatMap((c, i) =>
        Array.from({ length: 10 }, (_, j) => c.callTool({ name: 'echo', arguments: { text: `${i}/${j}` } }).then((r) => [i, j, r])),
      ),
    );
    for (const [i, j, r] of results) assert.equal(r.content[0].text, `${i}/${j}`);
    // Both replicas hold sessions, 20 in all: the load is spread and nothing was lost.
    const sessions = async (port) => (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()).sessions;
    const [s1, s2] = [await sessions(p1), await sessions(p2)];
    assert.equal(s1 + s2, 20);
    assert.ok(s1 > 0 && s2 > 0, `sessions ${s1}/${s2}`);
    await Promise.all(clients.map((c) => c.close()));
    // Revoked on replica 2, refused by replica 1 (within a second).
    const basic = `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;
    const rv = await fetch(`http://127.0.0.1:${p2}/oauth2/revoke`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
      body: new URLSearchParams({ token: tokens[0] }),
    });
    assert.equal(rv.status, 200);
    await new Promise((r) => setTimeout(r, 1100));
    for (const port of [p1, p2]) {
      const res = await fetch(`http://127.0.0.1:${port}/hello`, { headers: { authorization: `Bearer ${tokens[0]}` } });
      assert.equal(res.status, 401, `replica ${port} accepted a revoked token`);
      const ok = await fetch(`http://127.0.0.1:${port}/hello`, { headers: { authorization: `Bearer ${tokens[1]}` } });
      assert.equal(ok.status, 200);
    }
  } catch (e) {
    throw await group.failed(e);
  } finally {
    await group.stop();
  }
});

const { modern, listen } = modernClient({
  client: 'it-replicas', caps: { elicitation: {}, sampling: {}, roots: {} },
});


// The MCP requests of `method` a replica has handled (its /metrics, all outcomes).
async function handled(port, method) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`bastion_mcp_requests_total{method="${method}",`)) n += Number(line.split(' ').pop());
  }
  return n;
}

// Runs `fn` (one request through the balancer) and tells which replica served it.
async function servedBy(ports, method, fn) {
  const before = await Promise.all(ports.map((p) => handled(p, method)));
  const r = await fn();
  const after = await Promise.all(ports.map((p) => handled(p, method)));
  const which = ports.filter((p, i) => after[i] === before[i] + 1);
  assert.equal(which.length, 1, `one replica handled the ${method}: ${before} -> ${after}`);
  assert.equal(after.reduce((a, b) => a + b) - before.reduce((a, b) => a + b), 1);
  return [which[0], r];
}

test('Modern traffic needs no affinity: round robin over two replicas sharing the data directory', async () => {
  const dir = tempDir();
  const shared = path.join(dir, 'data');  // one data directory: one requestState key
  const group = started();
  try {
    const r1 = group.add(await startServe(['--testkit'], { dataDir: shared }));
    const r2 = group.add(await startServe(['--testkit'], { dataDir: shared }));
    const other = group.add(await startServe(['--testkit']));  // its own data directory, its own key
    const ports = [portOf(r1), portOf(r2)];
    const lb = await roundRobin(dir, ports, group);
    // Stateless requests land on both replicas and all succeed.
    for (const [method, params, check] of [
      ['server/discover', {}, (res) => assert.ok(res.supportedVersions.includes(V))],
      ['tools/list', {}, (res) => assert.ok(res.tools.some((t) => t.name === 'echo'))],
      ['tools/call', { name: 'echo', arguments: { text: 'rr' } }, (res) => assert.equal(res.content[0].text, 'rr')],
    ]) {
      const seen = new Set();
      for (let i = 0; i < 6; i++) {
        const [port, r] = await servedBy(ports, method, () => modern(lb.url, method, params));
        assert.equal(r.status, 200, `${method}: ${r.text}`);
        assert.equal(r.json.result.resultType, 'complete', r.text);
        assert.equal(r.headers.get('mcp-session-id'), null);
        check(r.json.result);
        seen.add(port);
      }
      assert.equal(seen.size, 2, `${method} reached both replicas`);
    }

    // A multi round-trip request: each retry goes to the other replica
    // (round robin) and resumes there from the sealed requestState alone.
    const MULTI = 'test_input_required_result_multi_round';
    let params = { name: MULTI, arguments: {} };
    const rounds = [];
    let result;
    for (let round = 0; round < 5; round++) {
      const [port, r] = await servedBy(ports, 'tools/call', () => modern(lb.url, 'tools/call', params));
      rounds.push(port);
      result = r.json.result;
      assert.ok(result, r.text);
      if (result.resultType !== 'input_required') break;
      const [[key, req]] = Object.entries(result.inputRequests);
      const content = req.params.message.includes('color') ? { color: 'blue' } : { name: 'Alice' };
      params = { name: MULTI, arguments: {}, requestState: result.requestState, inputResponses: { [key]: { action: 'accept', content } } };
    }
    assert.equal(result.resultType, 'complete');
    assert.equal(result.content[0].text, 'Alice likes blue');
    assert.equal(rounds.length, 3);
    assert.ok(rounds[1] !== rounds[0] && rounds[2] !== rounds[1], `each retry on the other replica: ${rounds}`);

    // attack: a requestState sealed by a replica with another key is refused
    // by both replicas, cleanly (a JSON-RPC error naming the requestState).
    const TOOL = 'test_input_required_result_request_state';
    const foreign = (await modern(other.url, 'tools/call', { name: TOOL, arguments: {} })).json.result.requestState;
    assert.match(foreign, /^bs1\./);
    const refusedBy = new Set();
    for (let i = 0; i < 2; i++) {
      const [port, r] = await servedBy(ports, 'tools/call', () => modern(lb.url, 'tools/call', {
        name: TOOL, arguments: {}, requestState: foreign,
        inputResponses: { confirm: { action: 'accept', content: { ok: true } } },
      }));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.error?.code, -32602, `a foreign state must be refused: ${r.text}`);
      assert.match(r.json.error.message, /requestState/);
      refusedBy.add(port);
    }
    assert.equal(refusedBy.size, 2);
    // The same replicas' own state is accepted whichever of them gets it.
    const own = (await modern(lb.url, 'tools/call', { name: TOOL, arguments: {} })).json.result.requestState;
    for (let i = 0; i < 2; i++) {
      const ok = await modern(lb.url, 'tools/call', {
        name: TOOL, arguments: {}, requestState: own, inputResponses: { confirm: { action: 'accept', content: { ok: true } } },
      });
      assert.equal(ok.json.result?.content?.[0]?.text, 'state-ok: requestState validated', ok.text);
    }

    // subscriptions/listen through the balancer: acknowledged on its stream,
    // and a change on its replica arrives tagged with its id. Notifications
    // are per replica: two triggers, one on each, make sure one is its own.
    const l = listen(lb.url, { toolsListChanged: true });
    await l.until((e) => e.length >= 1);
    assert.equal(l.events.status, 200);
    assert.equal(l.events[0].method, 'notifications/subscriptions/acknowledged');
    assert.equal(l.events[0].params._meta['io.modelcontextprotocol/subscriptionId'], l.id);
    const triggered = new Set();
    for (let i = 0; i < 2; i++) {
      const [port, t] = await servedBy(ports, 'tools/call', () => modern(lb.url, 'tools/call', { name: 'test_trigger_tool_change', arguments: {} }));
      assert.equal(t.status, 200, t.text);
      triggered.add(port);
    }
    assert.equal(triggered.size, 2);
    await l.until((e) => e.some((m) => m.method === 'notifications/tools/list_changed'));
    const n = l.events.find((m) => m.method === 'notifications/tools/list_changed');
    assert.equal(n.params._meta['io.modelcontextprotocol/subscriptionId'], l.id);
    l.close();
    await l.done;
  } catch (e) {
    throw await group.failed(e);
  } finally {
    await group.stop();
  }
});

test('a Modern client\'s call bridged to a Legacy upstream waits in one replica: a retry on the other is refused at once', async () => {
  const dir = tempDir();
  const shared = path.join(dir, 'data');
  // Each replica relays its own `bastion stdio --testkit` as a Legacy server.
  const replica = async (n) => {
    const up = tempDir('bastion-up-');
    chmodSync(up, 0o777);  // the upstream runs as its own uid when Bastion is root
    const cfg = writeConfig(dir, `servers:\n  up:\n    prefix: ""\n    command: ${BIN}\n    args: [stdio, --testkit, --log-level, warn, --data-dir, ${up}]\n    runtime: process\n    era: legacy\n`, `gw-${n}.yaml`);
    return group.add(await startServe(['--config', cfg], { dataDir: shared }));
  };
  const SAMPLED = { role: 'assistant', content: { type: 'text', text: 'forty-two' }, model: 'it', stopReason: 'endTurn' };
  const group = started();
  try {
    const ports = [portOf(await replica(1)), portOf(await replica(2))];
    const lb = await roundRobin(dir, ports, group);
    const [first, r] = await servedBy(ports, 'tools/call', () =>
      modern(lb.url, 'tools/call', { name: 'test_sampling', arguments: { prompt: 'meaning?' } }));
    assert.equal(r.json.result?.resultType, 'input_required', r.text);
    const [key] = Object.keys(r.json.result.inputRequests);
    const retry = { name: 'test_sampling', arguments: { prompt: 'meaning?' }, requestState: r.json.result.requestState,
      inputResponses: { [key]: SAMPLED } };
    // Round robin sends the retry to the other replica: the key opens the
    // state, but the call waits in the first replica's table. A clear error,
    // at once (no wait for the call's timeout), and nothing else is touched.
    const t0 = Date.now();
    const [second, miss] = await servedBy(ports, 'tools/call', () => modern(lb.url, 'tools/call', retry));
    assert.notEqual(second, first);
    assert.ok(Date.now() - t0 < 5000, `answered after ${Date.now() - t0} ms`);
    assert.equal(miss.json.error?.code, -32602, miss.text);
    assert.match(miss.json.error.message, /requestState refers to a call waiting in another Bastion process/);
    assert.match(miss.json.error.message, /send the retry to the replica that answered input_required/);
    // The state was not used up: the same retry, reaching the first replica,
    // resumes the waiting call, and only once.
    const [third, done] = await servedBy(ports, 'tools/call', () => modern(lb.url, 'tools/call', retry));
    assert.equal(third, first);
    assert.equal(done.json.result?.content?.[0]?.text, 'LLM response: forty-two', done.text);
    for (let i = 0; i < 2; i++) {
      const again = await modern(lb.url, 'tools/call', retry);
      assert.equal(again.json.error?.code, -32602, again.text);
    }
  } catch (e) {
    throw await group.failed(e);
  } finally {
    await group.stop();
  }
});
