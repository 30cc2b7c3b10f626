// The gateway between the eras of MCP, with the real binary on both sides:
// a Modern (2026-07-28, stateless) client reaches a Legacy upstream whose
// tools ask for sampling, elicitation and roots in the middle of a call (the
// gateway turns each into an input_required round trip), and a Legacy SDK
// client reaches a Modern upstream whose tools answer input_required (the
// gateway turns each into a server-to-client request). The abuse sits beside
// it: tampered, replayed, foreign and expired requestState, a flood of
// waiting calls, an upstream that never answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { BIN, post, startServe, startWithConfig, tempDir } from './lib/bastion.mjs';

const V = '2026-07-28';
const CAPS = { elicitation: {}, sampling: {}, roots: {} };
let nextId = 1;

function meta(caps = CAPS) {
  return {
    'io.modelcontextprotocol/protocolVersion': V,
    'io.modelcontextprotocol/clientInfo': { name: 'it-era', version: '1' },
    'io.modelcontextprotocol/clientCapabilities': caps,
  };
}

// A conformant Modern POST; the answer's JSON-RPC message in r.json.
async function modern(url, method, params = {}, { caps, headers = {} } = {}) {
  const id = nextId++;
  const h = { 'mcp-protocol-version': V, 'mcp-method': method, ...headers };
  if (params.name !== undefined) h['mcp-name'] = params.name;
  if (params.uri !== undefined) h['mcp-name'] = params.uri;
  const r = await post(url, { jsonrpc: '2.0', id, method, params: { ...params, _meta: meta(caps) } }, h);
  if (r.json === undefined && /^(event|data):/m.test(r.text)) {
    r.events = r.text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
    r.json = r.events.find((e) => e.id === id);
  }
  return r;
}

// A data directory the upstream (its own uid, when Bastion runs as root) can write.
function upstreamDataDir() {
  const d = tempDir('bastion-up-');
  chmodSync(d, 0o777);
  return d;
}

// The testkit as an upstream, over stdio, forced to an era.
function stdioUpstream(era, extra = '') {
  return `servers:\n  up:\n    prefix: ""\n    command: ${BIN}\n    args: [stdio, --testkit, --log-level, warn, --data-dir, ${upstreamDataDir()}]\n    runtime: process\n    era: ${era}\n${extra}`;
}

// Drives one bridged call of `tool` to the end, answering each input request
// with `answer(request)`; returns the final result and the requests seen.
async function drive(url, tool, args, answer, opts = {}) {
  const seen = [];
  let r = await modern(url, 'tools/call', { name: tool, arguments: args }, opts);
  for (let round = 0; round < 10; round++) {
    const res = r.json?.result;
    assert.ok(res, `no result: ${r.text}`);
    if (res.resultType !== 'input_required') return { result: res, seen };
    const [[key, req]] = Object.entries(res.inputRequests);
    seen.push(req);
    assert.equal(typeof res.requestState, 'string');
    r = await modern(url, 'tools/call', {
      name: tool, arguments: args, requestState: res.requestState,
      inputResponses: { [key]: answer(req) },
    }, opts);
  }
  assert.fail('too many rounds');
}

const SAMPLED = { role: 'assistant', content: { type: 'text', text: 'forty-two' }, model: 'it', stopReason: 'endTurn' };

test('Modern client -> Legacy upstream: sampling, elicitation and roots become input_required rounds', async () => {
  const srv = await startWithConfig(stdioUpstream('legacy'));
  try {
    const s = await drive(srv.url, 'test_sampling', { prompt: 'meaning?' }, () => SAMPLED);
    assert.equal(s.seen.length, 1);
    assert.equal(s.seen[0].method, 'sampling/createMessage');
    assert.equal(s.result.content[0].text, 'LLM response: forty-two');
    assert.equal(s.result.resultType, 'complete');

    const e = await drive(srv.url, 'test_elicitation', { message: 'name?' },
      () => ({ action: 'accept', content: { username: 'alice' } }));
    assert.equal(e.seen[0].method, 'elicitation/create');
    assert.match(e.result.content[0].text, /action=accept/);
    assert.match(e.result.content[0].text, /alice/);

    // A client that declared no sampling is never asked: the upstream hears a refusal.
    const none = await modern(srv.url, 'tools/call', { name: 'test_sampling', arguments: { prompt: 'x' } }, { caps: {} });
    assert.notEqual(none.json.result?.resultType, 'input_required', none.text);
    assert.match(JSON.stringify(none.json), /Sampling failed|refused/);
  } finally {
    assert.equal(await srv.stop(), 0, srv.stderr);
  }
});
