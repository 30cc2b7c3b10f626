// One version, from CMake's project(VERSION): `bastion --version`, the
// serverInfo of an initialize, the clientInfo and User-Agent the gateway
// shows an HTTP upstream all say the same thing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { BIN, SOURCE_DIR, eventually, initialize, post, startWithConfig } from './lib/bastion.mjs';
import { startHttpUpstream } from './lib/http_upstream.mjs';

const VERSION = /project\(bastion VERSION (\d+\.\d+\.\d+)/.exec(
  readFileSync(path.join(SOURCE_DIR, 'CMakeLists.txt'), 'utf8'))[1];

test('--version, serverInfo, clientInfo and User-Agent carry the CMake version', async () => {
  const r = spawnSync(BIN, ['--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `bastion ${VERSION}`);

  const seen = [];  // [user-agent, clientInfo] of each initialize the upstream got
  const agents = new Set();
  const remote = await startHttpUpstream(() => {
    const server = new McpServer({ name: 'remote', version: '1' });
    server.registerTool('hello', {}, async () => ({ content: [{ type: 'text', text: 'hi' }] }));
    return server;
  }, {
    onRequest: (req, res, msg) => {
      agents.add(req.headers['user-agent']);
      if (msg?.method === 'initialize') seen.push([req.headers['user-agent'], msg.params.clientInfo]);
      return false;
    },
  });
  const srv = await startWithConfig(`
servers:
  remote:
    url: http://127.0.0.1:${remote.port}/mcp
`);
  try {
    const { sid, result, version } = await initialize(srv.url);
    assert.deepEqual(result.serverInfo.version, VERSION);
    // The gateway starts the upstream for the catalogue.
    const h = { 'mcp-session-id': sid, 'mcp-protocol-version': version };
    assert.ok(await eventually(async () => {
      const l = await post(srv.url, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, h);
      return l.json?.result?.tools?.some((t) => t.name === 'remote__hello');
    }), 'the upstream tool never appeared');
    assert.ok(seen.length >= 1, 'the upstream saw no initialize');
    assert.equal(seen[0][0], `bastion/${VERSION}`);
    assert.deepEqual(seen[0][1], { name: 'bastion', version: VERSION });
    assert.deepEqual([...agents], [`bastion/${VERSION}`], 'a request without our User-Agent');
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
    remote.close();
  }
});
