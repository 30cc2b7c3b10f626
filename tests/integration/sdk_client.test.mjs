// The official TypeScript client (@modelcontextprotocol/sdk) against the real
// bastion binary, over stdio and over Streamable HTTP: initialize, list,
// call, notifications (progress, logging, list_changed via subscribe) and
// cancellation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { BIN, startServe, tempDir } from './lib/bastion.mjs';

async function exercise(client) {
  const info = client.getServerVersion();
  assert.equal(info.name, 'bastion');
  assert.ok(client.getServerCapabilities().tools);

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const n of ['echo', 'test_simple_text', 'sleep']) assert.ok(names.includes(n), n);

  const echo = await client.callTool({ name: 'echo', arguments: { text: 'héllo 안녕' } });
  assert.deepEqual(echo.content, [{ type: 'text', text: 'héllo 안녕' }]);

  // Unknown tools are a protocol error, bad arguments a tool error.
  await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), /Unknown tool/);
  const bad = await client.callTool({ name: 'echo', arguments: { text: 42 } });
  assert.equal(bad.isError, true);

  // Notifications tied to a request: progress and logging. (`sleep` reports
  // progress every 100 ms; the SDK drops progress that arrives in the same
  // read as the response, so the last step of test_tool_with_progress may race.)
  const progress = [];
  await client.callTool({ name: 'sleep', arguments: { ms: 300 } }, undefined, {
    onprogress: (p) => progress.push([p.progress, p.total]),
  });
  assert.deepEqual(progress, [[0, 300], [100, 300], [200, 300]]);

  const logs = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params.data));
  await client.setLoggingLevel('info');
  await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
  assert.deepEqual(logs, ['Tool execution started', 'Tool processing data', 'Tool execution completed']);

  // Resources, templates, prompts, completion.
  const { resources } = await client.listResources();
  assert.ok(resources.some((r) => r.uri === 'test://static-text'));
  const tpl = await client.readResource({ uri: 'test://template/42/data' });
  assert.equal(JSON.parse(tpl.contents[0].text).id, '42');
  await assert.rejects(client.readResource({ uri: 'test://nope' }), /not found/i);
  const prompt = await client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'a', arg2: 'b' } });
  assert.match(prompt.messages[0].content.text, /arg1='a', arg2='b'/);
  const comp = await client.complete({ ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' }, argument: { name: 'arg1', value: 'pa' } });
  assert.deepEqual(comp.completion.values, ['paris', 'park', 'party']);
  await client.subscribeResource({ uri: 'test://watched-resource' });
  await client.unsubscribeResource({ uri: 'test://watched-resource' });

  // Cancellation: abort a long call; the server must see notifications/cancelled
  // and stop the tool (its counter goes up), then keep serving.
  const before = (await client.callTool({ name: 'cancelled_count', arguments: {} })).structuredContent.cancelled;
  const ac = new AbortController();
  const slow = client.callTool({ name: 'sleep', arguments: { ms: 30000 } }, undefined, { signal: ac.signal });
  setTimeout(() => ac.abort('test cancels'), 300);
  await assert.rejects(slow, /abort|cancel/i);
  let after = before;
  for (let i = 0; i < 50 && after === before; i++) {
    await new Promise((r) => setTimeout(r, 50));
    after = (await client.callTool({ name: 'cancelled_count', arguments: {} })).structuredContent.cancelled;
  }
  assert.equal(after, before + 1, 'the server did not cancel the sleeping tool');
  assert.deepEqual((await client.callTool({ name: 'echo', arguments: { text: 'still here' } })).content[0].text, 'still here');
  await client.ping();
}

test('SDK client over stdio', async () => {
  const transport = new StdioClientTransport({ command: BIN, args: ['stdio', '--testkit', '--data-dir', tempDir()], stderr: 'pipe' });
  const client = new Client({ name: 'sdk-stdio-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    await exercise(client);
  } finally {
    await client.close();
  }
});

test('SDK client over Streamable HTTP', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const transport = new StreamableHTTPClientTransport(new URL(srv.url));
    const client = new Client({ name: 'sdk-http-test', version: '1.0.0' });
    await client.connect(transport);
    assert.ok(transport.sessionId, 'no Mcp-Session-Id');
    await exercise(client);
    await transport.terminateSession();
    await client.close();
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});

test('SDK clients on separate sessions do not see each other', async () => {
  const srv = await startServe(['--testkit']);
  try {
    const clients = [];
    for (let i = 0; i < 4; i++) {
      const c = new Client({ name: `c${i}`, version: '1' });
      await c.connect(new StreamableHTTPClientTransport(new URL(srv.url)));
      clients.push(c);
    }
    const results = await Promise.all(
      clients.flatMap((c, i) =>
        Array.from({ length: 25 }, (_, j) => c.callTool({ name: 'echo', arguments: { text: `${i}:${j}` } }).then((r) => [i, j, r])),
      ),
    );
    for (const [i, j, r] of results) assert.equal(r.content[0].text, `${i}:${j}`);
    await Promise.all(clients.map((c) => c.close()));
  } finally {
    await srv.stop();
  }
});
