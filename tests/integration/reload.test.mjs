// SIGHUP reloads the configuration without dropping sessions: new servers
// appear in the same session's tools/list (with a list_changed
// notification), removed ones go, unchanged ones keep running, and a broken
// file is refused while the old configuration keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { SOURCE_DIR, childrenOf, eventually, startServe, tempDir, writeConfig } from './lib/bastion.mjs';

const weather = (name) => `
  ${name}:
    command: python3
    args: [${SOURCE_DIR}/examples/python/weather_server.py]`;

test('SIGHUP applies server changes and keeps sessions', async () => {
  const dir = tempDir();
  const cfg = writeConfig(dir, `servers:${weather('alpha')}${weather('beta')}\n`);
  const srv = await startServe(['--config', cfg]);
  try {
    const client = new Client({ name: 'reload-test', version: '1' });
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => changed++);
    const transport = new StreamableHTTPClientTransport(new URL(srv.url));
    await client.connect(transport);
    const names = async () => (await client.listTools()).tools.map((t) => t.name.split('__')[0]);
    assert.deepEqual([...new Set(await names())].sort(), ['alpha', 'beta']);
    const alphaPid = childrenOf(srv.child.pid);

    // Add gamma, remove beta, keep alpha.
    writeFileSync(cfg, `servers:${weather('alpha')}${weather('gamma')}\n`);
    srv.child.kill('SIGHUP');
    let seen = [];
    await eventually(async () => {
      seen = [...new Set(await names())].sort();
      return seen.includes('gamma') && !seen.includes('beta');
    });
    assert.deepEqual(seen, ['alpha', 'gamma']);
    assert.equal(transport.sessionId !== undefined, true);
    assert.equal((await client.callTool({ name: 'alpha__list_cities', arguments: {} })).isError ?? false, false);
    // The notification travels on the GET stream and the log line is written
    // after the catalogue changes: either may trail the tools/list above.
    assert.ok(await eventually(() => changed >= 1), 'no tools/list_changed notification');
    await eventually(() => /configuration reloaded/.test(srv.stderr));
    assert.match(srv.stderr, /configuration reloaded: servers added gamma, changed -, removed beta, unchanged alpha/);
    // alpha's process was not restarted.
    assert.ok(childrenOf(srv.child.pid).some((p) => alphaPid.includes(p)));

    // A broken file is refused; the running configuration keeps serving.
    writeFileSync(cfg, `servers:\n  alpha:\n    comand: nope\n`);
    srv.child.kill('SIGHUP');
    await eventually(() => /not reloaded/.test(srv.stderr));
    assert.match(srv.stderr, /configuration not reloaded, keeping the running one: .*unknown key 'comand'/);
    assert.equal((await client.callTool({ name: 'gamma__list_cities', arguments: {} })).isError ?? false, false);
    await client.close();
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});
