// Real MCP servers from npm (server-everything, server-filesystem,
// server-memory, server-sequential-thinking) and the stdlib-only Python
// example, all behind one bastion, driven by the official TypeScript client.
// Also: a crashing upstream, a broken one, and no process left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { NODE_MODULES, SOURCE_DIR, childrenOf, processAlive, serverDir, startServe, tempDir, writeConfig } from './lib/bastion.mjs';

const RUNTIME = process.env.BASTION_TEST_RUNTIME ?? 'bwrap';
const M = path.join(NODE_MODULES, '@modelcontextprotocol');

function demoConfig(dir, extra = '') {
  const granted = path.join(dir, 'granted');
  mkdirSync(granted, { recursive: true });
  // memory/ is left to Bastion, which makes it for the server's own user.
  writeFileSync(path.join(granted, 'hello.txt'), 'hello from the granted directory\n');
  writeFileSync(path.join(dir, 'secret.txt'), 'not for upstreams\n');
  return {
    granted,
    cfg: writeConfig(dir, `
servers:
  weather:
    command: python3
    args: [${SOURCE_DIR}/examples/python/weather_server.py]
    runtime: ${RUNTIME}
  everything:
    command: node
    args: [${M}/server-everything/dist/index.js, stdio]
    runtime: ${RUNTIME}
  memory:
    command: node
    args: [${M}/server-memory/dist/index.js]
    env: {MEMORY_FILE_PATH: ${dir}/memory/memory.jsonl}
    paths: {read_write: [${dir}/memory]}
    runtime: ${RUNTIME}
  fs:
    command: node
    args: [${M}/server-filesystem/dist/index.js, ${granted}]
    paths: {read_only: [${granted}]}
    runtime: ${RUNTIME}
  thinking:
    command: node
    args: [${M}/server-sequential-thinking/dist/index.js]
    runtime: ${RUNTIME}
${extra}`),
  };
}

async function connect(url) {
  const client = new Client({ name: 'gateway-test', version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
    role: 'assistant',
    model: 'test-model',
    content: { type: 'text', text: `sampled: ${req.params.messages[0].content.text}` },
  }));
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

const text = (r) => r.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');

test('real npm servers and the Python example through one endpoint', async () => {
  const dir = serverDir();
  const { cfg, granted } = demoConfig(dir);
  const srv = await startServe(['--config', cfg]);
  let children = [];
  try {
    const client = await connect(srv.url);
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    for (const n of ['weather__get_weather', 'everything__echo', 'memory__create_entities', 'fs__read_text_file', 'thinking__sequentialthinking'])
      assert.ok(names.includes(n), `${n} missing from ${names}\n${srv.stderr}`);
    for (const n of names) assert.ok(n.length <= 64 && /^[A-Za-z0-9_.-]+$/.test(n), n);

    const w = await client.callTool({ name: 'weather__get_weather', arguments: { city: 'Seoul' } });
    assert.equal(w.structuredContent.city, 'Seoul');
    const bad = await client.callTool({ name: 'weather__get_weather', arguments: { city: 'Atlantis' } });
    assert.equal(bad.isError, true);

    assert.equal(text(await client.callTool({ name: 'everything__echo', arguments: { message: 'hi' } })), 'Echo: hi');
    assert.match(text(await client.callTool({ name: 'everything__get-sum', arguments: { a: 2, b: 40 } })), /42/);

    const f = await client.callTool({ name: 'fs__read_text_file', arguments: { path: path.join(granted, 'hello.txt') } });
    assert.match(text(f), /hello from the granted directory/);
    const outside = await client.callTool({ name: 'fs__read_text_file', arguments: { path: path.join(dir, 'secret.txt') } });
    assert.equal(outside.isError, true, 'the filesystem server must refuse paths outside its directory');

    await client.callTool({ name: 'memory__create_entities', arguments: { entities: [{ name: 'Bastion', entityType: 'gateway', observations: ['written in C++'] }] } });
    const graph = await client.callTool({ name: 'memory__read_graph', arguments: {} });
    assert.match(text(graph), /Bastion/);

    const th = await client.callTool({ name: 'thinking__sequentialthinking', arguments: { thought: 'first', thoughtNumber: 1, totalThoughts: 1, nextThoughtNeeded: false } });
    assert.equal(th.isError ?? false, false, text(th));

    // Progress relayed from the upstream with the client's own token.
    const progress = [];
    await client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 3 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    assert.ok(progress.length >= 2, `progress ${progress}`);

    // A server-to-client request (sampling) relayed to this session and back.
    const s = await client.callTool({ name: 'everything__trigger-sampling-request', arguments: { prompt: 'ping', maxTokens: 10 } });
    assert.match(text(s), /sampled: /);

    // Resources of an upstream are listed and readable through the gateway.
    const { resources } = await client.listResources();
    assert.ok(resources.length > 0);
    const r0 = await client.readResource({ uri: resources[0].uri });
    assert.ok(r0.contents.length > 0);

    children = childrenOf(srv.child.pid);
    assert.ok(children.length >= 5, `expected 5 upstream processes, got ${children}`);
    await client.close();
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
  await new Promise((r) => setTimeout(r, 200));
  for (const c of children) assert.equal(processAlive(c), false, `upstream ${c} outlived bastion`);
});

test('a crashing upstream fails its call fast and comes back; a broken one does not hurt the others', async () => {
  const dir = tempDir();
  const cfg = writeConfig(dir, `
servers:
  everything:
    command: node
    args: [${M}/server-everything/dist/index.js, stdio]
    runtime: ${RUNTIME}
  weather:
    command: python3
    args: [${SOURCE_DIR}/examples/python/weather_server.py]
    runtime: ${RUNTIME}
  broken:
    command: /nonexistent/mcp-server
    runtime: process
`);
  const srv = await startServe(['--config', cfg]);
  try {
    const client = await connect(srv.url);
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('weather__get_weather'));
    assert.ok(!names.some((n) => n.startsWith('broken__')));
    await assert.rejects(client.callTool({ name: 'broken__anything', arguments: {} }), /unavailable|Unknown tool/);

    // Kill the upstream in the middle of a long call.
    const before = childrenOf(srv.child.pid);
    const long = client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 20, steps: 20 } });
    await new Promise((r) => setTimeout(r, 500));
    const fs = await import('node:fs');
    const everything = before.find((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('server-everything');
      } catch {
        return false;
      }
    });
    assert.ok(everything, `no server-everything child among ${before}`);
    const t0 = Date.now();
    process.kill(Number(everything), 'SIGKILL');
    await assert.rejects(long, /unavailable|closed|exited/i);
    assert.ok(Date.now() - t0 < 1000, `the error took ${Date.now() - t0} ms`);

    // The other upstream kept serving, and the crashed one comes back.
    assert.equal((await client.callTool({ name: 'weather__list_cities', arguments: {} })).isError ?? false, false);
    let echo;
    for (let i = 0; i < 40 && !echo; i++) {
      await new Promise((r) => setTimeout(r, 250));
      echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'back' } }).catch(() => undefined);
    }
    assert.ok(echo, 'the crashed upstream did not come back');
    assert.equal(text(echo), 'Echo: back');
    await client.close();
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});
